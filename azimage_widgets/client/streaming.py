"""Streamed generations and edits: partial images as they form, then the ImageResult.

The answer is server-sent events (``contract.stream_events``), parsed
incrementally with httpx-sse: an event is handed on as soon as the blank
line that ends it arrives, never held back until the next one. The request
follows the rules of every other call:

- checked by its model's rules before anything is sent (``v1.py``);
- retried (429, and errors that show the request never left) only before
  the answer's first byte: a stream cut later is an error, not a repeat;
- one deadline for the whole stream (``timeout``, default the synchronous
  call's), enforced on every read, so a server that trickles bytes cannot
  hold it open; a read does not wait longer than ``conn.timeout`` either;
- byte caps per event and for the whole stream, checked as bytes arrive;
- closing the generator (``aclose``, ``break`` in ``async with aclosing``,
  a cancelled task) closes the response and so the connection;
- error messages carry no credential (``ImageClient._api_error``,
  ``_transport_error`` and ``conn.redact``).

A service that answers a streamed request with plain JSON (no events) still
gives its images: the ImageResult alone. The result is recorded under an id
like any synchronous answer, so ``download_image(result.id)`` finds it.
"""
from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any, Protocol

import anyio
import httpx
from httpx_sse import EventSource

from ..contract import (
    ApiError,
    ImageResult,
    ParseError,
    ValidationError,
    parse_images_response,
)
from ..contract.errors import parse_error_body, strip_query
from ..contract.limits import version_spec
from ..contract.stream_events import CompletedImage, PartialImage, StreamedResult, read_event
from .capped import MAX_B64_RESPONSE_BYTES
from .exchange import Answer
from .generations import SYNC_READ_TIMEOUT, new_id
from .retry import is_retryable, parse_retry_after
from .v1 import edit_request, generation_request

if TYPE_CHECKING:
    from .generations import Generations
    from .send import Sender

#: One event at most (a partial or final image in base64, with its JSON): bytes.
MAX_EVENT_BYTES = 48 * 1024 * 1024
#: A whole stream at most (n images, each with up to 3 partials): bytes.
MAX_STREAM_BYTES = 512 * 1024 * 1024

StreamEvent = PartialImage | ImageResult
#: The fields a streamed request takes besides prompt (edits: input_fidelity too).
STREAMED_FIELDS: tuple[str, ...] = ("size", "n", "quality", "output_format", "background",
                                    "output_compression", "moderation", "user")


class CallHost(Protocol):
    """What a streamed call needs of its client: ImageClient's internal surface (its send
    chain, its records, its httpx client, its retry pause), so no module reaches into it."""

    @property
    def sender(self) -> Sender: ...

    @property
    def generations(self) -> Generations: ...

    def http(self) -> httpx.AsyncClient: ...

    async def pause(self, seconds: float) -> None: ...


class _GuardedStream(httpx.AsyncByteStream):
    """The response's bytes, each read bounded by the deadline, the total and each event capped.

    ``since_event`` counts the bytes since the consumer last saw an event
    (reset by ``event_seen``); it may include the start of the next event.
    """

    def __init__(self, inner: httpx.AsyncByteStream, *, deadline: float, max_event: int,
                 max_total: int, too_large: Any) -> None:
        self._inner = inner
        self._deadline = deadline
        self._max_event = max_event
        self._max_total = max_total
        self._too_large = too_large
        self.total = 0
        self.since_event = 0

    def event_seen(self) -> None:
        self.since_event = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        chunks = self._inner.__aiter__()
        while True:
            # a cancel scope per read, not a task per read (asyncio.wait_for's) as large
            # events arrive in many chunks
            with anyio.move_on_after(max(self._deadline - time.monotonic(), 0.001)) as scope:
                try:
                    chunk = await chunks.__anext__()
                except StopAsyncIteration:
                    return
            if scope.cancelled_caught:
                raise httpx.ReadTimeout("the stream did not end within its deadline")
            self.total += len(chunk)
            self.since_event += len(chunk)
            if self.total > self._max_total:
                raise self._too_large(f"over {self._max_total} bytes in all")
            if self.since_event > self._max_event:
                raise self._too_large(f"an event over {self._max_event} bytes")
            yield chunk

    async def aclose(self) -> None:
        await self._inner.aclose()


def _error_answer(resp: httpx.Response, body: bytes) -> Answer:
    """``resp`` with its (capped) body read, for ``ImageClient._api_error``."""
    return Answer(resp.status_code, resp.headers, body, resp.reason_phrase)


async def _read_small(resp: httpx.Response, deadline: float) -> bytes:
    """The body of a refusal or plain answer, capped and within the deadline."""
    async def read() -> bytes:
        chunks: list[bytes] = []
        total = 0
        async for chunk in resp.aiter_bytes():
            total += len(chunk)
            if total > MAX_B64_RESPONSE_BYTES:
                raise ApiError(resp.status_code, "responseTooLarge",
                               f"the answer is over {MAX_B64_RESPONSE_BYTES} bytes")
            chunks.append(chunk)
        return b"".join(chunks)

    try:
        return await asyncio.wait_for(read(), max(deadline - time.monotonic(), 0.001))
    except asyncio.TimeoutError:
        raise httpx.ReadTimeout("the answer did not arrive within the deadline") from None


async def open_stream(client: CallHost, url: str, *, json_body: Any = None,
                      form: Mapping[str, str] | None = None, files: Any = None,
                      deadline: float) -> httpx.Response:
    """Send the request and return the 2xx response, its body not yet read.

    Retried like a submit (429 with Retry-After, and errors before the request
    left) as long as the deadline allows; an error answer becomes the ApiError
    every other call raises.
    """
    http = client.http()
    sender = client.sender
    conn = sender.conn
    policy = sender.policy
    attempt = 0
    extra: dict[str, Any] = {"json": json_body} if files is None else {"data": form, "files": files}
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise ApiError(None, "timeout", f"POST {strip_query(url)}: no answer within the "
                                            "stream's deadline")
        headers = {"Accept": "text/event-stream"}  # credentials: the httpx client's auth
        timeout = httpx.Timeout(min(conn.timeout, remaining), read=min(
            max(conn.timeout, SYNC_READ_TIMEOUT), remaining))
        request = http.build_request("POST", url, headers=headers, timeout=timeout, **extra)
        try:
            resp = await http.send(request, stream=True)
        except httpx.HTTPError as exc:
            if is_retryable("submit", error=exc) and policy.can_retry(attempt):
                delay = policy.delay(attempt, None)
                if time.monotonic() + delay < deadline:
                    attempt += 1
                    await client.pause(delay)
                    continue
            raise sender.transport_error("POST", url, "submit", exc, None) from exc
        if resp.is_success:
            return resp
        try:
            body = await _read_small(resp, deadline)
        except httpx.HTTPError as exc:
            raise sender.transport_error("POST", url, "submit", exc, None) from exc
        finally:
            await resp.aclose()
        retry_after = parse_retry_after(resp.headers)
        if is_retryable("submit", status=resp.status_code) and policy.can_retry(attempt):
            delay = policy.delay(attempt, retry_after)
            if time.monotonic() + delay < deadline:
                attempt += 1
                await client.pause(delay)
                continue
        raise sender.api_error(_error_answer(resp, body), None, retry_after)


async def read_events(client: CallHost, resp: httpx.Response, url: str, *, deadline: float,
                      max_event_bytes: int, max_total_bytes: int
                      ) -> AsyncGenerator[PartialImage | CompletedImage, None]:
    """The image events of a streamed answer, each as soon as it is complete."""
    status = resp.status_code

    def too_large(what: str) -> ApiError:
        return ApiError(status, "responseTooLarge",
                        f"the stream of POST {strip_query(url)} sent {what}; reading stopped there")

    assert isinstance(resp.stream, httpx.AsyncByteStream)
    guarded = _GuardedStream(resp.stream, deadline=deadline, max_event=max_event_bytes,
                             max_total=max_total_bytes, too_large=too_large)
    resp.stream = guarded
    images = 0
    source = EventSource(resp).aiter_sse()
    try:
        async for sse in source:
            guarded.event_seen()
            if not sse.data or sse.data == "[DONE]":
                continue
            try:
                body = json.loads(sse.data)
            except ValueError:
                raise ApiError(status, "invalidResponse", "a streamed event is not JSON") from None
            if isinstance(body, dict) and "error" in body and "type" not in body \
                    or sse.event == "error":
                code, message = parse_error_body(body)
                raise ApiError(status, code or "streamError",
                               client.sender.conn.redact((message or "the stream failed")[:500]))
            try:
                event = read_event(body, images)
            except ParseError as exc:
                raise ApiError(status, "invalidResponse", f"malformed streamed event: {exc}") \
                    from None
            if isinstance(event, CompletedImage):
                images += 1
            if event is not None:
                yield event
    except httpx.HTTPError as exc:
        raise client.sender.transport_error("POST", url, "submit", exc, None) from exc
    finally:
        await source.aclose()


async def stream(client: CallHost, prompt: str, *, image: Any = None, mask: bytes | None = None,
                 partial_images: int, fields: dict[str, Any], api_version: str,
                 deployment: str | None, timeout: float | None, model: str | None = None,
                 max_event_bytes: int | None = None,
                 max_total_bytes: int | None = None) -> AsyncGenerator[StreamEvent, None]:
    """``ImageClient.stream_image``: PartialImage events, then the recorded ImageResult.

    The caps default to MAX_EVENT_BYTES and MAX_STREAM_BYTES (read at each call).
    """
    spec = version_spec(api_version)
    unknown = sorted(set(fields) - set(STREAMED_FIELDS) - {"input_fidelity"})
    if unknown:
        raise ValidationError(unknown[0], f"is not a field of a streamed request (takes "
                                          f"{', '.join(STREAMED_FIELDS)}, input_fidelity)")
    if image is None and fields.get("input_fidelity") is not None:
        raise ValidationError("input_fidelity", "only image edits take it (pass image=)",
                              fields["input_fidelity"])
    fields = {k: v for k, v in fields.items() if v is not None}
    if not spec.is_sync:
        raise ValidationError("api_version", f"{api_version} does not stream; use v1 (or "
                                             "2025-04-01-preview with a deployment)", api_version)
    if timeout is None:
        timeout = max(client.sender.conn.timeout, SYNC_READ_TIMEOUT)
    elif isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
        raise ValidationError("timeout", "must be a positive number of seconds", timeout)
    streamed = {**fields, "stream": True, "partial_images": partial_images}
    if image is None:
        url, body, name = generation_request(client.generations, {"prompt": prompt, **streamed},
                                             api_version, deployment, model)
        sent: dict[str, Any] = {"json_body": body}
        noted: dict[str, Any] = {k: v for k, v in body.items() if k != "model"}
    else:
        url, form, files, name = edit_request(client.generations, image, prompt, mask, streamed,
                                              api_version, deployment, model)
        sent = {"form": form, "files": files}
        noted = {k: v for k, v in form.items() if k != "model"}
        noted.update(edit=True, mask=mask is not None,
                     images=sum(1 for f in files if f[0] == "image[]"))
    noted["deployment"] = name
    deadline = time.monotonic() + timeout
    resp = await open_stream(client, url, deadline=deadline, **sent)
    op_id = new_id()
    try:
        kind = resp.headers.get("content-type", "").partition(";")[0].strip().lower()
        if kind != "text/event-stream":  # a service that does not stream: the images at once
            result = _plain_answer(resp, await _read_small(resp, deadline), op_id)
        else:
            gathered = StreamedResult()
            async for event in read_events(client, resp, url, deadline=deadline,
                                           max_event_bytes=max_event_bytes or MAX_EVENT_BYTES,
                                           max_total_bytes=max_total_bytes or MAX_STREAM_BYTES):
                if isinstance(event, PartialImage):
                    yield event
                else:
                    gathered.add(event)
            if not gathered.items:
                raise ApiError(resp.status_code, "invalidResponse",
                               "the stream ended before an image was completed")
            result = gathered.result(op_id)
    finally:
        await resp.aclose()
    client.generations.keep(result, noted, api_version)
    yield result


def _plain_answer(resp: httpx.Response, body: bytes, op_id: str) -> ImageResult:
    try:
        return parse_images_response(json.loads(body), op_id)
    except (ValueError, ParseError) as exc:
        raise ApiError(resp.status_code, "invalidResponse",
                       f"the streamed request was answered with neither events nor images: {exc}"
                       ) from None


__all__ = ["CallHost", "MAX_EVENT_BYTES", "MAX_STREAM_BYTES", "StreamEvent",
           "open_stream", "read_events", "stream"]
