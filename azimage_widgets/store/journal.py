"""The batch journal: where each item of a batch stands, kept on disk.

A kernel restart in the middle of a batch must not lose track of what was
already generated (and billed). The journal is a SQLite file beside the
image store's index (``journal.sqlite3``); per batch and item it keeps

    pending     not sent yet
    sending     the request is on the wire (no operation id yet)
    submitted   accepted, with its operation id: poll it, do not submit again
    done        finished, with the image store ids of its images (or, for a
                batch that keeps no images, its answer as JSON text: ``answer``)
    failed      ended with an error (code and message)

A batch is found again by its key (``batch_key``: the activity's name and
kind and the datasets, canonical JSON, hashed), so running the same cell
again after a restart finds it; a batch this process already ran to the end
is started anew instead (the same cell run twice in one session means twice).
``open_batch`` then says what each item needs: an item left ``sending``
had its request cut off mid-flight and is reported as ``unknown`` (the
service may have accepted and billed it).

Writes go through one sqlite3 connection in WAL mode with
``synchronous=NORMAL``: a committed state survives a killed process, and a
mark costs a fraction of a millisecond. When the disk is full or the folder
read-only, the journal keeps the states in memory only, ``durable`` turns
False and ``reason`` says why: a batch still runs, it just cannot resume.
"""
from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

JOURNAL_NAME = "journal.sqlite3"

State = Literal["pending", "sending", "submitted", "done", "failed", "unknown"]
STATES: tuple[str, ...] = ("pending", "sending", "submitted", "done", "failed", "unknown")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS batches (
    key       TEXT PRIMARY KEY,
    label     TEXT NOT NULL DEFAULT '',
    total     INTEGER NOT NULL,
    created   REAL NOT NULL,
    updated   REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS items (
    batch         TEXT NOT NULL,
    idx           INTEGER NOT NULL,
    state         TEXT NOT NULL,
    operation_id  TEXT,
    image_ids     TEXT NOT NULL DEFAULT '[]',
    error         TEXT,
    attempts      INTEGER NOT NULL DEFAULT 0,
    billed_twice  INTEGER NOT NULL DEFAULT 0,
    answer        TEXT,
    updated       REAL NOT NULL,
    PRIMARY KEY (batch, idx)
) WITHOUT ROWID;
"""


@dataclass(frozen=True)
class ItemState:
    """Where one item of a batch stands."""

    index: int
    state: str = "pending"
    operation_id: str | None = None
    image_ids: tuple[int, ...] = ()
    error: str | None = None
    attempts: int = 0
    #: Sent again after a request whose outcome was unknown: it may have been billed twice.
    possibly_billed_twice: bool = False
    #: A done item's answer as JSON text, for a batch that keeps no images (``generate_many``).
    answer: str | None = None


@dataclass
class JournalBatch:
    """One batch's items, as found (``resumed``) or made new."""

    key: str
    items: list[ItemState]
    resumed: bool = False
    #: Counts of the states found when the batch was opened again.
    found: dict[str, int] = field(default_factory=dict)


def canonical(value: Any) -> Any:
    """A JSON-able form of a dataset value (objects with an ``id`` become it)."""
    if isinstance(value, Mapping):
        return {str(k): canonical(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, (list, tuple)):
        return [canonical(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    ident = getattr(value, "id", None)
    return {"id": ident} if isinstance(ident, str) else repr(value)


def batch_key(label: str, datasets: Sequence[Any], **extra: Any) -> str:
    """The key a batch is found by again: what runs (``label``) on which datasets."""
    text = json.dumps({"label": label, "datasets": canonical(list(datasets)),
                       "extra": canonical(extra)}, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


class BatchJournal:
    """The journal file of one image store folder; see the module doc."""

    def __init__(self, folder: str | os.PathLike[str] | None) -> None:
        self.path: Path | None = None if folder is None else Path(folder) / JOURNAL_NAME
        self.durable = folder is not None
        self.reason = "" if folder is not None else "no image store (store=False)"
        self._db: sqlite3.Connection | None = None
        self._lock = threading.Lock()
        self._memory: dict[tuple[str, int], ItemState] = {}
        #: Batches opened by this process: one of them found finished is asked for again.
        self._ran_here: set[str] = set()
        if self.path is not None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                db = sqlite3.connect(self.path, timeout=10, check_same_thread=False,
                                     isolation_level=None)
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("PRAGMA synchronous=NORMAL")
                db.executescript(_SCHEMA)
                columns = {row[1] for row in db.execute("PRAGMA table_info(items)")}
                if "answer" not in columns:  # a journal written before answers were kept
                    db.execute("ALTER TABLE items ADD COLUMN answer TEXT")
                self._db = db
            except (OSError, sqlite3.Error) as exc:
                self._lost(exc)

    # -- failure: carry on in memory ------------------------------------------------
    def _lost(self, exc: BaseException) -> None:
        self.durable = False
        self.reason = f"the journal cannot be written ({type(exc).__name__}: {exc})"
        if self._db is not None:
            try:
                self._db.close()
            except sqlite3.Error:
                pass
        self._db = None

    def _write(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        if self._db is None:
            return
        try:
            with self._lock:
                self._db.execute("BEGIN")
                try:
                    self._db.executemany(sql, rows)
                    self._db.execute("COMMIT")
                except BaseException:
                    if self._db.in_transaction:  # SQLITE_FULL rolls back on its own
                        self._db.execute("ROLLBACK")
                    raise
        except (OSError, sqlite3.Error) as exc:
            self._lost(exc)

    # -- batches ---------------------------------------------------------------------
    def open_batch(self, key: str, total: int, *, resume: bool = True,
                   label: str = "") -> JournalBatch:
        """The batch ``key`` of ``total`` items: found again (``resume``) or started anew.

        Items found ``sending`` come back as ``unknown``. A batch found with
        another number of items is started anew, and so is one that this
        process ran to the end (every item done): running it again in the same
        session asks for it again, while after a restart it is found finished
        and nothing is generated (or billed) twice.
        """
        found = self._read(key) if resume else None
        if found is not None and key in self._ran_here and all(s.state == "done" for s in found):
            found = None
        self._ran_here.add(key)
        if found is not None and len(found) == total:
            states = [replace(s, state="unknown") if s.state == "sending" else s for s in found]
            counts: dict[str, int] = {}
            for s in states:
                counts[s.state] = counts.get(s.state, 0) + 1
            for s in states:
                self._memory[(key, s.index)] = s
            return JournalBatch(key, states, resumed=True, found=counts)
        now = time.time()
        items = [ItemState(i) for i in range(total)]
        for s in items:
            self._memory[(key, s.index)] = s
        self._write("DELETE FROM items WHERE batch = ?", [(key,)])
        self._write("INSERT OR REPLACE INTO batches (key, label, total, created, updated) "
                    "VALUES (?, ?, ?, ?, ?)", [(key, label, total, now, now)])
        self._write("INSERT INTO items (batch, idx, state, updated) VALUES (?, ?, 'pending', ?)",
                    ((key, i, now) for i in range(total)))
        return JournalBatch(key, items)

    def _read(self, key: str) -> list[ItemState] | None:
        if self._db is None:
            kept = sorted((s for (k, _), s in self._memory.items() if k == key),
                          key=lambda s: s.index)
            return kept or None
        try:
            with self._lock:
                rows = self._db.execute(
                    "SELECT idx, state, operation_id, image_ids, error, attempts, billed_twice, "
                    "answer FROM items WHERE batch = ? ORDER BY idx", (key,)).fetchall()
        except sqlite3.Error as exc:
            self._lost(exc)
            return None
        if not rows:
            return None
        return [ItemState(idx, state, op, tuple(json.loads(ids or "[]")), err, attempts,
                          bool(twice), answer)
                for idx, state, op, ids, err, attempts, twice, answer in rows]

    def item(self, key: str, index: int) -> ItemState:
        return self._memory.get((key, index), ItemState(index))

    def mark(self, key: str, index: int, state: str, *, operation_id: str | None = None,
             image_ids: Iterable[int] = (), error: str | None = None,
             possibly_billed_twice: bool | None = None,
             answer: str | None = None) -> ItemState:
        """Record that item ``index`` of batch ``key`` is now in ``state``; the new ItemState."""
        if state not in STATES:
            raise ValueError(f"unknown journal state {state!r}")
        old = self.item(key, index)
        new = ItemState(
            index, state,
            operation_id if operation_id is not None else
            (old.operation_id if state in ("submitted", "done", "failed") else None),
            tuple(image_ids), error,
            old.attempts + (1 if state == "sending" else 0),
            old.possibly_billed_twice if possibly_billed_twice is None else possibly_billed_twice,
            answer)
        self._memory[(key, index)] = new
        self._write(
            "UPDATE items SET state = ?, operation_id = ?, image_ids = ?, error = ?, attempts = ?, "
            "billed_twice = ?, answer = ?, updated = ? WHERE batch = ? AND idx = ?",
            [(state, new.operation_id, json.dumps(list(new.image_ids)), error, new.attempts,
              int(new.possibly_billed_twice), answer, time.time(), key, index)])
        return new

    @staticmethod
    def key(label: str, items: Sequence[Any], **extra: Any) -> str:
        """``batch_key``: what a caller that cannot import this module names a batch with."""
        return batch_key(label, items, **extra)

    def forget(self, key: str) -> None:
        """Drop a batch (its items and its row)."""
        for k in [k for k in self._memory if k[0] == key]:
            del self._memory[k]
        self._write("DELETE FROM items WHERE batch = ?", [(key,)])
        self._write("DELETE FROM batches WHERE key = ?", [(key,)])

    def close(self) -> None:
        if self._db is not None:
            with self._lock:
                self._db.close()
            self._db = None

    def __repr__(self) -> str:
        where = str(self.path) if self.path else "memory"
        return f"BatchJournal({where!r}, durable={self.durable})"


_OPEN: dict[Path, BatchJournal] = {}


def journal_for(folder: str | os.PathLike[str] | None) -> BatchJournal:
    """The journal of an image store folder (one per folder and process); None: memory only."""
    if folder is None:
        return BatchJournal(None)
    path = Path(folder).expanduser().resolve()
    journal = _OPEN.get(path)
    if journal is None or not journal.durable:  # try the disk again; keep what memory holds
        fresh = BatchJournal(path)
        if journal is not None:
            fresh._ran_here = journal._ran_here
            if not fresh.durable:
                fresh._memory = journal._memory
        journal = _OPEN[path] = fresh
    return journal


__all__ = ["JOURNAL_NAME", "STATES", "BatchJournal", "ItemState", "JournalBatch", "batch_key",
           "canonical", "journal_for"]
