"""The poll loop: wait for an operation to reach a terminal status.

The service's ``Retry-After`` wins when it sends one. Otherwise the gap between
polls starts at 0.2 s and grows 1.5x up to 0.8 s, so a short job is seen done
soon after it finishes without hammering the service on long ones. When the
client has learned how long jobs take (``DurationEstimate``), the schedule
lands a poll on the expected finish and then polls finely around it, so a
batch of similar jobs is not slowed by the backoff. Every terminal status
(succeeded, failed, canceled, deleted) stops the loop at once.
"""
from __future__ import annotations

import asyncio
import inspect
import time
from dataclasses import dataclass
from typing import Any, Awaitable, Callable

from ..contract import ImageResult, OperationTimeout

#: One poll: the operation as the service reports it, and its Retry-After (seconds) if any.
PollFn = Callable[[], Awaitable[tuple[ImageResult, "float | None"]]]
StatusCallback = Callable[[ImageResult], Any]
#: The shortest gap between polls, whatever the service says.
MIN_GAP = 0.05


@dataclass(frozen=True)
class PollSchedule:
    """Gaps between polls when the service names none."""

    first: float = 0.2
    factor: float = 1.5
    cap: float = 0.8
    #: Seconds after submit the job is expected to finish (learned), or None.
    expected: float | None = None
    fine_step: float = 0.1
    fine_window: float = 0.5

    def next_delay(self, elapsed: float, attempt: int) -> float:
        """Gap after a poll made ``elapsed`` s after submit, ``attempt`` gaps into the loop."""
        gap = min(self.cap, self.first * self.factor ** attempt)
        if self.expected is None:
            return gap
        until = self.expected - elapsed
        if until > self.fine_step / 2:
            return min(gap, until)  # never sleep past the expected finish
        if until > -self.fine_window:
            return self.fine_step
        return gap


class DurationEstimate:
    """A running estimate of how long a job takes, from the polls that bracketed its finish."""

    def __init__(self, alpha: float = 0.3) -> None:
        self.alpha = alpha
        self.value: float | None = None

    def observe(self, lower: float, upper: float) -> None:
        """The job was still running ``lower`` s after submit and done at ``upper`` s."""
        if upper < lower or upper <= 0:
            return
        mid = (lower + upper) / 2
        self.value = mid if self.value is None else self.value + self.alpha * (mid - self.value)


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
) -> PollOutcome:
    """Poll until a terminal status; OperationTimeout after ``timeout`` seconds.

    ``submitted_at`` (a ``clock()`` time) counts the submit as the first look,
    so the first poll waits one gap instead of asking at once.
    """
    start = clock()
    deadline = start + timeout
    ref = submitted_at if submitted_at is not None else start
    if submitted_at is not None:
        wait = ref + schedule.next_delay(0.0, 0) - start
        if wait > 0:
            await sleep(min(wait, timeout))
    polls = 0
    attempt = 1 if submitted_at is not None else 0
    last_pending = 0.0
    while True:
        result, retry_after = await poll()
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
            delay = max(retry_after, MIN_GAP)  # "Retry-After: 0" must not spin
        else:
            delay = schedule.next_delay(now - ref, attempt)
        attempt += 1
        await sleep(min(delay, remaining))
