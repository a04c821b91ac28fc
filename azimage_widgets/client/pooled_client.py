"""The client of a ConnectionPool: PooledImageClient, and the one place that picks a client class.

    pool = aw.Connection.pool([conn_a, conn_b, conn_c])
    async with PooledImageClient(pool) as client:
        op = await client.request_image("a red fox")   # goes to the next endpoint free to take it
        res = await client.download_image(op.id)       # polled on the endpoint that accepted it

``client_for(conn)`` and ``shared_client(conn)`` take either kind of
connection (``ConnectionLike``) and give an ImageClient or a
PooledImageClient: callers that may hold a pool (activities, panels) use them.

An operation lives on the endpoint that accepted it: polls, deletes and the
request record go there. An id this client did not submit (another
kernel's, before a restart) is looked up on each endpoint in turn
(404 -> the next one).
"""
from __future__ import annotations

import asyncio
import inspect
import itertools
import time
from collections import OrderedDict
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Any, TypeVar

import httpx

from ..contract import (
    ApiError,
    ImageOperation,
    ImageRequest,
    ImageResult,
    ValidationError,
    check_operation_id,
)
from ..contract.image_models import uses_model_rules
from ..contract.limits import OPTION_NAMES
from ..contract.stream_events import PartialImage
from .connection import Connection, ConnectionLike
from .image_client import ImageClient
from .pacing import already_paced
from .pool import ConnectionPool
from .pool_member import NO_RETRY, Member, MemberPolicy, exhausted, take_out
from .retry import MAX_RETRY_AFTER, RetryPolicy, is_retryable, parse_retry_after

_MAX_OWNERS = 10_000
T = TypeVar("T")
_Events = AsyncGenerator[PartialImage | ImageResult, None]

class PooledImageClient(ImageClient):
    """An ImageClient over a ConnectionPool: each member endpoint has its own ImageClient."""

    def __init__(self, pool: ConnectionPool, **options: Any) -> None:
        """Takes what ImageClient takes after the connection (transport, event_hooks,
        max_image_bytes, poll_schedule, retry_policy) and gives it to every member's client:
        its signature is ImageClient's (``inspect.signature`` shows it), so they cannot drift apart.
        """
        if not isinstance(pool, ConnectionPool):
            raise ValidationError("pool", "must be an azimage_widgets ConnectionPool",
                                  type(pool).__name__)
        bound = _CLIENT_INIT.bind(self, pool, **options)  # TypeError like ImageClient's
        bound.apply_defaults()
        member_options = {k: v for k, v in bound.arguments.items() if k not in ("self", "conn")}
        retry_policy = member_options.pop("retry_policy")
        event_hooks = member_options.pop("event_hooks")
        self._pool = pool
        # the first member: its api_version is the pool's, for generate/generate_many
        self._conn = pool.connections[0]
        self._closed = False
        self._is_shared = False
        self._http = None
        self._loop = None
        self._sleep = asyncio.sleep
        self._clock: Callable[[], float] = time.monotonic
        self._owners: OrderedDict[str, int] = OrderedDict()
        self._rr = itertools.count()
        self._members: list[Member] = []
        for i, conn in enumerate(pool.connections):
            base = retry_policy or RetryPolicy(max_retries=conn.max_retries)
            policy = MemberPolicy(max_retries=base.max_retries, base=base.base,
                                   factor=base.factor, max_backoff=base.max_backoff, rng=base.rng)
            hooks: dict[str, list[Callable[..., Any]]] = {
                k: list(v) for k, v in (event_hooks or {}).items()}
            hooks.setdefault("response", []).append(self._watch(i))
            client = ImageClient(conn, event_hooks=hooks, retry_policy=policy, **member_options)
            self._members.append(Member(i, conn, client))

    # -- lifecycle ----------------------------------------------------------------
    @classmethod
    def _takes(cls, conn: ConnectionLike) -> bool:
        return isinstance(conn, ConnectionPool)

    @classmethod
    def _make(cls, conn: ConnectionLike) -> ImageClient:
        if not isinstance(conn, ConnectionPool):
            raise ValidationError("conn", "must be an azimage_widgets ConnectionPool",
                                  type(conn).__name__)
        return cls(conn)

    @property
    def pool(self) -> ConnectionPool:
        return self._pool

    @property
    def connection(self) -> ConnectionPool:
        """The pool (the shared-client key, and what callers passed)."""
        return self._pool

    @property
    def expected_duration(self) -> float | None:
        values = [m.client.expected_duration for m in self._members
                  if m.client.expected_duration is not None]
        return max(values) if values else None

    async def __aenter__(self) -> PooledImageClient:
        if self._closed:
            raise RuntimeError("this ImageClient is closed")
        return self

    async def aclose(self) -> None:
        self._closed = True
        self._forget_shared()
        await asyncio.gather(*(m.client.aclose() for m in self._members))

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("this ImageClient is closed")
        if self._loop is None:
            self._loop = asyncio.get_running_loop()

    # -- cool-downs ----------------------------------------------------------------
    def _watch(self, index: int) -> Callable[[httpx.Response], Any]:
        async def on_response(resp: httpx.Response) -> None:
            member = self._members[index]
            if resp.status_code not in self._pool.failover_statuses:
                return
            if not member.conn.is_same_origin(str(resp.request.url)):
                return  # the image host's answers say nothing about the API's quota
            wait = parse_retry_after(resp.headers)
            self._cool(member, self._pool.cooldown if wait is None else wait)
            if resp.status_code == 429:
                member.throttled += 1
            else:
                member.failed += 1
        return on_response

    def _cool(self, member: Member, seconds: float) -> None:
        until = self._clock() + min(max(seconds, 0.0), MAX_RETRY_AFTER)
        member.cool_until = max(member.cool_until, until)

    def stats(self) -> list[dict[str, Any]]:
        """Per endpoint: submits accepted, 429s and 5xx seen, seconds of cool-down left."""
        now = self._clock()
        return [m.stats(now) for m in self._members]

    def _pick(self, tried: set[int]) -> Member | None:
        """The member whose pace frees a slot first (round-robin among equals) that is not
        cooling, not taken out and not yet tried for this submit: members share the work by
        their quotas."""
        now = self._clock()
        n = len(self._members)
        start = next(self._rr)
        free = [self._members[(start + k) % n] for k in range(n)]
        free = [m for m in free if m.index not in tried and not m.cooling(now) and not m.removed]
        return min(free, key=lambda m: m.pace.wait(pauses=False)) if free else None

    # -- owners of operations ----------------------------------------------------------
    def _own(self, op_id: str, member: Member) -> None:
        self._owners[op_id] = member.index
        self._owners.move_to_end(op_id)
        while len(self._owners) > _MAX_OWNERS:
            self._owners.popitem(last=False)

    def connection_for(self, op: str | ImageOperation) -> Connection | None:
        """The member connection that accepted ``op``, when this client knows it."""
        op_id = op.id if isinstance(op, ImageOperation) else op
        idx = self._owners.get(op_id)
        return None if idx is None else self._members[idx].conn

    def request_of(self, op: str | ImageOperation) -> dict[str, Any] | None:
        owner = self.connection_for(op)
        if owner is None:
            return None
        return self._members[self._owners[op.id if isinstance(op, ImageOperation) else op]] \
            .client.request_of(op)

    async def _owner(self, op: str | ImageOperation) -> Member:
        op_id = op.id if isinstance(op, ImageOperation) else op
        check_operation_id(op_id)
        idx = self._owners.get(op_id)
        if idx is not None:
            return self._members[idx]
        if isinstance(op, ImageOperation) and op.location:
            for m in self._members:
                if m.conn.is_same_origin(op.location):
                    self._own(op_id, m)
                    return m
        # not submitted here: ask each endpoint (a restarted kernel, another process)
        last: Exception | None = None
        for m in self._members:
            try:
                await m.client.get_operation(op_id)
            except ApiError as exc:
                if exc.status_code == 404:
                    last = exc
                    continue
                raise
            self._own(op_id, m)
            return m
        raise ApiError(404, "NotFound", f"operation {op_id} is not known to any endpoint of the pool",
                       operation_id=op_id) from last

    # -- the API ------------------------------------------------------------------------
    async def request_image(self, prompt: str, **kwargs: Any) -> ImageOperation:
        """Submit on the next free endpoint; fail over on throttling and server errors.

        Takes what ``ImageClient.request_image`` takes (size, n, user,
        api_version, extra_body, omit and the versions' settings: quality,
        style, ..., deployment), passed on unchanged: its signature is this
        method's (``inspect.signature`` shows it), so the two cannot drift
        apart. An argument ImageClient does not take is a TypeError before
        any endpoint is tried.
        """
        self._check_open()
        bound = _REQUEST_IMAGE.bind(self, prompt, **kwargs)  # TypeError like ImageClient's
        bound.apply_defaults()
        args = bound.arguments
        # invalid input is refused before any endpoint is tried (v1: by the member's model
        # rules, which its request_image checks before sending)
        version = args["api_version"] or self._pool.api_version
        if not uses_model_rules(version):
            ImageRequest(prompt=prompt, size=args["size"], n=args["n"], user=args["user"],
                         api_version=version,
                         **{k: args[k] for k in OPTION_NAMES if args.get(k) is not None})
        if "omit" in kwargs:
            kwargs["omit"] = tuple(kwargs["omit"])  # an iterator is read once, tried maybe often
        member, op = await self._place(args["n"], lambda m: m.client.request_image(prompt,
                                                                                   **kwargs))
        self._own(op.id, member)
        return op

    async def _place(self, n: Any, call: Callable[[Member], Awaitable[T]]) -> tuple[Member, T]:
        """``call(member)`` on the next free endpoint, failing over on throttling, server errors
        and connections never made; a 401/404 takes the member out. What a submit does."""
        if (gone := exhausted(self._members, None)) is not None:
            raise gone
        deadline = self._clock() + self._pool.max_wait
        tried: set[int] = set()
        last: Exception | None = None
        for _attempt in range(self._pool.max_attempts):
            member = self._pick(tried)
            if member is None:
                # every endpoint is cooling down or was tried: wait for the first to come back
                now = self._clock()
                cooling = [m.cool_until for m in self._members if m.cooling(now)]
                delay = max(min(cooling) - now, 0.01) if cooling else max(self._pool.cooldown, 0.01)
                if now + delay > deadline:
                    break
                await self._sleep(delay)
                tried.clear()
                member = self._pick(tried)
                if member is None:
                    continue
            tried.add(member.index)
            # the spacing of the member's quota; a 429's pause is the pool's cool-down above
            wait = member.pace.reserve(n if isinstance(n, int) else 1, pauses=False)
            if wait > 0:
                if self._clock() + wait > deadline:
                    break
                await self._sleep(wait)
            token = NO_RETRY.set(True)
            try:
                with already_paced():
                    value = await call(member)
            except ApiError as exc:
                if exc.status_code in (401, 404):
                    take_out(member, exc)
                    last = exc
                    if (gone := exhausted(self._members, exc.status_code)) is not None:
                        raise gone from exc
                    continue
                if not self._fails_over(exc):
                    raise
                if exc.status_code is None:  # the connection was never made
                    member.failed += 1
                    self._cool(member, self._pool.cooldown)
                last = exc
                continue
            finally:
                NO_RETRY.reset(token)
            member.submitted += 1
            return member, value
        if last is not None:
            raise last
        raise ApiError(None, "poolExhausted",
                       f"no endpoint of the pool took the request within {self._pool.max_wait:g} s")

    async def edit_image(self, image: Any, prompt: str, **kwargs: Any) -> ImageOperation:
        """``ImageClient.edit_image`` on the next free endpoint, failing over as a submit does."""
        self._check_open()
        member, op = await self._place(kwargs.get("n", 1),
                                       lambda m: m.client.edit_image(image, prompt, **kwargs))
        self._own(op.id, member)
        return op

    async def stream_image(self, prompt: str, **kwargs: Any
                           ) -> AsyncGenerator[PartialImage | ImageResult, None]:
        """``ImageClient.stream_image`` on the next free endpoint, failing over as a submit does
        until the first event has arrived. Once an event was handed on, a failure is the
        caller's: nothing is sent again, no event repeated."""
        self._check_open()

        async def first_event(member: Member) -> tuple[_Events, PartialImage | ImageResult]:
            events = member.client.stream_image(prompt, **kwargs)
            try:
                return events, await events.__anext__()
            except BaseException:
                await events.aclose()  # closes the response of a stream that failed
                raise

        member, (events, event) = await self._place(kwargs.get("n", 1), first_event)
        try:
            while True:
                if isinstance(event, ImageResult):
                    self._own(event.id, member)
                yield event
                try:
                    event = await events.__anext__()
                except StopAsyncIteration:
                    return
        finally:
            await events.aclose()

    def _fails_over(self, exc: ApiError) -> bool:
        if exc.status_code is not None:
            return exc.status_code in self._pool.failover_statuses
        cause = exc.__cause__
        return cause is not None and is_retryable("submit", error=cause)

    async def get_operation(self, op: str | ImageOperation, *,
                            api_version: str | None = None) -> ImageResult:
        self._check_open()
        member = await self._owner(op)
        return await member.client.get_operation(op, api_version=api_version)

    async def download_image(self, op: str | ImageOperation, *, timeout: float | None = None,
                             on_status: Any = None, api_version: str | None = None) -> ImageResult:
        self._check_open()
        member = await self._owner(op)
        return await member.client.download_image(op, timeout=timeout, on_status=on_status,
                                                   api_version=api_version)

    async def delete_operation(self, op: str | ImageOperation, *,
                               api_version: str | None = None) -> None:
        self._check_open()
        member = await self._owner(op)
        await member.client.delete_operation(op, api_version=api_version)

    async def fetch_image(self, url: str) -> bytes:
        """Fetched through the member on the URL's origin (else the first: no credentials go along)."""
        self._check_open()
        conn = self._pool.member_for_url(url)
        member = next((m for m in self._members if m.conn is conn), self._members[0])
        return await member.client.fetch_image(url)


#: ImageClient's constructor and request_image: the pool's take (and show) exactly the same.
_CLIENT_INIT = inspect.signature(ImageClient.__init__)
PooledImageClient.__init__.__signature__ = _CLIENT_INIT.replace(  # type: ignore[attr-defined]
    parameters=[p.replace(name="pool", annotation="ConnectionPool") if p.name == "conn" else p
                for p in _CLIENT_INIT.parameters.values()])

_REQUEST_IMAGE = inspect.signature(ImageClient.request_image)
PooledImageClient.request_image.__signature__ = _REQUEST_IMAGE  # type: ignore[attr-defined]


def client_for(conn: ConnectionLike, **options: Any) -> ImageClient:
    """A new client of ``conn``: a PooledImageClient for a ConnectionPool, else an ImageClient.

    ``options``: what ImageClient takes after the connection (transport, event_hooks, ...).
    """
    if isinstance(conn, ConnectionPool):
        return PooledImageClient(conn, **options)
    if not isinstance(conn, Connection):
        raise ValidationError("conn", "must be an azimage_widgets Connection or ConnectionPool",
                              type(conn).__name__)
    return ImageClient(conn, **options)


def shared_client(conn: ConnectionLike) -> ImageClient:
    """The shared client of ``conn`` on the running loop (see ``ImageClient.shared``), either kind."""
    cls = PooledImageClient if isinstance(conn, ConnectionPool) else ImageClient
    return cls.shared(conn)


__all__ = ["PooledImageClient", "client_for", "shared_client"]
