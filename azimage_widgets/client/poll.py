"""The poll loop: wait for an operation to reach a terminal status.

The service's ``Retry-After`` wins when it sends one. Otherwise:

- Before the client knows how long jobs take, the gap between polls starts at
  0.2 s and grows 1.5x up to 0.8 s (polls at 0.2, 0.5, 0.95, 1.63, 2.43 s...),
  so a short job is seen done soon after it finishes without hammering the
  service on long ones. Operations polled at the same time get different
  ``phase``s: each one's polls fall between the default ones, so together they
  sample the timeline finely, and the first one to see its job done tells the
  others (below). A lone operation has phase 0, the default sequence.
- Every job seen done narrows a bracket of how long jobs take
  (``DurationEstimate``: still running at ``lower`` s after submit, done by
  ``upper`` s). With a bracket, an operation sleeps to its middle, polls, and
  if the job is still running polls at ``upper``; past that, gaps from 30 ms
  doubling back to the cap (jobs got slower: the bracket moves when that one
  finishes). So a batch of similar jobs is seen done within a few tens of
  milliseconds of finishing, with two or three polls each.
- Polls that sleep while the estimate changes (another operation saw its job
  done) wake and re-plan: an operation already past the new ``upper`` polls at
  once.

Every terminal status (succeeded, failed, canceled, deleted) stops the loop at once.
"""
from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, replace
from typing import Any

from ..contract.errors import OperationTimeout
from ..contract.models import ImageResult

#: One poll: the operation as the service reports it, and its Retry-After (seconds) if any.
PollFn = Callable[[], Awaitable[tuple[ImageResult, "float | None"]]]
StatusCallback = Callable[[ImageResult], Any]
#: The shortest gap between polls, whatever the service says.
MIN_GAP = 0.05
#: The shortest gap between polls past a learned ``upper`` bound, and the narrowest bracket
#: worth a poll in its middle.
MIN_STEP = 0.03
#: Phases of concurrent operations: multiples of the golden ratio, spread evenly over [0, 1).
_GOLDEN = 0.6180339887498949


class DeadlinePassed(Exception):
    """A poll cut off by the poll deadline, not by the per-request timeout.

    The poll function raises it (from the transport's timeout) when the time
    the deadline left ran out mid-answer; ``poll_until_terminal`` ends it as
    OperationTimeout with the operation id and the last status seen.
    """


def phase_of(index: int) -> float:
    """The stagger of the ``index``-th operation being polled at once (0 for the first)."""
    return (index * _GOLDEN) % 1.0


@dataclass(frozen=True)
class PollSchedule:
    """Gaps between polls when the service names none."""

    first: float = 0.2
    factor: float = 1.5
    cap: float = 0.8
    #: Seconds after submit the job is expected to be done (learned), or None.
    expected: float | None = None
    fine_step: float = 0.1
    fine_window: float = 0.5
    #: Seconds after submit the job was last known still running (learned), or None. With
    #: ``expected`` it makes a bracket: poll in its middle, then at ``expected``.
    lower: float | None = None
    #: 0..1: where between the default poll times this operation's polls fall (see phase_of).
    phase: float = 0.0

    def _gap(self, attempt: int) -> float:
        return min(self.cap, self.first * self.factor ** attempt)

    @property
    def bracket(self) -> tuple[float, float] | None:
        """(lower, upper) when both are learned and make sense, else None."""
        lo, up = self.lower, self.expected
        if lo is None or up is None or not 0 <= lo < up:
            return None
        return lo, up

    def next_delay(self, elapsed: float, attempt: int) -> float:
        """Gap after a poll made ``elapsed`` s after submit, ``attempt`` gaps into the loop."""
        br = self.bracket
        if br is not None:
            lo, up = br
            mid = (lo + up) / 2
            if up - lo > 2 * MIN_STEP and elapsed < mid - MIN_STEP / 2:
                return mid - elapsed  # the middle of the bracket first
            if elapsed < up - MIN_STEP / 2:
                return up - elapsed  # then its upper end: done by then, as far as is known
            # still running past it: a small gap, then doubling ones back to the cap
            return min(self.cap, max(MIN_STEP, elapsed - up + MIN_STEP))
        gap = self._gap(attempt)
        if self.phase:
            gap = (1 - self.phase) * gap + self.phase * self._gap(attempt + 1)
        if self.expected is None:
            return gap
        until = self.expected - elapsed
        if until > self.fine_step / 2:
            return min(gap, until)  # never sleep past the expected finish
        if until > -self.fine_window:
            return self.fine_step
        return gap

    def wake_delay(self, elapsed: float, attempt: int) -> float:
        """Like next_delay, after the estimate changed while sleeping: 0 when due already."""
        if self.expected is not None and elapsed >= self.expected:
            return 0.0
        return self.next_delay(elapsed, attempt)


class DurationEstimate:
    """How long jobs take, learned from the polls that bracketed each one's finish.

    ``value``: a running average of the brackets' middles (``expected_duration``).
    ``lower``/``upper``: the tightest bracket seen (still running at ``lower`` s
    after submit, done by ``upper`` s); an observation outside it (a job done
    before ``lower``, or running past ``upper``) replaces it, so it follows jobs
    that got faster or slower; a job done at its first poll when the bracket is
    too narrow for a middle poll reopens it downwards (faster jobs would not show
    otherwise). Poll loops sleeping in
    ``wait`` wake on every change.
    """

    def __init__(self, alpha: float = 0.3) -> None:
        self.alpha = alpha
        self.value: float | None = None
        self.lower: float | None = None
        self.upper: float | None = None
        self._waiters: set[asyncio.Future[bool]] = set()

    def observe(self, lower: float, upper: float) -> None:
        """The job was still running ``lower`` s after submit (0: never seen so) and done at ``upper`` s."""
        if upper < lower or upper <= 0:
            return
        mid = (lower + upper) / 2
        self.value = mid if self.value is None else self.value + self.alpha * (mid - self.value)
        lo = lower if lower > 0 else None
        if self.upper is None or (lo is not None and lo >= self.upper) \
                or (self.lower is not None and upper <= self.lower):
            # first, or outside the bracket: start again (never seen running: from 0)
            self.lower, self.upper = (lo if lo is not None else 0.0), upper
        else:
            self.upper = min(self.upper, upper)
            if lo is not None:
                self.lower = max(self.lower or 0.0, lo)
            elif self.upper - (self.lower or 0.0) <= 2 * MIN_STEP:  # lower is set with upper
                # done at its first look at a bracket too narrow for a middle poll: jobs may
                # have got faster, which polls at the upper end would never show; reopen it
                # downwards by a quarter, so the next one looks in between
                self.lower = max(0.0, self.upper - max(4 * MIN_STEP, self.upper / 4))
        for fut in self._waiters:
            if not fut.done():
                fut.set_result(True)

    def schedule(self, base: PollSchedule) -> PollSchedule:
        """``base`` with what has been learned (unchanged before the first observation)."""
        if self.upper is None:
            return base
        return replace(base, expected=self.upper, lower=self.lower)

    async def wait(self, seconds: float) -> bool:
        """Sleep ``seconds``; True when woken early because the estimate changed."""
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[bool] = loop.create_future()
        handle = loop.call_later(seconds, _resolve, fut)
        self._waiters.add(fut)
        try:
            return await fut
        finally:
            handle.cancel()
            self._waiters.discard(fut)


class DurationEstimates:
    """One DurationEstimate per kind of job (a key: api version, size, n), the newest 64 kept.

    ``last``: the estimate that saw a job done most recently (``expected_duration``).
    """

    def __init__(self, limit: int = 64) -> None:
        self._by_key: dict[Hashable, DurationEstimate] = {}
        self._limit = limit
        self.last = DurationEstimate()

    def of(self, key: Hashable) -> DurationEstimate:
        estimate = self._by_key.get(key)
        if estimate is None:
            estimate = self._by_key[key] = DurationEstimate()
            while len(self._by_key) > self._limit:
                del self._by_key[next(iter(self._by_key))]
        return estimate

    def observe(self, estimate: DurationEstimate, lower: float, upper: float) -> None:
        estimate.observe(lower, upper)
        self.last = estimate


def _resolve(fut: asyncio.Future[bool]) -> None:
    if not fut.done():
        fut.set_result(False)


@dataclass(frozen=True)
class PollOutcome:
    """The terminal result and what the loop saw on the way."""

    result: ImageResult
    polls: int
    #: Seconds after the reference time when the job was last seen unfinished (0 if never).
    last_pending: float
    #: Seconds after the reference time when it was first seen terminal.
    first_done: float


async def call_back(fn: Callable[..., Any] | None, *args: Any) -> None:
    """Call a user callback, sync or async."""
    if fn is None:
        return
    value = fn(*args)
    if inspect.isawaitable(value):
        await value


async def poll_until_terminal(
    poll: PollFn,
    *,
    operation_id: str,
    timeout: float,
    schedule: PollSchedule = PollSchedule(),
    submitted_at: float | None = None,
    on_status: StatusCallback | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    estimate: DurationEstimate | None = None,
) -> PollOutcome:
    """Poll until a terminal status; OperationTimeout after ``timeout`` seconds.

    A poll that ``poll`` ends with DeadlinePassed (the deadline ran out while it
    was answered) is an OperationTimeout too.

    ``submitted_at`` (a ``clock()`` time) counts the submit as the first look,
    so the first poll waits one gap instead of asking at once.
    ``estimate``: what this client learned of job durations, read afresh before
    every wait (with ``submitted_at`` only); a wait ends early when it changes.
    """
    start = clock()
    deadline = start + timeout
    ref = submitted_at if submitted_at is not None else start
    learn = estimate if submitted_at is not None else None

    def plan() -> PollSchedule:
        return learn.schedule(schedule) if learn is not None else schedule

    async def wait(delay: float, attempt: int) -> None:
        """Sleep ``delay`` (re-planned when the estimate changes), never past the deadline."""
        delay = min(delay, deadline - clock())
        if learn is None or sleep is not asyncio.sleep:
            if delay > 0:
                await sleep(delay)
            return
        while delay > 0 and await learn.wait(delay):
            now = clock()
            delay = min(plan().wake_delay(now - ref, attempt), deadline - now)

    if submitted_at is not None:
        await wait(ref + plan().next_delay(0.0, 0) - start, 0)
    polls = 0
    attempt = 1 if submitted_at is not None else 0
    last_pending = 0.0
    last_status: str | None = None
    while True:
        try:
            result, retry_after = await poll()
        except DeadlinePassed as exc:
            raise OperationTimeout(operation_id, timeout, last_status) from exc
        last_status = result.status
        polls += 1
        await call_back(on_status, result)
        now = clock()
        if result.done:
            return PollOutcome(result, polls, last_pending, now - ref)
        last_pending = now - ref
        remaining = deadline - now
        if remaining <= 0:
            raise OperationTimeout(operation_id, timeout, result.status)
        if retry_after is not None:
            await sleep(min(max(retry_after, MIN_GAP), remaining))  # "Retry-After: 0" must not spin
        else:
            await wait(plan().next_delay(now - ref, attempt), attempt + 1)
        attempt += 1


class Poller:
    """Polls operations to their end for one client.

    Operations polled at once get staggered phases (together they sample
    finely), and what each job that succeeded took is learned per kind of job
    (``key``: api version, size, n), so the next one is polled near its end.
    """

    def __init__(self, schedule: PollSchedule) -> None:
        self._schedule = schedule
        self._polling = 0  # operations being polled now
        self.estimates = DurationEstimates()

    async def until_terminal(self, poll: PollFn, *, operation_id: str, timeout: float,
                             submitted_at: float | None, on_status: StatusCallback | None,
                             key: Hashable) -> ImageResult:
        """The terminal result (see poll_until_terminal)."""
        estimate = self.estimates.of(key)
        schedule = replace(self._schedule, phase=phase_of(self._polling))
        self._polling += 1
        try:
            outcome = await poll_until_terminal(
                poll, operation_id=operation_id, timeout=timeout, schedule=schedule,
                submitted_at=submitted_at, on_status=on_status, estimate=estimate)
        finally:
            self._polling -= 1
        if outcome.result.succeeded and submitted_at is not None:
            self.estimates.observe(estimate, outcome.last_pending, outcome.first_done)
        return outcome.result
