"""The store and its gallery at the edges: ids SQLite cannot hold, rows someone else wrote."""
from __future__ import annotations

import io
import sqlite3

import pytest
from PIL import Image

import azimage_widgets as aw
from azimage_widgets.store import ImageStore, MalformedRecord, RecordList
from azimage_widgets.widgets import walk

HUGE = [2**63, 2**64 + 5, 10**30, -1, -(2**63) - 1]


def png(color=(200, 30, 30)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), color).save(buf, format="PNG")
    return buf.getvalue()


@pytest.fixture
def store(tmp_path):
    s = ImageStore(tmp_path / "store")
    s.put(png((10, 200, 10)), prompt="a green owl", operation_id="op-owl", image_index=0,
          size="256x256", created=1_700_000_000)
    s.put(png(), prompt="a red fox", operation_id="op-fox", image_index=0, size="256x256")
    return s


def corrupt(store: ImageStore, prompt: str, column: str, value: object) -> int:
    with sqlite3.connect(store.index_path) as db:
        (rid,) = db.execute("SELECT id FROM records WHERE prompt=?", (prompt,)).fetchone()
        db.execute(f"UPDATE records SET {column}=? WHERE id=?", (value, rid))
    return int(rid)


@pytest.mark.parametrize("rid", HUGE)
def test_ids_sqlite_cannot_hold_name_no_record(store, rid):
    assert store.get(rid) is None
    assert store.get(operation_id="op-fox", image_index=rid) is None
    assert store.delete(rid) is False
    with pytest.raises(KeyError):
        store.pin(rid)
    with pytest.raises(KeyError):
        store[rid]
    assert len(store) == 2


def test_offsets_and_limits_beyond_sqlite(store):
    assert store.records(offset=2**63) == []
    assert store.records(offset=10**30, limit=5) == []
    assert [r.prompt for r in store.records(limit=10**30)] == ["a red fox", "a green owl"]
    for bad in (-1, 1.5, True, "2"):
        with pytest.raises(ValueError, match="offset"):
            store.records(offset=bad)


# a value of the wrong type in a column SQLite accepted anyway -> the record's empty value
MISTYPED = [
    ("stored_at", "yesterday", "stored_at", 0.0),
    ("stored_at", 1e300, "stored_at", 0.0),
    ("created", "x", "created", None),
    ("created", 1e400, "created", None),  # inf
    ("created", -5, "created", None),
    ("expires", 10**17, "expires", None),
    ("width", "wide", "width", None),
    ("image_index", 2.5, "image_index", None),
    ("nbytes", "lots", "nbytes", 0),
    ("prompt", b"\xffbytes", "prompt", "\ufffdbytes"),
    ("size", 512, "size", "512"),
    ("pinned", "yes", "pinned", False),
    ("params", "[1, 2]", "params", {}),
    ("params", "{" * 100_000, "params", {}),
]


@pytest.mark.parametrize("column,value,attr,expected", MISTYPED,
                         ids=[f"{c}={str(v)[:12]}" for c, v, _, _ in MISTYPED])
def test_a_mistyped_column_reads_as_its_empty_value(store, column, value, attr, expected):
    rid = corrupt(store, "a red fox", column, value)
    rec = store.get(rid)
    assert rec is not None and getattr(rec, attr) == expected
    # every derived value a caption or page shows works
    assert rec.stored_datetime.year >= 1970
    assert rec.created_at is None or rec.created_at.year == 2023
    assert rec.expires_at is None
    assert isinstance(rec.prompt, str) and repr(rec)
    listed = store.records()
    assert sorted(r.id for r in listed) == sorted([rid, rid - 1]) and listed.skipped == ()


@pytest.mark.parametrize("column,value", [
    ("sha256", "../../../../etc/passwd"), ("sha256", "ab"), ("sha256", 12345),
    ("ext", "png/../../x"), ("ext", "exe"),
])
def test_a_row_that_cannot_name_its_file_is_skipped_and_named(store, column, value):
    rid = corrupt(store, "a red fox", column, value)
    listed = store.records()
    assert isinstance(listed, RecordList)
    assert [r.prompt for r in listed] == ["a green owl"] and listed.skipped == (rid,)
    assert store.search("fox").skipped == (rid,) and list(store.search("fox")) == []
    assert store.get(rid) is None
    with pytest.raises(MalformedRecord):
        store.pin(rid)
    assert store.delete(rid) is True  # the row goes; the file it names is not touched
    assert store.records().skipped == ()


def _status(gallery) -> str:
    found = [w for w in walk(gallery) if "azimage-history-status" in getattr(w, "_dom_classes", ())]
    return found[0].value


@pytest.mark.parametrize("column,value", [
    ("stored_at", "yesterday"), ("prompt", b"\x00\xff"), ("width", "wide"), ("sha256", "ab"),
])
def test_history_shows_a_malformed_row_in_its_status(store, column, value):
    rid = corrupt(store, "a red fox", column, value)
    gallery = aw.history(store=store)
    try:
        prompts = [r.prompt for r in gallery.records]
        assert "a green owl" in prompts
        if column == "sha256":
            assert prompts == ["a green owl"]
            assert f"record {rid} is malformed" in _status(gallery)
        else:
            assert len(prompts) == 2 and _status(gallery) == ""
    finally:
        gallery.close()


def test_history_reports_a_record_it_cannot_caption(store, monkeypatch):
    from azimage_widgets.widgets import widget_history

    def broken(rec):
        if rec.prompt == "a red fox":
            raise TypeError("cannot caption")
        return "<div>ok</div>"

    monkeypatch.setattr(widget_history, "_caption", broken)
    gallery = aw.history(store=store)
    try:
        assert [r.prompt for r in gallery.records] == ["a green owl"]
        assert "TypeError: cannot caption" in _status(gallery)
        assert len(gallery.tiles) == 1
    finally:
        gallery.close()
