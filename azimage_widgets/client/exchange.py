"""One HTTP exchange: send, read the whole answer under a byte cap, all within one deadline.

httpx's timeouts are per operation (connect, each read): a server that sends
one header line or one body byte just inside the read timeout keeps an
exchange going forever. ``exchange`` bounds the whole of it (connect, headers
and body) by ``budget`` seconds and raises ExchangeTimeout past it. The body
is streamed and refused as soon as it passes ``max_bytes`` (or declares a
Content-Length over it), so an endless answer is never buffered; the bytes
come back in an Answer, the response object is closed.

The budget is the server's: when the client's last request hook is
``mark_sent``, it starts once the hooks ran, so a hook that waits on purpose
(a quota pace holding a submit back) does not eat it.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import anyio
import httpx

from ..contract.models import ParseError, load_answer
from .capped import TooLarge, read_capped


class ExchangeTimeout(httpx.ReadTimeout):
    """The whole exchange (connect, headers and body) took longer than its budget.

    A ReadTimeout: the answer did not arrive in time, and a submit cut off so
    may have been accepted (it is not sent again).
    """


@dataclass(frozen=True)
class Answer:
    """What the server answered, read whole: status, headers and body bytes."""

    status_code: int
    headers: httpx.Headers
    content: bytes
    reason_phrase: str = ""

    @property
    def is_success(self) -> bool:
        return 200 <= self.status_code < 300

    def json(self) -> Any:
        """The body as JSON the contract can hold; ParseError otherwise (see load_answer)."""
        return load_answer(self.content)

    def json_or_none(self) -> Any:
        """The body as JSON, or None when it is not JSON the contract can hold."""
        try:
            return self.json()
        except ParseError:
            return None


_SENT = "azimage_widgets.sent"


async def mark_sent(request: httpx.Request) -> None:
    """A request hook, to be the client's last: the exchange's deadline starts when it runs."""
    pending = request.extensions.pop(_SENT, None)
    if isinstance(pending, _Deadline):
        pending.start()


@dataclass
class _Deadline:
    """An exchange's cancel scope (no deadline until ``start``) and its budget."""

    scope: anyio.CancelScope
    budget: float

    def start(self) -> None:
        self.scope.deadline = anyio.current_time() + self.budget


def with_mark_sent(hooks: Mapping[str, list[Callable[..., Any]]]
                   ) -> dict[str, list[Callable[..., Any]]]:
    """``hooks`` with mark_sent last: an exchange's deadline starts after the hooks' waits."""
    return {**hooks, "request": [*hooks.get("request", []), mark_sent]}


async def exchange(http: httpx.AsyncClient, request: httpx.Request, *, budget: float | None,
                   max_bytes: int, too_large: TooLarge,
                   read_body: Callable[[int], bool] = lambda status: True) -> Answer:
    """Send ``request`` and read its answer, all within ``budget`` seconds (None: no bound).

    ``read_body(status)``: whether the body of an answer with that status is
    wanted (an image fetch skips the body of a refused link).
    """
    async def run() -> Answer:
        resp = await http.send(request, stream=True)
        try:
            body = await read_capped(resp, max_bytes, too_large) if read_body(resp.status_code) \
                else b""
        finally:
            await resp.aclose()
        return Answer(resp.status_code, resp.headers, body, resp.reason_phrase)

    if budget is None:
        return await run()
    deadline = _Deadline(anyio.CancelScope(), max(budget, 0.001))
    hooks = http.event_hooks.get("request") or []
    try:
        with deadline.scope:
            if hooks and hooks[-1] is mark_sent:
                # armed once the hooks ran (a pace's wait is not the server's time)
                request.extensions[_SENT] = deadline
            else:
                deadline.start()
            return await run()
    finally:
        request.extensions.pop(_SENT, None)
    # only a passed deadline ends the scope without an answer or an exception
    raise ExchangeTimeout(f"no complete answer within {deadline.budget:.3g} s", request=request)


__all__ = ["Answer", "ExchangeTimeout", "exchange", "mark_sent", "with_mark_sent"]
