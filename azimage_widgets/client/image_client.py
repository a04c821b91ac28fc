"""ImageClient: submit, poll, delete and fetch over one pooled httpx.AsyncClient.

Input is checked (contract.ImageRequest) before anything is sent. Every HTTP
error becomes an ApiError built from Azure's error body (ThrottledError for
429, ContentFilterError for safety refusals); a malformed answer becomes an
ApiError with code ``invalidResponse``, never a KeyError. Debug logging
names the method, the URL without its query and the status: never headers.
"""
from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import replace
from typing import Any, ClassVar
from urllib.parse import quote, unquote, urljoin, urlsplit

import httpx

from ..contract import (
    STATUSES,
    ApiError,
    ContentFilterError,
    ImageOperation,
    ImageRequest,
    ImageResult,
    ParseError,
    ThrottledError,
    ValidationError,
    check_operation_id,
    parse_error_body,
    parse_operation,
    version_spec,
)
from ..contract.errors import redact_exception, strip_query
from ..contract.limits import OPTION_NAMES, VERSIONS
from ..contract.models import parse_timestamp
from ..contract.routes import OPERATION_LOCATION_HEADER, SUBMIT_PATH, operation_path
from ..contract.text import check_json_value
from .answer_caps import MAX_API_RESPONSE_BYTES, MAX_B64_RESPONSE_BYTES, answer_cap
from .batch import ProgressCallback, run_batch
from .connection import Connection, ConnectionLike
from .exchange import Answer, exchange, mark_sent
from .fetch import DEFAULT_MAX_IMAGE_BYTES, fetch_image_bytes
from .pacing import with_pacing
from .poll import (
    DeadlinePassed,
    DurationEstimate,
    PollSchedule,
    StatusCallback,
    phase_of,
    poll_until_terminal,
)
from .retry import (
    RequestKind,
    RetryPolicy,
    is_retryable,
    never_sent,
    parse_retry_after,
    passed,
    send_with_retries,
)
from .sync_flow import SyncRecords, edit_sync, generate_sync, report

log = logging.getLogger("azimage_widgets.client")

#: Error codes that mean the safety system refused (async flow, then sync flow).
CONTENT_FILTER_CODES = frozenset(
    {"contentFilter", "content_filter", "content_policy_violation", "ResponsibleAIPolicyViolation"})
#: Image fetches (download and decode check) one client runs at once.
DEFAULT_FETCH_CONCURRENCY = 4
_MAX_REMEMBERED_OPS = 10_000
_MAX_MESSAGE = 500


class ImageClient:
    """Async client of the image generation REST API; use as ``async with ImageClient(conn)``.

    One httpx.AsyncClient (a connection pool) is made on first use and bound
    to the running event loop; using the same ImageClient from another loop
    is an error (use ``ImageClient.shared(conn)`` to get one per loop).
    ``transport`` and ``event_hooks`` are passed to httpx (tests, proxies).
    """

    _shared_clients: ClassVar[dict[tuple[asyncio.AbstractEventLoop, ConnectionLike], ImageClient]] = {}
    _loop_closers: ClassVar[dict[asyncio.AbstractEventLoop, Any]] = {}

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
        if isinstance(max_image_bytes, bool) or not isinstance(max_image_bytes, int) \
                or max_image_bytes <= 0:
            raise ValidationError("max_image_bytes", "must be a positive whole number", max_image_bytes)
        if isinstance(fetch_concurrency, bool) or not isinstance(fetch_concurrency, int) \
                or fetch_concurrency <= 0:
            raise ValidationError("fetch_concurrency", "must be a positive whole number",
                                  fetch_concurrency)
        self._conn = conn
        self._transport = transport
        self._fetch_concurrency = fetch_concurrency
        self._fetch_slots: asyncio.Semaphore | None = None
        self._event_hooks = dict(event_hooks) if event_hooks else None
        self._max_image_bytes = max_image_bytes
        self._schedule = poll_schedule or PollSchedule()
        self._policy = retry_policy or RetryPolicy(max_retries=conn.max_retries)
        # how long jobs take, per (api version, size, n) of the request: a 1024x1024 n=5 job
        # is not a 256x256 one; the last one observed answers expected_duration
        self._estimates: dict[tuple[Any, ...], DurationEstimate] = {}
        self._estimate = DurationEstimate()
        self._polling = 0  # download_image calls polling now (they get staggered phases)
        #: How retries wait; a seam for tests that must not sleep a server's full Retry-After.
        self._sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep
        self._http: httpx.AsyncClient | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False
        self._is_shared = False
        # op id -> (absolute poll URL, monotonic time the submit was answered)
        self._ops: OrderedDict[str, tuple[str, float]] = OrderedDict()
        # op id -> the request's fields (prompt, size, ...): see request_of
        self._requests: OrderedDict[str, dict[str, Any]] = OrderedDict()
        # answers of synchronous versions, by the id this client gave them (sync_flow.py)
        self._sync = SyncRecords()

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
        return self._estimate.value

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
        if self._is_shared and self._loop is not None:
            key = (self._loop, self.connection)
            if self._shared_clients.get(key) is self:
                del self._shared_clients[key]

    def _client(self) -> httpx.AsyncClient:
        if self._closed:
            raise RuntimeError("this ImageClient is closed")
        loop = asyncio.get_running_loop()
        if self._http is None:
            self._http = httpx.AsyncClient(
                timeout=self._conn.timeout,
                auth=self._conn.auth,  # credentials for the endpoint's origin only (auth.py)
                transport=self._transport,
                event_hooks=_with_mark(with_pacing(self._conn, self._event_hooks,  # quota pace
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
        it; ``await ImageClient.close_shared(conn)`` or ``await conn.aclose()``
        does, and so does the loop's shutdown (``asyncio.run`` and friends run
        ``loop.shutdown_asyncgens()``, which this hooks into).
        """
        loop = asyncio.get_running_loop()
        for key in [k for k in cls._shared_clients if k[0].is_closed()]:
            del cls._shared_clients[key]
        for dead in [lp for lp in cls._loop_closers if lp.is_closed()]:
            del cls._loop_closers[dead]
        # a connection of the other kind is refused by _make, whatever is cached
        client = cls._shared_clients.get((loop, conn)) if cls._takes(conn) else None
        if client is None or client._closed:
            client = cls._make(conn)
            client._is_shared = True
            cls._shared_clients[(loop, conn)] = client
            cls._install_loop_closer(loop)
        return client

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
    def _install_loop_closer(cls, loop: asyncio.AbstractEventLoop) -> None:
        if loop in cls._loop_closers:
            return

        async def closer():  # finalized by loop.shutdown_asyncgens()
            try:
                yield
            finally:
                cls._loop_closers.pop(loop, None)
                await cls._close_shared_on(loop, None)

        gen = closer()
        cls._loop_closers[loop] = gen  # a strong ref, so GC does not finalize it early

        async def start() -> None:  # the first step registers gen with the loop's asyncgen hooks
            await gen.__anext__()

        loop.create_task(start())

    @classmethod
    async def close_shared(cls, conn: ConnectionLike | None = None) -> None:
        """Close the shared clients of ``conn`` (all connections if None) on the running loop.

        Shared clients on other live loops are closed on their own loop, in the background.
        """
        loop = asyncio.get_running_loop()
        await cls._close_shared_on(loop, conn)
        for (other, c), client in list(cls._shared_clients.items()):
            if other is loop or (conn is not None and c is not conn):
                continue
            del cls._shared_clients[(other, c)]
            if not other.is_closed() and other.is_running():
                asyncio.run_coroutine_threadsafe(client.aclose(), other)

    @classmethod
    async def _close_shared_on(cls, loop: asyncio.AbstractEventLoop,
                               conn: ConnectionLike | None) -> None:
        for (lp, c), client in list(cls._shared_clients.items()):
            if lp is loop and (conn is None or c is conn):
                await client.aclose()

    # -- URLs ---------------------------------------------------------------
    def _url(self, path: str, api_version: str) -> str:
        return f"{self._conn.endpoint}{path}?api-version={quote(api_version, safe='')}"

    def _operation_url(self, op_id: str, header: str | None, api_version: str) -> str:
        """The service's operation-location when it is on the endpoint's origin, else built."""
        if header:
            absolute = urljoin(self._conn.endpoint + "/", header.strip())
            if self._conn.is_same_origin(absolute):
                if "api-version=" not in (urlsplit(absolute).query or ""):
                    sep = "&" if "?" in absolute else "?"
                    absolute += f"{sep}api-version={quote(api_version, safe='')}"
                return absolute
            log.debug("operation-location on another origin ignored: %s", strip_query(absolute))
        return self._url(operation_path(op_id), api_version)

    def _remember(self, op_id: str, url: str, submitted_at: float) -> None:
        self._ops[op_id] = (url, submitted_at)
        self._ops.move_to_end(op_id)
        while len(self._ops) > _MAX_REMEMBERED_OPS:
            self._ops.popitem(last=False)

    def _note_request(self, op_id: str, payload: Mapping[str, Any], api_version: str) -> None:
        self._requests[op_id] = {**payload, "api_version": api_version}
        self._requests.move_to_end(op_id)
        while len(self._requests) > _MAX_REMEMBERED_OPS:
            self._requests.popitem(last=False)

    def request_of(self, op: str | ImageOperation) -> dict[str, Any] | None:
        """The fields this client sent for an operation it submitted (prompt, size, n, ...), or None."""
        op_id = op.id if isinstance(op, ImageOperation) else op
        got = self._requests.get(op_id) if isinstance(op_id, str) else None
        return dict(got) if got is not None else None

    def _locate(self, op: str | ImageOperation,
                api_version: str | None = None) -> tuple[str, str, float | None]:
        """(op id, poll URL, submit time or None) of an id or an ImageOperation.

        An operation this client submitted keeps the URL (and version) of its
        submit; another is addressed with ``api_version`` (default: the connection's).
        """
        if isinstance(op, ImageOperation):
            op_id, location = op.id, op.location
        else:
            op_id, location = op, None
        check_operation_id(op_id)  # before anything is sent: no "..", "/", lone surrogates
        known = self._ops.get(op_id)
        if known is not None:
            return op_id, known[0], known[1]
        url = self._operation_url(op_id, location, api_version or self._conn.api_version)
        return op_id, url, None

    # -- HTTP with retries ----------------------------------------------------
    async def _request(
        self,
        method: str,
        url: str,
        *,
        kind: RequestKind,
        json: Any = None,
        operation_id: str | None = None,
        deadline: float | None = None,
        data: Mapping[str, Any] | None = None,
        files: Any = None,
        timeout: httpx.Timeout | None = None,
        max_bytes: int = MAX_API_RESPONSE_BYTES,
    ) -> Answer:
        """Send with bounded retries (see retry.py); a 2xx Answer or an ApiError.

        ``data``/``files``: a multipart body (image edits); ``timeout`` overrides
        the client's for this request (the synchronous flow waits longer).
        Each attempt, connect to last body byte, ends within the read timeout
        (``conn.timeout`` unless overridden): past it ApiError("timeout"). The
        body is read up to ``max_bytes``; a longer one is
        ApiError("responseTooLarge") at once. ``deadline`` (polls): no retry
        past it, an attempt may only take what it leaves, and a timeout once it
        passed is DeadlinePassed.
        """
        extra: dict[str, Any] = {}
        if data is not None or files is not None:
            extra.update(data=data, files=files)
        if timeout is not None:
            extra["timeout"] = timeout
        total = timeout.read if timeout is not None else self._conn.timeout
        http = self._client()
        shown = strip_query(url)

        def too_large(status: int, size: str) -> ApiError:
            return ApiError(status, "responseTooLarge",
                            f"the answer to {method} {shown} is {size}, over the {max_bytes}-byte "
                            "cap of an API answer; reading stopped there", operation_id=operation_id)

        async def once(budget: float | None) -> Answer:
            # credentials come from the httpx client's auth (self._conn.auth), endpoint origin only
            request = http.build_request(method, url, json=json, **extra)
            return await exchange(http, request, budget=budget, max_bytes=max_bytes,
                                  too_large=too_large)

        try:
            answer = await send_with_retries(once, kind=kind, policy=self._policy, timeout=total,
                                             deadline=deadline, sleep=self._sleep,
                                             what=f"{method} {shown}")
        except httpx.HTTPError as exc:
            if isinstance(exc, httpx.TimeoutException) and passed(deadline):
                # the attempt's time was cut to what the deadline left: the operation's
                # timeout, not the request's (poll_until_terminal makes it OperationTimeout)
                raise DeadlinePassed(f"{method} {shown}: {type(exc).__name__}") from exc
            raise self._transport_error(method, url, kind, exc, operation_id) from exc
        if answer.is_success:
            return answer
        raise self._api_error(answer, operation_id, parse_retry_after(answer.headers))

    def _transport_error(self, method: str, url: str, kind: RequestKind, exc: Exception,
                         operation_id: str | None) -> ApiError:
        code = "timeout" if isinstance(exc, httpx.TimeoutException) else "connectionError"
        redact_exception(exc, self._conn.secrets())  # it becomes the __cause__ of ours
        text = f"{method} {strip_query(url)} failed: {type(exc).__name__}: {exc}"
        if kind == "submit" and not never_sent(exc) and not is_retryable("submit", error=exc):
            text += ("; the service may have accepted the job, so it was not sent again "
                     "(that could make a duplicate generation)")
        return ApiError(None, code, self._conn.redact(text), operation_id=operation_id)

    def _api_error(self, answer: Answer, operation_id: str | None,
                   retry_after: float | None) -> ApiError:
        body = answer.json_or_none()
        code, message = parse_error_body(body)
        code = code or answer.headers.get("x-ms-error-code")
        if message is None and answer.content and body is None:
            message = f"{answer.reason_phrase or 'request failed'} (the error body is not JSON " \
                      "this client can read)"
        message = self._conn.redact((message or answer.reason_phrase or "request failed")
                                    [:_MAX_MESSAGE])
        status = answer.status_code
        if status == 429:
            return ThrottledError(status, code or "429", message, operation_id=operation_id,
                                  retry_after=retry_after)
        if code in CONTENT_FILTER_CODES:
            return ContentFilterError(status, code, message, operation_id=operation_id)
        return ApiError(status, code, message, operation_id=operation_id)

    @staticmethod
    def _json(answer: Answer, what: str, operation_id: str | None = None) -> Any:
        try:
            return answer.json()
        except ParseError as exc:
            raise ApiError(answer.status_code, "invalidResponse",
                           f"the {what} answer is not JSON the contract can hold: {exc}",
                           operation_id=operation_id) from None

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
        (see sync_flow.py). ``deployment`` overrides the connection's.
        """
        version = api_version or self._conn.api_version
        options: dict[str, Any] = {
            "quality": quality, "style": style, "response_format": response_format,
            "output_format": output_format, "background": background,
            "output_compression": output_compression}
        extra: dict[str, Any] = {}
        spec = version_spec(version)
        for key, value in (extra_body or {}).items():
            if not isinstance(key, str) or key in ("prompt", "n", "size", "user", "response_format"):
                raise ValidationError("extra_body", "must not repeat a field of the contract", key)
            check_json_value(f"extra_body.{key}", value)  # before anything is sent
            if key in spec.option_names:  # a field this version has: checked like the argument
                if options.get(key) is not None:
                    raise ValidationError("extra_body", "must not repeat a field of the contract",
                                          key)
                options[key] = value
            else:
                extra[key] = value
        req = ImageRequest(prompt=prompt, size=size, n=n, user=user, api_version=version,
                           **options)
        payload = req.to_json()
        for key in omit:
            if key not in ("n", "size"):
                raise ValidationError("omit", "only n and size can be left out", key)
            payload.pop(key, None)
        payload.update(extra)
        if version_spec(req.api_version).is_sync:
            return await generate_sync(self, req, payload, deployment)
        url = self._url(SUBMIT_PATH, req.api_version)
        answer = await self._request("POST", url, kind="submit", json=payload)
        submitted_at = time.monotonic()
        body = self._json(answer, "submit")
        header = answer.headers.get(OPERATION_LOCATION_HEADER)
        op_id = body.get("id") if isinstance(body, dict) else None
        if not isinstance(op_id, str) or not op_id:
            op_id = unquote(urlsplit(header).path.rstrip("/").rsplit("/", 1)[-1]) if header else ""
        if not op_id:
            raise ApiError(answer.status_code, "invalidResponse",
                           "the submit answer has no operation id and no operation-location")
        status = body.get("status") if isinstance(body, dict) else None
        if status not in STATUSES:
            status = "notRunning"
        try:
            created = parse_timestamp(body, "created") if isinstance(body, dict) else None
        except ParseError:
            created = None  # the job was accepted: an odd time must not lose its id
        location = self._operation_url(op_id, header, req.api_version)
        self._remember(op_id, location, submitted_at)
        self._note_request(op_id, payload, req.api_version)
        return ImageOperation(id=op_id, status=status, created=created or None, location=location)

    async def _poll_once(self, op_id: str, url: str,
                         deadline: float | None) -> tuple[ImageResult, float | None]:
        asked = self._requests.get(op_id)
        cap = MAX_B64_RESPONSE_BYTES if asked is None else answer_cap(
            asked["api_version"], asked.get("response_format"), poll=True)
        answer = await self._request("GET", url, kind="idempotent", operation_id=op_id,
                                     deadline=deadline, max_bytes=cap)
        body = self._json(answer, "operation", op_id)
        try:
            result = parse_operation(body, max_items=images_asked(asked))
        except ParseError as exc:
            raise ApiError(answer.status_code, "invalidResponse",
                           f"malformed operation answer: {exc}", operation_id=op_id) from None
        return result, parse_retry_after(answer.headers)

    async def get_operation(self, op: str | ImageOperation, *,
                            api_version: str | None = None) -> ImageResult:
        """One poll: the operation as it is now (terminal or not; no error for failed)."""
        recorded = self._sync.get(op.id if isinstance(op, ImageOperation) else op)
        if recorded is not None:
            return recorded
        op_id, url, _ = self._locate(op, api_version)
        result, _ = await self._poll_once(op_id, url, None)
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
        recorded = self._sync.get(op.id if isinstance(op, ImageOperation) else op)
        if recorded is not None:  # a synchronous answer: nothing to wait for
            await report(recorded, on_status)
            return check_terminal(recorded)
        op_id, url, submitted_at = self._locate(op, api_version)
        if timeout is None:
            timeout = self._conn.poll_timeout
        elif isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
            raise ValidationError("timeout", "must be a positive number of seconds", timeout)
        deadline = time.monotonic() + timeout
        # operations polled at once are staggered, so together they sample finely (poll.py)
        asked = self._requests.get(op_id) or {}
        key = (asked.get("api_version"), asked.get("size"), asked.get("n"))
        estimate = self._estimates.get(key)
        if estimate is None:
            estimate = self._estimates[key] = DurationEstimate()
            while len(self._estimates) > 64:
                del self._estimates[next(iter(self._estimates))]
        schedule = replace(self._schedule, phase=phase_of(self._polling))
        self._polling += 1
        try:
            outcome = await poll_until_terminal(
                lambda: self._poll_once(op_id, url, deadline),
                operation_id=op_id, timeout=timeout, schedule=schedule,
                submitted_at=submitted_at, on_status=on_status, estimate=estimate,
            )
        finally:
            self._polling -= 1
        result = outcome.result
        if result.succeeded and submitted_at is not None:
            estimate.observe(outcome.last_pending, outcome.first_done)
            self._estimate = estimate
        return check_terminal(result)

    async def delete_operation(self, op: str | ImageOperation, *,
                               api_version: str | None = None) -> None:
        """Delete a terminal operation and its images (the service refuses a running one).

        A synchronous answer's id is only forgotten here: the service keeps no
        operation for it (its url images expire on their own).
        """
        if self._sync.pop(op.id if isinstance(op, ImageOperation) else op) is not None:
            return
        op_id, url, _ = self._locate(op, api_version)
        await self._request("DELETE", url, kind="idempotent", operation_id=op_id)

    async def edit_image(
        self,
        image: bytes | list[bytes],
        prompt: str,
        *,
        mask: bytes | None = None,
        n: int = 1,
        size: str | None = None,
        quality: str | None = None,
        response_format: str | None = None,
        user: str | None = None,
        api_version: str | None = None,
        deployment: str | None = None,
    ) -> ImageOperation:
        """Edit an image (gpt-image-1, 2025-04-01-preview): multipart image(s), optional mask.

        ``image``: the bytes of a PNG or JPEG (or a list of them); ``mask``: a
        PNG of the first image's size whose transparent pixels mark where to
        edit. Like a synchronous ``request_image``, the answer is recorded
        under a generated id: ``download_image(op.id)`` gives the ImageResult
        (``items[i].b64_json``, ``usage``). ValidationError before anything is
        sent for a version without edits, a file that is not PNG/JPEG, etc.
        """
        version = api_version or self._conn.api_version
        return await edit_sync(self, image, prompt, mask=mask, n=n, size=size, quality=quality,
                               response_format=response_format, user=user, api_version=version,
                               deployment=deployment)

    async def fetch_image(self, url: str) -> bytes:
        """The image's bytes, checked to decode; credentials only go to the endpoint's origin.

        At most ``fetch_concurrency`` fetches (with their decode check) run at
        once per client, so the images of a large result do not all sit in
        memory together; the others wait their turn.
        """
        http = self._client()
        if self._fetch_slots is None:
            self._fetch_slots = asyncio.Semaphore(self._fetch_concurrency)
        async with self._fetch_slots:
            return await fetch_image_bytes(http, self._conn, url, policy=self._policy,
                                           max_bytes=self._max_image_bytes, sleep=self._sleep)

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
        """
        if isinstance(prompts, (str, bytes)) or not isinstance(prompts, Iterable):
            raise ValidationError("prompts", "must be a list of prompt strings",
                                  type(prompts).__name__)
        prompts = list(prompts)
        if isinstance(concurrency, bool) or not isinstance(concurrency, int) \
                or not 1 <= concurrency <= 1000:
            raise ValidationError("concurrency", "must be a whole number from 1 to 1000", concurrency)
        version = api_version or self._conn.api_version
        # an argument request_image does not take fails the call, not each entry
        inspect.signature(self.request_image).bind("", size=size, n=n, user=user,
                                                   api_version=version, **options)
        named = {k: v for k, v in options.items() if k in OPTION_NAMES and v is not None}
        if "omit" in options:
            options["omit"] = tuple(options["omit"])  # one iterator, read by every prompt
        jobs = []
        for i, prompt in enumerate(prompts):
            try:
                ImageRequest(prompt=prompt, size=size, n=n, user=user, api_version=version, **named)
            except ValidationError as exc:
                err = ValidationError(f"prompts[{i}].{exc.field}", exc.limit, exc.value)
                if not continue_on_error:
                    raise err from None
                jobs.append(_raiser(err))
                continue
            jobs.append(lambda p=prompt: self.generate(p, size=size, n=n, user=user,
                                                       api_version=version, timeout=timeout,
                                                       **options))
        return await run_batch(jobs, concurrency=concurrency,
                               continue_on_error=continue_on_error, on_progress=on_progress)

    def __repr__(self) -> str:
        state = "closed" if self._closed else ("shared" if self._is_shared else "open")
        return f"ImageClient({self.connection!r}, {state})"


def check_terminal(result: ImageResult) -> ImageResult:
    """The result if it succeeded with at least one image kept; the matching error otherwise."""
    op_id = result.id
    if result.status == "succeeded":
        filtered = [e for e in result.errors if e.error_code in CONTENT_FILTER_CODES]
        if result.items and not any(i.ok for i in result.items) and filtered:
            raise ContentFilterError(None, filtered[0].error_code, filtered[0].error_message
                                     or "every image was filtered", operation_id=op_id)
        return result
    if result.status == "failed":
        code = result.error_code
        message = result.error_message or "the operation failed"
        if code in CONTENT_FILTER_CODES:
            raise ContentFilterError(None, code, message, operation_id=op_id)
        raise ApiError(None, code or "failed", message, operation_id=op_id)
    if result.status == "canceled":
        raise ApiError(None, "canceled",
                       "the operation was canceled (the service cancels a job that timed out)",
                       operation_id=op_id)
    if result.status == "deleted":
        raise ApiError(None, "deleted", "the operation was deleted; its images are gone",
                       operation_id=op_id)
    raise ApiError(None, "invalidResponse", f"not a terminal status: {result.status}",
                   operation_id=op_id)


def _not_a_connection(conn: object) -> ValidationError:
    if isinstance(conn, ConnectionLike):  # a ConnectionPool: its client is another class
        return ValidationError("conn", "is a pool of connections: use "
                               "azimage_widgets.client.PooledImageClient(pool), or "
                               "client_for(conn) for either kind", type(conn).__name__)
    return ValidationError("conn", "must be an azimage_widgets.Connection", type(conn).__name__)


def _with_mark(hooks: dict[str, list[Callable[..., Any]]]) -> dict[str, list[Callable[..., Any]]]:
    """``hooks`` with mark_sent last: an exchange's deadline starts after the hooks' waits."""
    return {**hooks, "request": [*hooks.get("request", []), mark_sent]}


def images_asked(asked: Mapping[str, Any] | None) -> int:
    """How many images a request asked for: its n, else the most its version (or any) makes."""
    n = asked.get("n") if asked is not None else None
    if isinstance(n, int) and not isinstance(n, bool) and n > 0:
        return n
    version = asked.get("api_version") if asked is not None else None
    if isinstance(version, str) and version in VERSIONS:
        return VERSIONS[version].n_max
    return max(spec.n_max for spec in VERSIONS.values())


def _raiser(err: Exception) -> Callable[[], Any]:
    async def job() -> Any:
        raise err
    return job
