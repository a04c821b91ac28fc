"""ImageClient: submit, poll, delete and fetch over one pooled httpx.AsyncClient.

Input is checked (contract.ImageRequest) before anything is sent. The class
composes what does the work: send.py (the send chain: credentials, retries,
one bounded exchange, errors from Azure's error body), operations.py (what
was submitted, submit and poll answers), generations.py (request bodies, the
synchronous flow), poll.py (the poll loop), fetch.py (images), batch.py
(generate_many) and shared.py (one shared client per event loop).
"""
from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

import httpx

from ..contract.errors import ValidationError
from ..contract.image_models import model_for_version, uses_model_rules
from ..contract.limits import OPTION_NAMES, version_spec
from ..contract.models import ImageOperation, ImageRequest, ImageResult
from ..contract.routes import OPERATION_LOCATION_HEADER, SUBMIT_PATH
from . import v1
from .batch import ProgressCallback, prompt_jobs, prompt_list, run_batch
from .connection import Connection, ConnectionLike
from .exchange import with_mark_sent
from .fetch import DEFAULT_MAX_IMAGE_BYTES, ImageFetcher
from .generations import Generations, generation_body
from .model_calls import ModelCalls
from .operations import OperationBook, check_terminal
from .pacing import with_pacing
from .poll import Poller, PollSchedule, StatusCallback, call_back
from .resume import BatchJournalLike, generate_resumable
from .retry import RetryPolicy
from .send import Sender, json_of
from .shared import close_shared, forget, get_shared

#: Image fetches (download and decode check) one client runs at once.
DEFAULT_FETCH_CONCURRENCY = 4


class ImageClient(ModelCalls):
    """Async client of the image generation REST API; use as ``async with ImageClient(conn)``.

    One httpx.AsyncClient (a connection pool) is made on first use and bound
    to the running event loop; using the same ImageClient from another loop
    is an error (use ``ImageClient.shared(conn)`` to get one per loop).
    ``transport`` and ``event_hooks`` are passed to httpx (tests, proxies).
    """

    def __init__(
        self,
        conn: Connection,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        event_hooks: Mapping[str, list[Callable[..., Any]]] | None = None,
        max_image_bytes: int = DEFAULT_MAX_IMAGE_BYTES,
        poll_schedule: PollSchedule | None = None,
        retry_policy: RetryPolicy | None = None,
        fetch_concurrency: int = DEFAULT_FETCH_CONCURRENCY,
    ) -> None:
        if not isinstance(conn, Connection):
            raise _not_a_connection(conn)
        for name, value in (("max_image_bytes", max_image_bytes),
                            ("fetch_concurrency", fetch_concurrency)):
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValidationError(name, "must be a positive whole number", value)
        self._conn = conn
        self._transport = transport
        self._event_hooks = dict(event_hooks) if event_hooks else None
        self._max_image_bytes = max_image_bytes
        # polls: staggered when concurrent, durations learned per kind of job (poll.py)
        self._poller = Poller(poll_schedule or PollSchedule())
        self._policy = retry_policy or RetryPolicy(max_retries=conn.max_retries)
        self._fetcher = ImageFetcher(conn, self._policy, max_image_bytes, fetch_concurrency)
        #: How retries wait; a seam for tests that must not sleep a server's full Retry-After.
        self._sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep
        self._http: httpx.AsyncClient | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False
        self._is_shared = False
        # the send chain (send.py), what was submitted (operations.py), the synchronous
        # versions' calls and the answers recorded under ids this client made (generations.py)
        self._send = Sender(conn, self._client, self._policy, lambda s: self._sleep(s))
        self._book = OperationBook(self._send)
        self._generations = Generations(self._send, self._book)

    # -- lifecycle ----------------------------------------------------------
    @property
    def connection(self) -> ConnectionLike:
        """The connection this client was made for (a pool's client gives the pool)."""
        return self._conn

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def expected_duration(self) -> float | None:
        """Seconds jobs like the last one seen done have been taking (learned from polls), or None."""
        return self._poller.estimates.last.value

    async def __aenter__(self) -> ImageClient:
        self._client()
        return self

    async def __aexit__(self, *exc: object) -> None:
        if not self._is_shared:  # a shared client outlives any one ``async with``
            await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool; the client cannot be used afterwards."""
        self._closed = True
        self._forget_shared()
        http, self._http = self._http, None
        if http is not None:
            await http.aclose()

    def _forget_shared(self) -> None:
        """No longer the shared client of its connection on its loop (it is closing)."""
        forget(self)

    def _client(self) -> httpx.AsyncClient:
        if self._closed:
            raise RuntimeError("this ImageClient is closed")
        loop = asyncio.get_running_loop()
        if self._http is None:
            self._http = httpx.AsyncClient(
                timeout=self._conn.timeout,
                auth=self._conn.auth,  # credentials for the endpoint's origin only (auth.py)
                transport=self._transport,
                event_hooks=with_mark_sent(with_pacing(self._conn, self._event_hooks,  # quota pace
                                                   sleep=lambda s: self._sleep(s))),
                follow_redirects=False,  # a redirect must not carry the key elsewhere
                limits=httpx.Limits(max_connections=100, max_keepalive_connections=50),
                headers={"User-Agent": "azimage-widgets"},
            )
            self._loop = loop
        elif self._loop is not loop:
            raise RuntimeError(
                "this ImageClient belongs to another event loop; use ImageClient.shared(conn) "
                "to get one per loop")
        return self._http

    @classmethod
    def shared(cls, conn: ConnectionLike) -> ImageClient:
        """The shared client of ``conn`` on the running loop (made on first call).

        For widgets and other long-lived callers. ``async with`` does not close
        it; ``ImageClient.close_shared(conn)``, ``conn.aclose()`` or the loop's
        shutdown does (see shared.py). A pool is refused by ``_make``.
        """
        def make() -> ImageClient:
            client = cls._make(conn)
            client._is_shared = True
            return client
        return get_shared(conn, make, fits=cls._takes(conn))

    @classmethod
    def _takes(cls, conn: ConnectionLike) -> bool:
        """Whether this client class is made for ``conn`` (a pool has its own class)."""
        return isinstance(conn, Connection)

    @classmethod
    def _make(cls, conn: ConnectionLike) -> ImageClient:
        """A new client of ``conn`` for ``shared``; each client class says what it takes."""
        if not isinstance(conn, Connection):
            raise _not_a_connection(conn)
        return cls(conn)

    @classmethod
    async def close_shared(cls, conn: ConnectionLike | None = None) -> None:
        """Close the shared clients of ``conn`` (all connections if None); see shared.py."""
        await close_shared(conn)

    # -- what was sent ---------------------------------------------------------
    def request_of(self, op: str | ImageOperation) -> dict[str, Any] | None:
        """The fields this client sent for an operation it submitted (prompt, size, n, ...), or None."""
        return self._book.request_of(op)

    # -- the API ------------------------------------------------------------
    async def request_image(
        self,
        prompt: str,
        *,
        size: str | None = None,
        n: int = 1,
        user: str | None = None,
        api_version: str | None = None,
        extra_body: Mapping[str, Any] | None = None,
        omit: Iterable[str] = (),
        quality: str | None = None,
        style: str | None = None,
        response_format: str | None = None,
        output_format: str | None = None,
        background: str | None = None,
        output_compression: int | None = None,
        deployment: str | None = None,
        model: str | None = None,
    ) -> ImageOperation:
        """Submit a generation (validated first); the operation to poll.

        ``extra_body``: further JSON fields sent as given (an edited request
        schema's added fields); they may not repeat a field of the contract. A
        key that is an option of the version (quality under 2024-10-21, ...) is
        validated as that option.
        ``omit``: optional contract fields ("n", "size") left out of the body,
        so the service applies its default (a schema edit removed them).

        Synchronous versions (2024-10-21 dall-e-3, 2025-04-01-preview
        gpt-image-1) take ``quality``, ``style``, ``output_format``, ... as
        their VersionSpec lists; the call is answered with the images, which
        the client records under a generated id: the returned operation is
        already ``succeeded`` and ``download_image(op.id)`` reads it
        (see generations.py). ``deployment`` overrides the connection's.

        ``model`` (v1 and 2025-04-01-preview) names the deployment's image model
        for this call: its rules apply (a custom size for gpt-image-2, ...) over the
        connection's ``model`` and the deployment's name. It chooses the rules only:
        it is not sent (on v1 the body's ``model`` is the deployment).
        """
        options: dict[str, Any] = {
            "quality": quality, "style": style, "response_format": response_format,
            "output_format": output_format, "background": background,
            "output_compression": output_compression}
        version = api_version or self._conn.api_version
        if uses_model_rules(version):  # the model's rules (v1.py; on v1 the deployment in the body)
            fields = v1.generation_fields(prompt, n=n, size=size, user=user, options=options,
                                          extra_body=extra_body, omit=omit)
            return await v1.generate_by_model(self._generations, fields, version, deployment,
                                              model)
        model_for_version(version, model)  # a DALL-E version: its own model; a name is checked
        req, payload = generation_body(prompt, size=size, n=n, user=user,
                                       api_version=api_version or self._conn.api_version,
                                       options=options, extra_body=extra_body, omit=omit)
        if version_spec(req.api_version).is_sync:
            return await self._generations.generate(req, payload, deployment)
        url = self._send.url(SUBMIT_PATH, req.api_version)
        answer = await self._send.request("POST", url, kind="submit", json=payload)
        return self._book.accepted(json_of(answer, "submit"),
                                   answer.headers.get(OPERATION_LOCATION_HEADER),
                                   answer.status_code, req.api_version, payload, time.monotonic())

    async def get_operation(self, op: str | ImageOperation, *,
                            api_version: str | None = None) -> ImageResult:
        """One poll: the operation as it is now (terminal or not; no error for failed)."""
        recorded = self._generations.records.get(op.id if isinstance(op, ImageOperation) else op)
        if recorded is not None:
            return recorded
        op_id, url, _ = self._book.locate(op, api_version)
        result, _ = await self._book.poll_once(op_id, url, None)
        return result

    async def download_image(
        self,
        op: str | ImageOperation,
        *,
        timeout: float | None = None,
        on_status: StatusCallback | None = None,
        api_version: str | None = None,
    ) -> ImageResult:
        """Poll until terminal and return the succeeded result.

        ``api_version``: the version an operation this client did not submit is
        polled with (default: the connection's).

        failed -> ContentFilterError (safety refusal) or ApiError; canceled or
        deleted -> ApiError with that code; every image filtered ->
        ContentFilterError; no end within ``timeout`` (default
        ``conn.poll_timeout``) -> OperationTimeout. ``on_status(result)`` is
        called after every poll (sync or async).
        """
        recorded = self._generations.records.get(op.id if isinstance(op, ImageOperation) else op)
        if recorded is not None:  # a synchronous answer: nothing to wait for
            await call_back(on_status, recorded)
            return check_terminal(recorded)
        op_id, url, submitted_at = self._book.locate(op, api_version)
        if timeout is None:
            timeout = self._conn.poll_timeout
        elif isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
            raise ValidationError("timeout", "must be a positive number of seconds", timeout)
        deadline = time.monotonic() + timeout
        asked = self._book.asked(op_id) or {}
        result = await self._poller.until_terminal(
            lambda: self._book.poll_once(op_id, url, deadline), operation_id=op_id,
            timeout=timeout, submitted_at=submitted_at, on_status=on_status,
            key=(asked.get("api_version"), asked.get("size"), asked.get("n")))
        return check_terminal(result)

    async def delete_operation(self, op: str | ImageOperation, *,
                               api_version: str | None = None) -> None:
        """Delete a terminal operation and its images (the service refuses a running one).

        A synchronous answer's id is only forgotten here: the service keeps no
        operation for it (its url images expire on their own).
        """
        if self._generations.records.pop(op.id if isinstance(op, ImageOperation) else op) is not None:
            return
        op_id, url, _ = self._book.locate(op, api_version)
        await self._send.request("DELETE", url, kind="idempotent", operation_id=op_id)

    async def fetch_image(self, url: str) -> bytes:
        """The image's bytes, checked to decode; credentials only go to the endpoint's origin.
        At most ``fetch_concurrency`` fetches run at once per client (see fetch.py)."""
        return await self._fetcher.fetch(self._client(), url, self._sleep)

    async def generate(
        self,
        prompt: str,
        *,
        size: str | None = None,
        n: int = 1,
        user: str | None = None,
        api_version: str | None = None,
        timeout: float | None = None,
        on_status: StatusCallback | None = None,
        **options: Any,
    ) -> ImageResult:
        """Submit and wait: ``request_image`` then ``download_image``.

        ``options``: the version's further fields (quality, style, ...) and ``deployment``.
        """
        op = await self.request_image(prompt, size=size, n=n, user=user, api_version=api_version,
                                      **options)
        return await self.download_image(op.id, timeout=timeout, on_status=on_status)

    async def generate_many(
        self,
        prompts: Iterable[str],
        *,
        size: str | None = None,
        n: int = 1,
        user: str | None = None,
        api_version: str | None = None,
        concurrency: int = 8,
        continue_on_error: bool = True,
        on_progress: ProgressCallback | None = None,
        timeout: float | None = None,
        journal: BatchJournalLike | None = None, resume: bool = True,
        **options: Any,
    ) -> list[ImageResult | Exception]:
        """One ImageResult or exception per prompt, in order, at most ``concurrency`` at once.

        ``options``: what ``request_image`` takes besides (the version's
        quality, style, response_format, output_format, background,
        output_compression, and deployment, extra_body, omit), the same for
        every prompt; an argument ``request_image`` does not take is a
        TypeError before anything is sent.

        Every prompt is validated before anything is sent; with
        ``continue_on_error`` an invalid one becomes that entry's
        ValidationError, without it the ValidationError (naming the index) is
        raised and nothing is sent. ``continue_on_error=False`` stops at the
        first failure with a BatchError (``.index``, ``.results``).
        ``on_progress(done, total, index, outcome)`` runs after each item.
        ``journal``: called again after a restart, it resumes (``resume=False``: over); resume.py.
        """
        prompts = prompt_list(prompts, concurrency)
        version = api_version or self._conn.api_version
        # an argument request_image does not take fails the call, not each entry
        inspect.signature(self.request_image).bind("", size=size, n=n, user=user,
                                                   api_version=version, **options)
        named = {k: v for k, v in options.items() if k in OPTION_NAMES and v is not None}
        if "omit" in options:
            options["omit"] = tuple(options["omit"])  # one iterator, read by every prompt

        def check(prompt: str) -> None:
            if uses_model_rules(version):  # the model's rules, as request_image checks them
                v1.check_generation(self._conn, prompt, version, size=size, n=n, user=user,
                                    options=options)
            else:
                ImageRequest(prompt=prompt, size=size, n=n, user=user, api_version=version,
                             **named)

        async def run(_: int, prompt: str) -> ImageResult:
            return await self.generate(prompt, size=size, n=n, user=user, api_version=version,
                                       timeout=timeout, **options)

        if journal is not None:  # the same prompts and request: the same batch (resume.py)
            request = dict(size=size, n=n, user=user, api_version=version, **options)
            return await generate_resumable(self, journal, prompts, request, resume, check, timeout,
                                            concurrency, continue_on_error, on_progress)
        jobs = prompt_jobs(prompts, check=check, run=run, continue_on_error=continue_on_error)
        return await run_batch(jobs, concurrency=concurrency,
                               continue_on_error=continue_on_error, on_progress=on_progress)

    def __repr__(self) -> str:
        state = "closed" if self._closed else ("shared" if self._is_shared else "open")
        return f"ImageClient({self.connection!r}, {state})"


def _not_a_connection(conn: object) -> ValidationError:
    if isinstance(conn, ConnectionLike):  # a ConnectionPool: its client is another class
        return ValidationError("conn", "is a pool of connections: use "
                               "azimage_widgets.client.PooledImageClient(pool), or "
                               "client_for(conn) for either kind", type(conn).__name__)
    return ValidationError("conn", "must be an azimage_widgets.Connection", type(conn).__name__)
