"""ImageStore: every fetched image kept on disk, indexed in SQLite.

    store = ImageStore()                 # $AZIMAGE_STORE_DIR, else the user's data dir
    rec = store.put(png, prompt="a red fox", operation_id=op_id, image_index=0, ...)
    store.search("fox")                  # records whose prompt contains every word
    store.records(limit=20)              # newest first
    store.get(rec.id).image()            # a Pillow image, long after the URL expired
    store.delete(rec.id)

Layout of the store folder::

    index.sqlite3                 the index (standard library sqlite3, WAL journal)
    images/ab/abcd...ef.png       content-addressed: the sha256 of the file's bytes
    thumbs/abcd...ef.jpg          JPEG thumbnails (<= 256 px), made on first use

PNG files carry the prompt, api version, size, operation id and image index
in text chunks (``PIL.Image.open(path).text["prompt"]``); the pixel data is
the service's, byte for byte (see ``pngmeta``). Other formats are kept as
they came. The same bytes are stored once however many records point at
them; a file is removed with the last record that uses it.

One record per (operation id, image index): fetching the same image again
updates its record instead of adding one. ``source_url`` is kept without
its query string, so no SAS signature is ever written to disk.

Every call opens its own short-lived sqlite3 connection, so a store may be
used from any thread (the activities call it through ``asyncio.to_thread``
to keep the kernel's loop free).
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import closing
from pathlib import Path
from typing import Any

from ..contract.errors import strip_query
from .files import atomic_write, probe_image
from .location import default_store_dir
from .pngmeta import NotPNG, with_text
from .records import MAX_ROW_ID, MalformedRecord, RecordList, StoreRecord, record_from_row, row_id
from .thumbnails import THUMBNAIL_PX, THUMBNAIL_SUFFIX, make_thumbnail

log = logging.getLogger(__name__)

INDEX_NAME = "index.sqlite3"
_SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    sha256        TEXT NOT NULL,
    ext           TEXT NOT NULL,
    prompt        TEXT NOT NULL DEFAULT '',
    api_version   TEXT,
    size          TEXT,
    width         INTEGER,
    height        INTEGER,
    nbytes        INTEGER NOT NULL,
    operation_id  TEXT,
    image_index   INTEGER,
    created       INTEGER,
    expires       INTEGER,
    stored_at     REAL NOT NULL,
    source_url    TEXT,
    endpoint      TEXT,
    deployment    TEXT,
    params        TEXT NOT NULL DEFAULT '{}',
    pinned        INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX IF NOT EXISTS records_op_index ON records (operation_id, image_index)
    WHERE operation_id IS NOT NULL AND image_index IS NOT NULL;
CREATE INDEX IF NOT EXISTS records_sha ON records (sha256);
CREATE INDEX IF NOT EXISTS records_stored ON records (stored_at);
"""


class ImageStore:
    """A folder of content-addressed images with an SQLite index of records.

    ``path``: the folder (made on first write); default ``default_store_dir()``.
    """

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self._root = Path(path).expanduser() if path is not None else default_store_dir()
        self._ready = False
        self._lock = threading.Lock()

    # -- places ---------------------------------------------------------------
    @property
    def path(self) -> Path:
        return self._root

    @property
    def index_path(self) -> Path:
        return self._root / INDEX_NAME

    def _file(self, sha: str, ext: str) -> Path:
        return self._root / "images" / sha[:2] / f"{sha}.{ext}"

    def _thumb(self, sha: str) -> Path:
        return self._root / "thumbs" / f"{sha}{THUMBNAIL_SUFFIX}"

    # -- the index ------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        if not self._ready:
            with self._lock:
                if not self._ready:
                    self._root.mkdir(parents=True, exist_ok=True)
                    with closing(sqlite3.connect(self.index_path, timeout=30)) as db:
                        db.execute("PRAGMA journal_mode=WAL")
                        db.executescript(_SCHEMA)
                        db.execute(f"PRAGMA user_version={_SCHEMA_VERSION}")
                        db.commit()
                    self._ready = True
        db = sqlite3.connect(self.index_path, timeout=30)
        db.row_factory = sqlite3.Row
        # case-insensitive search beyond ASCII (SQLite's LIKE folds ASCII only)
        db.create_function("azfold", 1, _fold, deterministic=True)
        return db

    def _exists(self) -> bool:
        return self._ready or self.index_path.exists()

    def _record(self, row: sqlite3.Row) -> StoreRecord:
        return record_from_row(row, self._file)

    def _readable(self, rows: list[sqlite3.Row]) -> RecordList:
        """The records of ``rows``; malformed ones are logged and named in ``skipped``."""
        records: list[StoreRecord] = []
        skipped: list[int] = []
        for row in rows:
            try:
                records.append(self._record(row))
            except MalformedRecord as exc:
                log.warning("%s: %s", self, exc)
                skipped.append(row_id(row["id"]) or 0)
        return RecordList(records, skipped)

    # -- writing --------------------------------------------------------------
    def put(
        self,
        data: bytes,
        *,
        prompt: str = "",
        api_version: str | None = None,
        size: str | None = None,
        operation_id: str | None = None,
        image_index: int | None = None,
        created: int | None = None,
        expires: int | None = None,
        source_url: str | None = None,
        endpoint: str | None = None,
        deployment: str | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> StoreRecord:
        """Store an image's bytes and its record; returns the record.

        The bytes must decode as an image (checked with Pillow, bomb guard
        on). A PNG gets the prompt and ids as text chunks. The same
        (operation_id, image_index) again updates the existing record (a
        pinned record stays pinned).
        """
        if not isinstance(data, (bytes, bytearray)) or not data:
            raise ValueError("data must be non-empty image bytes")
        data = bytes(data)
        prompt = prompt or ""
        width, height, fmt = probe_image(data)
        ext = {"PNG": "png", "JPEG": "jpg", "WEBP": "webp", "GIF": "gif"}.get(fmt or "", "bin")
        if ext == "png":
            meta = {"prompt": prompt, "Software": "azimage-widgets",
                    "azimage:api_version": api_version, "azimage:size": size,
                    "azimage:operation_id": operation_id,
                    "azimage:image_index": None if image_index is None else str(image_index)}
            if params:
                meta["azimage:params"] = json.dumps(dict(params), sort_keys=True, default=str)
            try:
                data = with_text(data, {k: v for k, v in meta.items() if v is not None and v != ""})
            except NotPNG:
                pass  # Pillow read it, our splicer did not: keep the bytes as they came
        sha = hashlib.sha256(data).hexdigest()
        path = self._file(sha, ext)
        if not path.exists():
            atomic_write(path, data)
        clean_url = strip_query(source_url) if source_url else None
        row = {
            "sha256": sha, "ext": ext, "prompt": prompt, "api_version": api_version, "size": size,
            "width": width, "height": height, "nbytes": len(data), "operation_id": operation_id,
            "image_index": image_index, "created": created, "expires": expires,
            "stored_at": time.time(), "source_url": clean_url, "endpoint": endpoint,
            "deployment": deployment,
            "params": json.dumps(dict(params or {}), sort_keys=True, default=str),
        }
        with closing(self._connect()) as db, db:
            old = None
            if operation_id is not None and image_index is not None:
                old = db.execute("SELECT id, sha256, ext FROM records WHERE operation_id=? "
                                 "AND image_index=?", (operation_id, image_index)).fetchone()
            if old is not None:
                sets = ", ".join(f"{k}=?" for k in row)
                db.execute(f"UPDATE records SET {sets} WHERE id=?", (*row.values(), old["id"]))
                rec_id = old["id"]
            else:
                cols = ", ".join(row)
                marks = ", ".join("?" for _ in row)
                rec_id = db.execute(f"INSERT INTO records ({cols}) VALUES ({marks})",
                                    tuple(row.values())).lastrowid
            got = db.execute("SELECT * FROM records WHERE id=?", (rec_id,)).fetchone()
        if old is not None and old["sha256"] != sha:
            self._drop_file_if_unused(old["sha256"], old["ext"])
        return self._record(got)

    def pin(self, record_id: int, pinned: bool = True) -> StoreRecord:
        """Mark a record as a favourite (or not); KeyError for an unknown id."""
        rid = row_id(record_id)
        if rid is None:
            raise KeyError(f"no record {record_id!r} in the image store")
        with closing(self._connect()) as db, db:
            cur = db.execute("UPDATE records SET pinned=? WHERE id=?", (1 if pinned else 0, rid))
            if cur.rowcount == 0:
                raise KeyError(f"no record {rid} in the image store")
            got = db.execute("SELECT * FROM records WHERE id=?", (rid,)).fetchone()
        return self._record(got)

    def unpin(self, record_id: int) -> StoreRecord:
        return self.pin(record_id, False)

    def delete(self, record_id: int) -> bool:
        """Remove a record (and its file when no other record uses it); False if unknown."""
        rid = row_id(record_id)
        if rid is None or not self._exists():
            return False
        with closing(self._connect()) as db, db:
            row = db.execute("SELECT * FROM records WHERE id=?", (rid,)).fetchone()
            if row is None:
                return False
            db.execute("DELETE FROM records WHERE id=?", (rid,))
        try:
            rec = self._record(row)
        except MalformedRecord:
            return True  # its file name is not trusted: the file stays
        self._drop_file_if_unused(rec.sha256, rec.path.suffix.lstrip("."))
        return True

    def _drop_file_if_unused(self, sha: str, ext: str) -> None:
        with closing(self._connect()) as db:
            used = db.execute("SELECT 1 FROM records WHERE sha256=? LIMIT 1", (sha,)).fetchone()
        if used is None:
            for p in (self._file(sha, ext), self._thumb(sha)):
                try:
                    p.unlink()
                except FileNotFoundError:
                    pass

    # -- reading ----------------------------------------------------------------
    def get(self, record_id: int | None = None, *, operation_id: str | None = None,
            image_index: int | None = None, sha256: str | None = None) -> StoreRecord | None:
        """One record by id, by (operation_id, image_index), or by sha256 (the newest).

        None if absent, and for an id SQLite cannot hold or a malformed row.
        """
        args: tuple[Any, ...]
        if record_id is not None:
            rid = row_id(record_id)
            if rid is None:
                return None
            sql, args = "SELECT * FROM records WHERE id=?", (rid,)
        elif operation_id is not None:
            index = row_id(image_index or 0)
            if index is None:
                return None
            sql, args = ("SELECT * FROM records WHERE operation_id=? AND image_index=?",
                         (operation_id, index))
        elif sha256 is not None:
            sql, args = "SELECT * FROM records WHERE sha256=? ORDER BY id DESC LIMIT 1", (sha256,)
        else:
            raise ValueError("give a record id, an operation_id (and image_index) or a sha256")
        if not self._exists():
            return None
        with closing(self._connect()) as db:
            row = db.execute(sql, args).fetchone()
        found = [] if row is None else self._readable([row])
        return found[0] if found else None

    def __getitem__(self, record_id: int) -> StoreRecord:
        rec = self.get(record_id)
        if rec is None:
            raise KeyError(record_id)
        return rec

    def records(self, *, limit: int | None = None, offset: int = 0, pinned: bool | None = None,
                operation_id: str | None = None) -> RecordList:
        """Records, newest first; filter by pinned and operation id.

        Malformed rows are left out and named in the result's ``skipped``.
        """
        return self._select("", (), limit=limit, offset=offset, pinned=pinned,
                            operation_id=operation_id)

    def search(self, text: str, *, limit: int | None = None, pinned: bool | None = None) -> RecordList:
        """Records whose prompt contains every word of ``text`` (any case), newest first.

        A phrase in double quotes must appear as written: ``'"red fox" night'``.
        An empty ``text`` matches every record.
        """
        terms = _terms(text or "")
        where = " AND ".join("instr(azfold(prompt), ?) > 0" for _ in terms)
        args = tuple(t.casefold() for t in terms)
        return self._select(where, args, limit=limit, pinned=pinned)

    def _select(self, where: str, args: tuple[Any, ...], *, limit: int | None = None,
                offset: int = 0, pinned: bool | None = None,
                operation_id: str | None = None) -> RecordList:
        if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
            raise ValueError(f"offset must be a whole number >= 0, got {offset!r}")
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
            raise ValueError(f"limit must be a whole number >= 0, got {limit!r}")
        if not self._exists() or offset > MAX_ROW_ID:
            return RecordList()
        clauses = [where] if where else []
        params = list(args)
        if pinned is not None:
            clauses.append("pinned=?")
            params.append(1 if pinned else 0)
        if operation_id is not None:
            clauses.append("operation_id=?")
            params.append(operation_id)
        sql = "SELECT * FROM records"
        if clauses:
            sql += " WHERE " + " AND ".join(f"({c})" for c in clauses)
        sql += " ORDER BY stored_at DESC, id DESC"
        if limit is not None and limit <= MAX_ROW_ID:
            sql += " LIMIT ? OFFSET ?"
            params += [limit, offset]
        elif offset:
            sql += " LIMIT -1 OFFSET ?"
            params.append(offset)
        with closing(self._connect()) as db:
            rows = db.execute(sql, params).fetchall()
        return self._readable(rows)

    def __len__(self) -> int:
        if not self._exists():
            return 0
        with closing(self._connect()) as db:
            return int(db.execute("SELECT COUNT(*) FROM records").fetchone()[0])

    def __iter__(self) -> Iterator[StoreRecord]:
        return iter(self.records())

    def thumbnail(self, record: StoreRecord | int, max_px: int = THUMBNAIL_PX) -> bytes:
        """Thumbnail bytes (``thumbnails.THUMBNAIL_FORMAT``) of a record's image, cached in ``thumbs/``."""
        rec = record if isinstance(record, StoreRecord) else self[record]
        cached = self._thumb(rec.sha256)
        if max_px == THUMBNAIL_PX and cached.exists():
            return cached.read_bytes()
        from PIL import Image

        with Image.open(rec.path) as img:
            out = make_thumbnail(img, max_px)
        if max_px == THUMBNAIL_PX:
            atomic_write(cached, out)
        return out

    def __repr__(self) -> str:
        return f"ImageStore({str(self._root)!r})"


def _terms(text: str) -> list[str]:
    terms: list[str] = []
    parts = text.split('"')
    for i, part in enumerate(parts):
        if i % 2:  # inside quotes
            if part.strip():
                terms.append(part.strip())
        else:
            terms.extend(part.split())
    return terms


def _fold(text: Any) -> str:
    return text.casefold() if isinstance(text, str) else ""


__all__ = ["ImageStore"]
