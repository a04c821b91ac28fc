"""How fast one deployment may be sent generations: its Pace, configured or learned.

Image models are limited by quota (images or requests per minute per
deployment), not by the network. Sending a batch as fast as the client can
turns that quota into a storm of 429s; sending at the quota's pace takes the
same time without them. Every endpoint + deployment has one Pace per process
(``pace_for``), shared by every client that talks to it.

A Pace spaces submits evenly: one of ``n`` images takes ``60 * n / R``
seconds of an ``R`` images-per-minute quota. Its rate is the smallest of

- what the Connection says (``images_per_minute=``, ``requests_per_minute=``);
- what the service said: ``x-ratelimit-limit-requests``, or
  ``x-ratelimit-remaining-requests`` over ``x-ratelimit-reset-requests``;
- what a 429 taught: the images accepted in the minute before it, over the
  time from the first of them to the end of its ``Retry-After`` (that is what
  the quota's window let through, whatever the window's length).

A 429's ``Retry-After`` (or a remaining count of 0 with its reset) pauses the
Pace: no submit leaves before it ends. With no rate known yet, submits go at
once (the first 429 teaches the rate).

``pacing_hooks(conn)`` are the httpx event hooks that apply a connection's
Pace to its client: a submit waits for its slot before it is sent (a retry
too), and every submit's answer is observed.
"""
from __future__ import annotations

import asyncio
import contextvars
import json
import re
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from typing import Any
from urllib.parse import unquote, urlsplit

import httpx

from .retry import MAX_RETRY_AFTER, parse_retry_after

#: Seconds of past submits kept to learn a rate from a 429.
WINDOW = 60.0

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[Any]]

# Set while a caller (a pool) already waited for this submit's slot: the hooks must not wait again.
_PACED: contextvars.ContextVar[bool] = contextvars.ContextVar("azimage_paced", default=False)

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")
_SUBMIT_PATHS = ("/images/generations:submit", "/images/generations", "/images/edits")
_DEPLOYMENT_PATH = re.compile(r"/openai/deployments/([^/]+)/")


def _rate(name: str, value: float | None) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < float("inf"):
        raise ValueError(f"{name} must be a positive number per minute, not {value!r}")
    return float(value)


class Pace:
    """The submit schedule of one endpoint + deployment; see the module doc."""

    def __init__(self, *, images_per_minute: float | None = None,
                 requests_per_minute: float | None = None, clock: Clock = time.monotonic,
                 name: str = "") -> None:
        self.images_per_minute = _rate("images_per_minute", images_per_minute)
        self.requests_per_minute = _rate("requests_per_minute", requests_per_minute)
        self.name = name
        self._clock = clock
        #: Rates the service taught (per minute); None until it did.
        self.learned_images_per_minute: float | None = None
        self.learned_requests_per_minute: float | None = None
        self._next = 0.0          # monotonic time the next slot opens
        self._paused_until = 0.0  # no submit before this (a 429's Retry-After)
        self._accepted: deque[tuple[float, int]] = deque()  # (time, images) of accepted submits
        self.sent = 0
        self.accepted = 0
        self.throttled = 0

    # -- the rate -----------------------------------------------------------------
    def images_rate(self) -> float | None:
        """Images per minute this Pace sends at (None: not known, no pacing)."""
        known = [r for r in (self.images_per_minute, self.learned_images_per_minute) if r]
        return min(known) if known else None

    def requests_rate(self) -> float | None:
        known = [r for r in (self.requests_per_minute, self.learned_requests_per_minute) if r]
        return min(known) if known else None

    def interval(self, images: int = 1) -> float:
        """Seconds of quota one submit of ``images`` images uses (0 when no rate is known)."""
        spans = [0.0]
        ipm, rpm = self.images_rate(), self.requests_rate()
        if ipm:
            spans.append(60.0 * max(images, 1) / ipm)
        if rpm:
            spans.append(60.0 / rpm)
        return max(spans)

    @property
    def paced(self) -> bool:
        return self.images_rate() is not None or self.requests_rate() is not None

    # -- slots ---------------------------------------------------------------------
    def wait(self, *, pauses: bool = True) -> float:
        """Seconds from now until a submit could leave (nothing reserved).

        ``pauses=False``: the spacing only (a pool keeps its own cool-down after a 429).
        """
        now = self._clock()
        return max(self._next, self._paused_until if pauses else 0.0, now) - now

    def reserve(self, images: int = 1, *, pauses: bool = True) -> float:
        """Take the next slot for a submit of ``images``; seconds to wait before sending."""
        now = self._clock()
        start = max(self._next, self._paused_until if pauses else 0.0, now)
        self._next = start + self.interval(images)
        return start - now

    async def acquire(self, images: int = 1, sleep: Sleep = asyncio.sleep) -> float:
        """Wait for a slot (again, if a 429 paused the Pace meanwhile); seconds waited."""
        waited = 0.0
        while True:
            paused = self._paused_until
            delay = self.reserve(images)
            if delay > 0:
                await sleep(delay)
                waited += delay
            # again only for a pause that began while this one waited (a 429 meanwhile)
            if self._paused_until <= paused or self._paused_until <= self._clock():
                self.sent += 1
                return waited

    # -- learning --------------------------------------------------------------------
    def observe(self, status: int, headers: Mapping[str, str] | None = None,
                images: int = 1) -> None:
        """Learn from the answer to a submit of ``images`` images."""
        now = self._clock()
        headers = headers or {}
        while self._accepted and self._accepted[0][0] <= now - WINDOW:
            self._accepted.popleft()
        if 200 <= status < 300:
            self.accepted += 1
            self._accepted.append((now, max(images, 1)))
        elif status == 429:
            self.throttled += 1
            wait = parse_retry_after(headers)
            wait = 1.0 if wait is None else wait
            self.pause(wait)
            let_through = sum(n for _, n in self._accepted)
            if let_through and self.images_per_minute is None:
                # the quota let these through from the first of them until the retry time
                span = now - self._accepted[0][0] + max(wait, 0.1)
                learned = 60.0 * let_through / span
                known = self.learned_images_per_minute
                self.learned_images_per_minute = learned if known is None else min(known, learned)
        self._learn_headers(headers)

    def _learn_headers(self, headers: Mapping[str, str]) -> None:
        limit = _number(headers.get("x-ratelimit-limit-requests"))
        remaining = _number(headers.get("x-ratelimit-remaining-requests"))
        reset = parse_duration(headers.get("x-ratelimit-reset-requests"))
        if limit:
            self.learned_requests_per_minute = limit
        elif remaining and reset:
            self.learned_requests_per_minute = max(60.0 * remaining / reset, 1.0)
        for kind in ("requests", "tokens"):
            left = _number(headers.get(f"x-ratelimit-remaining-{kind}"))
            if left is not None and left <= 0:
                until = parse_duration(headers.get(f"x-ratelimit-reset-{kind}"))
                self.pause(until if until is not None else 1.0)

    def pause(self, seconds: float) -> None:
        """No submit leaves for ``seconds`` (capped like a Retry-After)."""
        until = self._clock() + min(max(seconds, 0.0), MAX_RETRY_AFTER)
        self._paused_until = max(self._paused_until, until)

    # -- what a batch shows ----------------------------------------------------------
    def eta(self, images_left: int) -> float | None:
        """Seconds until ``images_left`` more images are sent at this pace; None: no rate known."""
        ipm = self.images_rate()
        rpm = self.requests_rate()
        if ipm is None and rpm is None:
            return None
        per = self.interval(1)
        return self.wait() + max(images_left, 0) * per

    def stats(self) -> dict[str, Any]:
        return {"name": self.name, "images_per_minute": self.images_rate(),
                "requests_per_minute": self.requests_rate(), "sent": self.sent,
                "accepted": self.accepted, "throttled": self.throttled,
                "wait": round(self.wait(), 3)}

    def __repr__(self) -> str:
        ipm = self.images_rate()
        shown = f"{ipm:g} images/min" if ipm else "unpaced"
        return f"Pace({self.name!r}, {shown}, throttled={self.throttled})"


def combined_eta(paces: list[Pace], images_left: int) -> float | None:
    """ETA of ``images_left`` images spread over several paces (a pool): their rates add up."""
    rates = [p.images_rate() or (p.requests_rate() or 0.0) for p in paces]
    total = sum(rates)
    if not total:
        return None
    return min(p.wait() for p in paces) + 60.0 * max(images_left, 0) / total


def parse_duration(value: str | None) -> float | None:
    """Seconds of an ``x-ratelimit-reset-*`` value: ``"20"``, ``"1s"``, ``"6m0s"``, ``"250ms"``."""
    if value is None:
        return None
    text = value.strip().lower()
    plain = _number(text)
    if plain is not None:
        return plain
    total, pos = 0.0, 0
    for m in _DURATION_PART.finditer(text):
        if m.start() != pos:
            return None
        amount = float(m.group(1))
        total += {"ms": amount / 1000, "s": amount, "m": amount * 60, "h": amount * 3600}[m.group(2)]
        pos = m.end()
    return total if pos and pos == len(text) else None


def _number(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        n = float(value)
    except ValueError:
        return None
    return n if n >= 0 and n == n and n != float("inf") else None


# -- one Pace per endpoint + deployment ---------------------------------------------------
_PACES: dict[tuple[str, str], Pace] = {}


def pace_for(conn: Any, deployment: str | None = None) -> Pace:
    """The process-wide Pace of ``conn``'s endpoint and ``deployment`` (else the connection's).

    Made on first use with the connection's ``images_per_minute`` /
    ``requests_per_minute``; a later connection to the same deployment with
    other settings updates them.
    """
    dep = deployment or getattr(conn, "deployment", None) or ""
    key = (str(conn.endpoint), dep)
    ipm = getattr(conn, "images_per_minute", None)
    rpm = getattr(conn, "requests_per_minute", None)
    pace = _PACES.get(key)
    if pace is None:
        pace = _PACES[key] = Pace(images_per_minute=ipm, requests_per_minute=rpm,
                                  name=f"{key[0]} {dep}".strip())
    else:
        if ipm is not None:
            pace.images_per_minute = float(ipm)
        if rpm is not None:
            pace.requests_per_minute = float(rpm)
    return pace


def connection_paces(conn: Any) -> list[Pace]:
    """The Paces of a connection or of every member of a pool (every deployment seen on them)."""
    members = list(getattr(conn, "connections", None) or ([conn] if conn is not None else []))
    endpoints = {str(m.endpoint) for m in members}
    found = [p for (endpoint, _), p in _PACES.items() if endpoint in endpoints]
    return found or [pace_for(m) for m in members]


def batch_eta(conn: Any, images_left: int, *, elapsed: float = 0.0, done: int = 0,
              total: int = 0) -> float | None:
    """Seconds a batch still needs: from the pace of its connection (or pool) when known,
    else from the rate it went at so far; None when neither is known yet."""
    eta = combined_eta(connection_paces(conn), images_left)
    if eta is None and done > 0 and elapsed > 0:
        eta = elapsed / done * max(total - done, 0)
    return eta


def format_eta(seconds: float | None) -> str:
    """``about 2 min 10 s left`` (empty when unknown)."""
    if seconds is None:
        return ""
    s = max(int(round(seconds)), 0)
    if s < 60:
        return f"about {s} s left"
    m, s = divmod(s, 60)
    if m < 60:
        return f"about {m} min {s} s left" if s else f"about {m} min left"
    h, m = divmod(m, 60)
    return f"about {h} h {m} min left"


def forget_paces() -> None:
    """Drop every learned Pace (tests; a new quota)."""
    _PACES.clear()


# -- applying it to a client's requests ---------------------------------------------------
def submit_images(request: httpx.Request) -> int | None:
    """Images a request generates (its ``n``), or None when it is not a generation."""
    if request.method != "POST" or not urlsplit(str(request.url)).path.endswith(_SUBMIT_PATHS):
        return None
    try:
        body = json.loads(request.content or b"{}")
    except (ValueError, UnicodeDecodeError, httpx.RequestNotRead):
        return 1  # a multipart edit: its n is a form field; one is the usual
    n = body.get("n", 1) if isinstance(body, dict) else 1
    return n if isinstance(n, int) and not isinstance(n, bool) and n > 0 else 1


def request_deployment(request: httpx.Request) -> str | None:
    """The deployment a generation goes to: from the path, else the v1 body's ``model``."""
    m = _DEPLOYMENT_PATH.search(str(request.url))
    if m:
        return unquote(m.group(1))
    try:
        body = json.loads(request.content or b"{}")
    except (ValueError, UnicodeDecodeError, httpx.RequestNotRead):
        return None
    model = body.get("model") if isinstance(body, dict) else None
    return model if isinstance(model, str) else None


class already_paced:  # noqa: N801 - used like a function: ``with already_paced():``
    """Within it, the pacing hooks do not wait (the caller reserved the slot itself)."""

    def __enter__(self) -> None:
        self._token = _PACED.set(True)

    def __exit__(self, *exc: object) -> None:
        _PACED.reset(self._token)


def _pace_of(conn: Any, request: httpx.Request) -> Pace:
    """The connection's deployment wins (what a pool member is known by); else the request's."""
    return pace_for(conn, None if getattr(conn, "deployment", None) else request_deployment(request))


def _body(request: httpx.Request) -> bytes | None:
    try:
        return request.content
    except httpx.RequestNotRead:
        return None


def pacing_hooks(conn: Any, sleep: Sleep = asyncio.sleep) -> dict[str, list[Callable[..., Any]]]:
    """httpx event hooks that pace ``conn``'s generations and learn from their answers."""

    # bodies of submits answered 429: the client retries them after the Retry-After itself,
    # so their retry takes the next slot without waiting for that pause a second time
    told: deque[bytes] = deque(maxlen=64)

    async def on_request(request: httpx.Request) -> None:
        images = submit_images(request)
        if images is None or _PACED.get() or not conn.is_same_origin(str(request.url)):
            return
        pace = _pace_of(conn, request)
        body = _body(request)
        if body is not None and body in told:
            told.remove(body)
            delay = pace.reserve(images, pauses=False)
            if delay > 0:
                await sleep(delay)
            return
        await pace.acquire(images, sleep)

    async def on_response(response: httpx.Response) -> None:
        request = response.request
        images = submit_images(request)
        if images is None or not conn.is_same_origin(str(request.url)):
            return
        _pace_of(conn, request).observe(
            response.status_code, response.headers, images)
        body = _body(request)
        if response.status_code == 429 and body is not None:
            told.append(body)

    return {"request": [on_request], "response": [on_response]}


def with_pacing(conn: Any, hooks: Mapping[str, list[Callable[..., Any]]] | None,
                sleep: Sleep = asyncio.sleep) -> dict[str, list[Callable[..., Any]]]:
    """``hooks`` with the pacing hooks of ``conn`` added (first, so a slot is waited before
    others run); ``sleep``: how they wait (a client's own seam)."""
    merged: dict[str, list[Callable[..., Any]]] = {k: list(v) for k, v in (hooks or {}).items()}
    for kind, fns in pacing_hooks(conn, sleep).items():
        merged[kind] = fns + merged.get(kind, [])
    return merged


__all__ = ["Pace", "already_paced", "batch_eta", "combined_eta", "connection_paces",
           "forget_paces", "format_eta", "pace_for", "pacing_hooks",
           "parse_duration", "request_deployment", "submit_images", "with_pacing"]
