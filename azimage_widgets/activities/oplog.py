"""The operation log: one entry per dataset an activity ran, kept for the session.

    log = OperationLog()                 # or default_log(), the session-wide one
    log.add(activity="fox", kind="request_image", dataset=3, status="failed",
            operation_id="...", message="contentFilter: ...", duration=1.2)
    log.errors()                         # entries that failed
    log.to_csv("log.csv"); log.to_json("log.json")

The seeds' "continue on error" writes failing datasets here; runs of
activities and operations write every dataset (succeeded, failed, canceled)
so a batch can be checked afterwards. Stdlib only (csv, json); no widgets:
``widgets.widget_operation_log.OperationLogView`` shows a log as a table.

Choices where the issue is silent: times are timezone-aware UTC; the log
keeps at most ``max_entries`` entries (oldest dropped first, 10 000 by
default) so a long session cannot grow without bound; ``version`` is a
traitlets Int bumped on every change so views can observe a log cheaply.
Messages are built from error texts that never carry credentials.
"""
from __future__ import annotations

import csv
import io
import json
import threading
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, fields
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from traitlets import HasTraits, Int

#: Statuses that count as errors when filtering.
ERROR_STATUSES = frozenset({"failed", "error"})


@dataclass(frozen=True)
class LogEntry:
    """One dataset of one activity run."""

    time: datetime
    activity: str
    dataset: int | None
    status: str  # succeeded | failed | canceled | skipped
    operation_id: str | None = None
    message: str = ""
    duration: float = 0.0
    kind: str = ""
    operation: str = ""  # name of the Operation the run belonged to, if any
    code: str | None = None  # error code of a failure (contentFilter, validation, timeout, ...)

    @property
    def is_error(self) -> bool:
        return self.status in ERROR_STATUSES

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["time"] = self.time.isoformat()
        return d


COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(LogEntry))


class OperationLog(HasTraits):
    """A thread-safe, append-only list of LogEntry with filters and exports."""

    version = Int(0, help="Bumped on every add/clear; observe it to follow the log.")

    def __init__(self, max_entries: int = 10_000) -> None:
        super().__init__()
        if isinstance(max_entries, bool) or not isinstance(max_entries, int) or max_entries < 1:
            raise ValueError("max_entries must be a positive whole number")
        self.max_entries = max_entries
        self._entries: list[LogEntry] = []
        self._lock = threading.Lock()

    # -- writing ---------------------------------------------------------------
    def add(self, *, activity: str, status: str, dataset: int | None = None,
            operation_id: str | None = None, message: str = "", duration: float = 0.0,
            kind: str = "", operation: str = "", code: str | None = None,
            time: datetime | None = None) -> LogEntry:
        """Append one entry and return it."""
        entry = LogEntry(time=time or datetime.now(timezone.utc), activity=str(activity),
                         dataset=dataset, status=str(status), operation_id=operation_id,
                         message=str(message or ""), duration=round(float(duration), 3),
                         kind=kind, operation=operation, code=code)
        with self._lock:
            self._entries.append(entry)
            overflow = len(self._entries) - self.max_entries
            if overflow > 0:
                del self._entries[:overflow]
        self.version += 1
        return entry

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
        self.version += 1

    # -- reading ---------------------------------------------------------------
    @property
    def entries(self) -> list[LogEntry]:
        """A copy of every entry, oldest first."""
        with self._lock:
            return list(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[LogEntry]:
        return iter(self.entries)

    def __getitem__(self, index: int) -> LogEntry:
        return self.entries[index]

    def filter(self, *, errors_only: bool = False, activity: str | None = None,
               operation: str | None = None, status: str | None = None,
               since: datetime | None = None) -> list[LogEntry]:
        """Entries matching every given criterion."""
        out = []
        for e in self.entries:
            if errors_only and not e.is_error:
                continue
            if activity is not None and e.activity != activity:
                continue
            if operation is not None and e.operation != operation:
                continue
            if status is not None and e.status != status:
                continue
            if since is not None and e.time < since:
                continue
            out.append(e)
        return out

    def errors(self) -> list[LogEntry]:
        """Only the failed entries."""
        return self.filter(errors_only=True)

    # -- export ----------------------------------------------------------------
    @staticmethod
    def _select(entries: Iterable[LogEntry] | None, log: OperationLog,
                errors_only: bool) -> list[LogEntry]:
        chosen = list(entries) if entries is not None else log.entries
        return [e for e in chosen if e.is_error] if errors_only else chosen

    def to_csv(self, path: str | Path | None = None, *, errors_only: bool = False,
               entries: Iterable[LogEntry] | None = None) -> str:
        """The log as CSV text (header row first); also written to ``path`` when given."""
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=list(COLUMNS), lineterminator="\n")
        writer.writeheader()
        for e in self._select(entries, self, errors_only):
            row = e.to_dict()
            writer.writerow({k: ("" if v is None else v) for k, v in row.items()})
        text = buf.getvalue()
        if path is not None:
            Path(path).write_text(text, encoding="utf-8", newline="")
        return text

    def to_json(self, path: str | Path | None = None, *, errors_only: bool = False,
                entries: Iterable[LogEntry] | None = None, indent: int | None = 2) -> str:
        """The log as a JSON array of objects; also written to ``path`` when given."""
        data = [e.to_dict() for e in self._select(entries, self, errors_only)]
        text = json.dumps(data, indent=indent, ensure_ascii=False)
        if path is not None:
            Path(path).write_text(text, encoding="utf-8")
        return text

    def to_records(self, *, errors_only: bool = False) -> list[dict[str, Any]]:
        """Plain dicts (e.g. for ``pandas.DataFrame(log.to_records())``)."""
        return [e.to_dict() for e in self._select(None, self, errors_only)]

    def __repr__(self) -> str:
        n_err = sum(1 for e in self._entries if e.is_error)
        return f"OperationLog({len(self._entries)} entries, {n_err} errors)"


_DEFAULT: OperationLog | None = None
_DEFAULT_LOCK = threading.Lock()


def default_log() -> OperationLog:
    """The session-wide log every run writes to unless given another."""
    global _DEFAULT
    with _DEFAULT_LOCK:
        if _DEFAULT is None:
            _DEFAULT = OperationLog()
        return _DEFAULT


__all__ = ["COLUMNS", "ERROR_STATUSES", "LogEntry", "OperationLog", "default_log"]
