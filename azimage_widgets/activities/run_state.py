"""The public run state of an activity: one frozen value, replaced as a run moves on.

A run goes ``idle -> running -> (submitted | succeeded | completed | failed |
canceled)``; ``deleted`` follows a delete at the service. Each change makes a
new ``RunState`` (frozen, so an observer's old value stays true), which the
activity holds in its ``state`` trait: one trait for panels and scripts to
observe, instead of several traits set one after another.

``running`` and ``elapsed`` are derived from the status and the start / end
times, not stored: nothing has to tick to keep them current.
"""
from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any


class RunStatus(str, Enum):
    """Where a run is. The values are the strings the panels show."""

    IDLE = "idle"
    RUNNING = "running"
    SUBMITTED = "submitted"  # Request Image without follow-through: ids known, no images yet
    SUCCEEDED = "succeeded"
    COMPLETED = "completed"  # a batch with continue on error: some datasets failed
    FAILED = "failed"
    CANCELED = "canceled"
    DELETED = "deleted"

    @property
    def finished(self) -> bool:
        """True when no run is going on (every status but ``running``)."""
        return self is not RunStatus.RUNNING

    def __str__(self) -> str:
        return self.value


def now() -> float:
    """The clock of run times (monotonic seconds)."""
    return time.monotonic()


@dataclass(frozen=True)
class RunState:
    """The last (or current) run of an activity.

    ``ids``: the operation ids it made or read; ``results``: per operation
    (or dataset) its DownloadResult or None; ``value``: what the run returned
    (Operations, a DownloadResult, RunResults), None until it ends.
    """

    status: RunStatus = RunStatus.IDLE
    message: str = ""
    error: Mapping[str, Any] | None = None
    started: float | None = None
    ended: float | None = None
    ids: tuple[str, ...] = ()
    results: tuple[Any, ...] = ()
    value: Any = field(default=None, compare=False)

    @property
    def running(self) -> bool:
        return self.status is RunStatus.RUNNING

    @property
    def elapsed(self) -> float:
        """Seconds since the run started (until it ended); 0 before any run."""
        if self.started is None:
            return 0.0
        end = self.ended if self.ended is not None else now()
        return max(0.0, end - self.started)

    def begin(self) -> RunState:
        """A new run: running, no error, the outputs of the last run kept until replaced."""
        return replace(self, status=RunStatus.RUNNING, message="", error=None,
                       started=now(), ended=None)

    def end(self, status: RunStatus, message: str = "",
            error: Mapping[str, Any] | None = None) -> RunState:
        """The run ended with ``status``."""
        ended = now() if self.started is not None else None
        return replace(self, status=status, message=message, error=error, ended=ended)

    def with_outputs(self, *, ids: Any = None, results: Any = None, value: Any = None) -> RunState:
        """The same state with the given outputs replaced (None: kept)."""
        changes: dict[str, Any] = {}
        if ids is not None:
            changes["ids"] = tuple(ids)
        if results is not None:
            changes["results"] = tuple(results)
        if value is not None:
            changes["value"] = value
        return replace(self, **changes) if changes else self


__all__ = ["RunState", "RunStatus", "now"]
