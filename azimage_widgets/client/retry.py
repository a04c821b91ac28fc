"""When to retry a request, and how long to wait first.

Polls, deletes and image fetches are idempotent: they retry on 429, 500, 502,
503, 504 and on network errors. A submit creates a billed generation, so it
is retried only when the server certainly did not accept it: the connection
was never made, or it answered 429 / 503 (both mean "not taken"). A read
timeout, a 500/502/504 or a connection dropped after sending may hide an
accepted job, and retrying those would make duplicate generations.

``send_with_retries`` is the retry step of the send chain: it repeats one
exchange (see exchange.py) while the policy allows, and never past a deadline.
"""
from __future__ import annotations

import asyncio
import email.utils
import logging
import math
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx

from .exchange import Answer

log = logging.getLogger("azimage_widgets.client")

#: HTTP statuses worth retrying for an idempotent request.
RETRY_STATUSES: frozenset[int] = frozenset({429, 500, 502, 503, 504})
#: Statuses that prove a submit was not accepted.
SUBMIT_RETRY_STATUSES: frozenset[int] = frozenset({429, 503})
#: A server asking for longer than this is still honoured only up to this cap.
MAX_RETRY_AFTER = 60.0

RequestKind = Literal["submit", "idempotent"]

# The request never left this machine (or never reached a server).
_NOT_SENT_ERRORS: tuple[type[Exception], ...] = (
    httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout,
)
# Refused by this machine before a byte went out: retrying cannot help, but nothing was sent.
_REFUSED_LOCALLY: tuple[type[Exception], ...] = (httpx.LocalProtocolError, httpx.UnsupportedProtocol)
# Anything else that went wrong on the wire; retried only for idempotent requests.
_TRANSIENT_ERRORS: tuple[type[Exception], ...] = (
    httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError,
)


def parse_retry_after(
    headers: Mapping[str, str] | None, *, now: float | None = None, cap: float = MAX_RETRY_AFTER
) -> float | None:
    """Seconds to wait from ``retry-after-ms`` or ``Retry-After`` (seconds or HTTP-date).

    None when absent or unreadable; never negative; at most ``cap``.
    """
    if not headers:
        return None
    ms = headers.get("retry-after-ms")
    if ms is not None:
        seconds = _number(ms)
        if seconds is not None:
            return min(seconds / 1000.0, cap)
    value = headers.get("retry-after")
    if value is None:
        return None
    return parse_retry_after_value(value, now=now, cap=cap)


def parse_retry_after_value(value: str, *, now: float | None = None,
                            cap: float = MAX_RETRY_AFTER) -> float | None:
    """One Retry-After header value -> seconds (see ``parse_retry_after``)."""
    seconds = _number(value)
    if seconds is None:
        try:
            when = email.utils.parsedate_to_datetime(value.strip())
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        if when is None:
            return None
        if when.tzinfo is None:  # an HTTP-date is always GMT
            import datetime as _dt

            when = when.replace(tzinfo=_dt.timezone.utc)
        seconds = max(0.0, when.timestamp() - (time.time() if now is None else now))
    return min(seconds, cap)


def _number(text: str) -> float | None:
    try:
        value = float(str(text).strip())
    except ValueError:
        return None
    if math.isnan(value) or math.isinf(value) or value < 0:
        return None
    return value


def never_sent(error: BaseException) -> bool:
    """True when ``error`` proves the request never reached a server (so it cannot be a job)."""
    return isinstance(error, _NOT_SENT_ERRORS + _REFUSED_LOCALLY)


def is_retryable(kind: RequestKind, *, status: int | None = None,
                 error: BaseException | None = None) -> bool:
    """Whether a request of ``kind`` that got ``status`` (or raised ``error``) may be sent again."""
    if error is not None:
        if isinstance(error, _NOT_SENT_ERRORS):
            return True
        return kind == "idempotent" and isinstance(error, _TRANSIENT_ERRORS)
    if status is None:
        return False
    if kind == "submit":
        return status in SUBMIT_RETRY_STATUSES
    return status in RETRY_STATUSES


@dataclass
class RetryPolicy:
    """Bounded retries with exponential backoff and jitter, unless the server names a delay."""

    max_retries: int = 4
    base: float = 0.5
    factor: float = 2.0
    max_backoff: float = 8.0
    rng: random.Random = field(default_factory=random.Random, repr=False)

    def backoff(self, attempt: int) -> float:
        """Delay before retry number ``attempt`` (0-based): half fixed, half random."""
        ceiling = min(self.max_backoff, self.base * self.factor ** attempt)
        return ceiling / 2 + self.rng.uniform(0, ceiling / 2)

    def delay(self, attempt: int, retry_after: float | None) -> float:
        """The server's Retry-After when it sent one, else the backoff."""
        return retry_after if retry_after is not None else self.backoff(attempt)

    def can_retry(self, attempt: int) -> bool:
        """True while ``attempt`` (retries done so far) is below the bound."""
        return attempt < self.max_retries


#: One attempt: send and read the answer within the given seconds (None: no total bound).
SendOnce = Callable[["float | None"], Awaitable[Answer]]


async def send_with_retries(
    send_once: SendOnce,
    *,
    kind: RequestKind,
    policy: RetryPolicy,
    timeout: float | None,
    deadline: float | None = None,
    sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    what: str = "request",
) -> Answer:
    """The answer of the last attempt (any status) after bounded retries of ``send_once``.

    Each attempt gets ``timeout`` seconds, cut to what ``deadline`` (a
    ``time.monotonic()`` time) leaves; no retry starts when its wait would end
    past the deadline. The last attempt's httpx.HTTPError is raised as is.
    ``what`` names the request in debug logs (method and URL without query).
    """
    attempt = 0
    while True:
        try:
            answer = await send_once(time_left(timeout, deadline))
        except httpx.HTTPError as exc:
            log.debug("%s -> %s", what, type(exc).__name__)
            if is_retryable(kind, error=exc) and policy.can_retry(attempt):
                delay = policy.delay(attempt, None)
                if fits(deadline, delay):
                    attempt += 1
                    await sleep(delay)
                    continue
            raise
        log.debug("%s -> %s", what, answer.status_code)
        if answer.is_success:
            return answer
        if is_retryable(kind, status=answer.status_code) and policy.can_retry(attempt):
            delay = policy.delay(attempt, parse_retry_after(answer.headers))
            if fits(deadline, delay):
                log.debug("retry %s in %.2f s (HTTP %s)", what, delay, answer.status_code)
                attempt += 1
                await sleep(delay)
                continue
        return answer


def time_left(timeout: float | None, deadline: float | None) -> float | None:
    """Seconds an attempt may take: ``timeout``, and no later than ``deadline``."""
    budgets = [b for b in (timeout, None if deadline is None else deadline - time.monotonic())
               if b is not None]
    return max(min(budgets), 0.001) if budgets else None


def passed(deadline: float | None) -> bool:
    """True once ``deadline`` (a ``time.monotonic()`` time, or None for none) is past."""
    return deadline is not None and time.monotonic() >= deadline


def fits(deadline: float | None, delay: float) -> bool:
    """True when waiting ``delay`` seconds still ends before ``deadline``."""
    return deadline is None or time.monotonic() + delay < deadline
