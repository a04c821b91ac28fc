"""One shared client per (event loop, connection), closed with its loop.

Widgets and other long-lived callers share a client instead of opening a
connection pool per request. An httpx.AsyncClient belongs to the loop it was
made on, so the registry is keyed by loop too. A shared client is closed by
``close_shared`` (``Connection.aclose``), or by its loop's shutdown:
``asyncio.run`` and friends run ``loop.shutdown_asyncgens()``, which
finalizes a small async generator this module parks on each loop.
"""
from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Callable
from typing import Protocol, TypeVar


class Closable(Protocol):
    """What the registry needs of a client."""

    @property
    def closed(self) -> bool: ...

    async def aclose(self) -> None: ...


C = TypeVar("C", bound=Closable)

_clients: dict[tuple[asyncio.AbstractEventLoop, object], Closable] = {}
# a strong reference to each loop's closer, so garbage collection does not finalize it early
_closers: dict[asyncio.AbstractEventLoop, AsyncGenerator[None, None]] = {}


def get_shared(conn: object, make: Callable[[], C], *, fits: bool = True) -> C:
    """The shared client of ``conn`` on the running loop; ``make()`` builds it on first use
    (and whenever ``fits`` is False: the caller's kind of client cannot serve ``conn``)."""
    loop = asyncio.get_running_loop()
    for key in [k for k in _clients if k[0].is_closed()]:
        del _clients[key]
    for dead in [lp for lp in _closers if lp.is_closed()]:
        del _closers[dead]
    client = _clients.get((loop, conn)) if fits else None
    if client is None or client.closed:
        made = make()
        _clients[(loop, conn)] = made
        _install_loop_closer(loop)
        return made
    return client  # type: ignore[return-value]  # made by the same kind of ``make``


def forget(client: Closable) -> None:
    """``client`` is no longer shared by anyone (it is closing)."""
    for key in [k for k, c in _clients.items() if c is client]:
        del _clients[key]


async def close_shared(conn: object | None = None) -> None:
    """Close the shared clients of ``conn`` (all if None): on the running loop now, on other
    live loops in the background, on their own loop."""
    loop = asyncio.get_running_loop()
    await _close_on(loop, conn)
    for (other, c), client in list(_clients.items()):
        if other is loop or (conn is not None and c is not conn):
            continue
        del _clients[(other, c)]
        if not other.is_closed() and other.is_running():
            asyncio.run_coroutine_threadsafe(client.aclose(), other)


async def _close_on(loop: asyncio.AbstractEventLoop, conn: object | None) -> None:
    for (lp, c), client in list(_clients.items()):
        if lp is loop and (conn is None or c is conn):
            await client.aclose()


def _install_loop_closer(loop: asyncio.AbstractEventLoop) -> None:
    if loop in _closers:
        return

    async def closer() -> AsyncGenerator[None, None]:  # finalized by loop.shutdown_asyncgens()
        try:
            yield
        finally:
            _closers.pop(loop, None)
            await _close_on(loop, None)

    gen = closer()
    _closers[loop] = gen

    async def start() -> None:  # the first step registers gen with the loop's asyncgen hooks
        await gen.__anext__()

    loop.create_task(start())


__all__ = ["Closable", "close_shared", "forget", "get_shared"]
