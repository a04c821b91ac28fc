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

import asyncio
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any, ClassVar

from traitlets import HasTraits, Instance, List

from ..contract import TERMINAL_STATUSES, ValidationError
from .failures import error_info, format_error

CANCEL_MESSAGE = ("Stopped waiting for operation {id}; the service may still finish the job. "
                  "Download it later with this id.")


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

    def begin(self, fresh: bool = True) -> RunState:
        """Running again, no error; ``fresh``: a new run, so none of the last run's outputs
        (ids, results, value) either, and what a panel shows after it is this run's alone."""
        if fresh:
            return replace(self, status=RunStatus.RUNNING, message="", error=None,
                           started=now(), ended=None, ids=(), results=(), value=None)
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


class HasRunState(HasTraits):
    """A ``state`` trait holding a RunState, and its parts read through it.

    What an activity and an Operation share: observers watch ``state`` alone;
    ``status``, ``message``, ``error``, ``running`` and ``elapsed`` are read-only views of it.
    """

    state = Instance(RunState, args=(), help="The last run: status, message, error, ids, results.")

    @property
    def status(self) -> RunStatus:
        """Where the last run is (``state.status``)."""
        return self.state.status

    @property
    def message(self) -> str:
        return self.state.message

    @property
    def error(self) -> Mapping[str, Any] | None:
        """code/message/field of the last failure, or None."""
        return self.state.error

    @property
    def running(self) -> bool:
        return self.state.running

    @property
    def elapsed(self) -> float:
        return self.state.elapsed


class RunStateOwner(HasRunState):
    """The run state of an activity and the public steps that move it.

    The run steps (dataset_runs, operation_chain, download_result) call only
    these methods. Expects ``name``, ``label`` and ``closed`` from the activity.
    """

    progress: List[dict[str, Any]] = List(
        help="One dict per operation: id, status, elapsed, images, message.")

    name: str
    api_version: str
    label: ClassVar[str]
    closed: bool
    _task: asyncio.Task[Any] | None = None

    def start_run(self, fresh: bool = True) -> None:
        """Mark a run as started by the current task; ValidationError when closed or already running.

        ``fresh`` (a new run): the last run's ids, results and progress rows are dropped;
        False continues the last run (e.g. following the operations a submit made)."""
        if self.closed:
            raise ValidationError("name", f"activity {self.name!r} is closed")
        task = asyncio.current_task()
        if self._task is not None and not self._task.done() and self._task is not task:
            raise ValidationError("run", f"{self.label} {self.name!r} is already running; cancel it first")
        self._task = task
        if fresh:
            self.clear_operations()  # the last run's rows (and their error lines) go with it
        self.state = self.state.begin(fresh)

    def end_run(self, status: RunStatus | str, message: str = "") -> None:
        """Mark the run as ended with ``status``."""
        self.state = self.state.end(RunStatus(status), message)

    def fail_run(self, exc: BaseException, **details: Any) -> None:
        """Mark the run as failed by ``exc`` (``details``, e.g. the dataset, join its error info)."""
        info = {**error_info(exc), **details}
        message = format_error(info)
        self.state = self.state.end(RunStatus.FAILED, message, info)

    def cancel_run(self, ids: Iterable[str]) -> None:
        """Mark the run as canceled; the operations still waiting are marked stopped."""
        ids = list(ids)
        for op_id in ids:
            row = self.operation_row(op_id)
            if row is not None and row.get("status") not in TERMINAL_STATUSES:
                self.update_operation(op_id, status="stopped",
                                      message="stopped polling; the service may still finish the job")
        shown = ", ".join(ids) if ids else "(not yet known)"
        self.end_run(RunStatus.CANCELED, CANCEL_MESSAGE.format(id=shown))

    def publish(self, *, ids: Iterable[str] | None = None, results: Iterable[Any] | None = None,
                value: Any = None) -> None:
        """Record what the run produced (given parts replace the last run's)."""
        self.state = self.state.with_outputs(ids=ids, results=results, value=value)

    def operation_row(self, op_id: str) -> dict[str, Any] | None:
        """The progress row of one operation (a copy), or None."""
        for row in self.progress:
            if row.get("id") == op_id:
                return dict(row)
        return None

    def update_operation(self, op_id: str, **fields: Any) -> None:
        """Update (or add) the progress row of one operation."""
        rows = [dict(r) for r in self.progress]
        for row in rows:
            if row.get("id") == op_id:
                row.update(fields)
                break
        else:
            row = {"id": op_id, "status": "", "elapsed": 0.0, "images": 0, "message": ""}
            row.update(fields)
            rows.append(row)
        self.progress = rows

    def clear_operations(self) -> None:
        """Forget the progress rows of the last run."""
        self.progress = []

    @staticmethod
    def clock() -> float:
        """The clock run times are measured with (monotonic seconds)."""
        return now()

    def cancel(self) -> bool:
        """Stop the current run (polling stops; the service may still finish the job).

        Returns True when a run was stopped.
        """
        task = self._task
        # A run awaited in the caller's own task leaves that task behind when it ends:
        # only a run still going is stopped, never the caller's code after it.
        if task is None or task.done() or not self.state.running:
            return False
        task.cancel()
        return True

    @property
    def task(self) -> asyncio.Task[Any] | None:
        """The task of the current or last run, when it ran as a task."""
        return self._task

    def operation_ids(self) -> list[str]:
        """Ids of the operations of the last run."""
        return [r["id"] for r in self.progress if r.get("id")]


__all__ = ["CANCEL_MESSAGE", "HasRunState", "RunState", "RunStateOwner", "RunStatus", "now"]
