"""StoreRecord: one stored image and what made it, read from an index row.

The index is an SQLite file anyone can edit, and SQLite keeps whatever type
a value arrives with, so a row is read defensively: a mis-typed column
(``stored_at='x'``, ``created=1e400``, a blob prompt) becomes its empty value
instead of an error later in a caption; a row whose file name cannot be
trusted (``sha256`` not 64 hex digits, an unknown extension) is refused with
``MalformedRecord`` and listings skip it, naming it in ``RecordList.skipped``.
"""
from __future__ import annotations

import json
import math
import re
import sqlite3
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

#: File extensions the store writes (``bin``: bytes Pillow read but we could not name).
EXTENSIONS = frozenset({"png", "jpg", "webp", "gif", "bin"})
#: Largest record id SQLite can hold; a larger one names no record.
MAX_ROW_ID = 2**63 - 1
_SHA256 = re.compile(r"[0-9a-f]{64}")
# a timestamp datetime can show (years 1..9999), in seconds
_MAX_TIMESTAMP = 253_402_300_799


class MalformedRecord(ValueError):
    """An index row that cannot name its file safely; listings skip it."""

    def __init__(self, record_id: Any, why: str) -> None:
        super().__init__(f"stored record {record_id!r} is malformed: {why}")
        self.record_id = record_id


class RecordList(list["StoreRecord"]):
    """A list of records; ``skipped`` holds the ids of malformed rows left out."""

    skipped: tuple[int, ...]

    def __init__(self, records: Iterable[StoreRecord] = (), skipped: Iterable[int] = ()) -> None:
        super().__init__(records)
        self.skipped = tuple(skipped)


def row_id(value: Any) -> int | None:
    """``value`` as a record id SQLite can look up, or None when it can name no record."""
    if isinstance(value, bool):
        return None
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if 0 <= number <= MAX_ROW_ID else None


@dataclass(frozen=True)
class StoreRecord:
    """One stored image and what made it."""

    id: int
    sha256: str
    path: Path
    prompt: str
    api_version: str | None
    size: str | None
    width: int | None
    height: int | None
    nbytes: int
    operation_id: str | None
    image_index: int | None
    created: int | None
    expires: int | None
    stored_at: float
    source_url: str | None
    endpoint: str | None = None
    deployment: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    pinned: bool = False

    @property
    def created_at(self) -> datetime | None:
        """When the service made the image (aware UTC), if it said."""
        return None if self.created is None else datetime.fromtimestamp(self.created, tz=timezone.utc)

    @property
    def stored_datetime(self) -> datetime:
        return datetime.fromtimestamp(self.stored_at, tz=timezone.utc)

    @property
    def expires_at(self) -> datetime | None:
        """When the service's URL expired (or expires); the stored file does not."""
        return None if self.expires is None else datetime.fromtimestamp(self.expires, tz=timezone.utc)

    def read_bytes(self) -> bytes:
        return self.path.read_bytes()

    def image(self) -> Any:
        """The image as a loaded Pillow image (Pillow's decompression-bomb guard stays on)."""
        from PIL import Image

        img = Image.open(self.path)
        img.load()  # reads and closes the file; .text and .info stay
        return img

    def request(self) -> dict[str, Any]:
        """The request fields that made this image: prompt, size and any others recorded."""
        out: dict[str, Any] = {"prompt": self.prompt}
        if self.size:
            out["size"] = self.size
        out.update(self.params)
        return out

    def __repr__(self) -> str:
        prompt = self.prompt if len(self.prompt) <= 40 else self.prompt[:39] + "\u2026"
        return (f"StoreRecord(id={self.id}, prompt={prompt!r}, size={self.size!r}, "
                f"operation_id={self.operation_id!r}, image_index={self.image_index}, "
                f"pinned={self.pinned})")


def record_from_row(row: sqlite3.Row, file_for: Callable[[str, str], Path]) -> StoreRecord:
    """The record of an index row; ``file_for(sha256, ext)`` places its file in the store."""
    rid = row_id(row["id"])
    sha, ext = row["sha256"], row["ext"]
    if rid is None:
        raise MalformedRecord(row["id"], "its id is not a whole number")
    if not isinstance(sha, str) or not _SHA256.fullmatch(sha):
        raise MalformedRecord(rid, "sha256 is not 64 hex digits")
    if ext not in EXTENSIONS:
        raise MalformedRecord(rid, "unknown file extension")
    try:
        params = json.loads(row["params"] or "{}")
    except (TypeError, ValueError, RecursionError):
        params = {}
    return StoreRecord(
        id=rid, sha256=sha, path=file_for(sha, ext), prompt=_text(row["prompt"]) or "",
        api_version=_text(row["api_version"]), size=_text(row["size"]),
        width=_count(row["width"]), height=_count(row["height"]),
        nbytes=_count(row["nbytes"]) or 0, operation_id=_text(row["operation_id"]),
        image_index=_count(row["image_index"]), created=_timestamp(row["created"]),
        expires=_timestamp(row["expires"]), stored_at=_seconds(row["stored_at"]) or 0.0,
        source_url=_text(row["source_url"]), endpoint=_text(row["endpoint"]),
        deployment=_text(row["deployment"]),
        params=params if isinstance(params, dict) else {}, pinned=row["pinned"] in (1, True),
    )


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def _count(value: Any) -> int | None:
    """A whole number >= 0 (a column of sizes, indexes, byte counts), else None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if not math.isfinite(value) or value < 0 or value > MAX_ROW_ID or value != int(value):
        return None
    return int(value)


def _seconds(value: Any) -> float | None:
    """Seconds since the epoch that ``datetime`` can show, else None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if 0 <= value <= _MAX_TIMESTAMP else None  # NaN compares False


def _timestamp(value: Any) -> int | None:
    seconds = _seconds(value)
    return None if seconds is None else int(seconds)
