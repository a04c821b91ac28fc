"""The emulator's in-memory operations and how their status moves with time.

An operation's outcome is decided when it is submitted (from the prompt's
trigger words and the knobs of that moment), and its status is derived from
the time since then, so polling has no side effects and a changed knob never
rewrites a job already running.
"""
from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from ..contract import TERMINAL_STATUSES

#: Operations kept at most; the oldest are dropped first (a load test makes many).
MAX_OPERATIONS = 50_000


@dataclass
class Operation:
    """One submitted generation."""

    id: str
    prompt: str
    n: int
    size: str
    response_format: str
    created: int  # epoch seconds, as the service reports it
    started: float  # time.monotonic() at submit
    processing_time: float
    outcome: str  # "succeeded", "failed" or "canceled"
    filtered_index: int | None = None  # one image refused by the content filter
    deleted: bool = False
    user: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def status(self, now: float | None = None) -> str:
        """notRunning for the first tenth of the processing time, then running, then the outcome."""
        if self.deleted:
            return "deleted"
        elapsed = (time.monotonic() if now is None else now) - self.started
        if elapsed >= self.processing_time:
            return self.outcome
        if elapsed < 0.1 * self.processing_time:
            return "notRunning"
        return "running"

    @property
    def terminal(self) -> bool:
        return self.status() in TERMINAL_STATUSES


class OperationStore:
    """Operations by id, bounded so a long-running emulator does not grow forever."""

    def __init__(self, limit: int = MAX_OPERATIONS) -> None:
        self._ops: dict[str, Operation] = {}
        self._limit = limit

    def add(self, **fields: object) -> Operation:
        op = Operation(id=str(uuid.uuid4()), **fields)  # type: ignore[arg-type]
        self._ops[op.id] = op
        while len(self._ops) > self._limit:
            self._ops.pop(next(iter(self._ops)))
        return op

    def get(self, op_id: str) -> Operation | None:
        return self._ops.get(op_id)

    def __len__(self) -> int:
        return len(self._ops)
