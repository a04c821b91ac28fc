"""The image store: content-addressed files, the SQLite index, PNG metadata, the download hook."""
from __future__ import annotations

import hashlib
import io
import sqlite3
from pathlib import Path

import pytest
from PIL import Image

from azimage_widgets.store import (
    ENV_STORE_DIR,
    ImageStore,
    default_store,
    default_store_dir,
    resolve_store,
    set_default_store,
    with_text,
)


def png(color=(200, 30, 30), size=(64, 48)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, format="PNG")
    return buf.getvalue()


def jpeg(color=(0, 90, 200)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (40, 30), color).save(buf, format="JPEG")
    return buf.getvalue()


# -- where it lives ---------------------------------------------------------------------
def test_default_dir_env_xdg_home(tmp_path, monkeypatch):
    assert default_store_dir({ENV_STORE_DIR: str(tmp_path / "s")}) == tmp_path / "s"
    assert default_store_dir({"XDG_DATA_HOME": str(tmp_path)}) == tmp_path / "azimage-widgets"
    # a relative XDG_DATA_HOME is ignored, as the XDG spec says
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_store_dir({"XDG_DATA_HOME": "rel"}) == tmp_path / "home/.local/share/azimage-widgets"
    assert default_store_dir({}) == tmp_path / "home/.local/share/azimage-widgets"
    # the env var wins over XDG
    assert default_store_dir({ENV_STORE_DIR: str(tmp_path / "e"),
                              "XDG_DATA_HOME": str(tmp_path)}) == tmp_path / "e"


def test_tests_use_a_temporary_store():
    """The autouse fixture points the default store away from the real home."""
    root = default_store().path
    assert root == Path(__import__("os").environ[ENV_STORE_DIR])
    assert not str(root).startswith(str(Path.home() / ".local"))


def test_resolve_store_settings(tmp_path):
    assert resolve_store(False) is None
    assert resolve_store(None) is default_store()
    assert resolve_store(True) is default_store()
    s = ImageStore(tmp_path / "x")
    assert resolve_store(s) is s
    assert resolve_store(str(tmp_path / "y")).path == tmp_path / "y"
    with pytest.raises(TypeError):
        resolve_store(42)


def test_set_default_store_off_and_back(tmp_path):
    try:
        set_default_store(False)
        assert default_store() is None and resolve_store(None) is None
        set_default_store(tmp_path / "z")
        assert default_store().path == tmp_path / "z"
    finally:
        set_default_store(None)
    assert default_store().path != tmp_path / "z"


# -- put / get / search / delete -----------------------------------------------------------
def test_put_content_addressed_with_png_text(tmp_path):
    store = ImageStore(tmp_path)
    data = png()
    rec = store.put(data, prompt="a red fox, ünïcode ✓", api_version="2023-06-01-preview",
                    size="512x512", operation_id="op-1", image_index=0, created=1700000000,
                    expires=1700086400,
                    source_url="http://127.0.0.1:1/images/op-1/0.png?se=123&sig=SECRETSIG")
    assert rec.path.exists()
    assert rec.path.name == f"{rec.sha256}.png"
    assert hashlib.sha256(rec.path.read_bytes()).hexdigest() == rec.sha256
    assert rec.path.parent.name == rec.sha256[:2]
    # the prompt is in the PNG's metadata, the pixels are the service's
    img = Image.open(rec.path)
    assert img.text["prompt"] == "a red fox, ünïcode ✓"
    assert img.text["azimage:operation_id"] == "op-1"
    assert img.text["azimage:size"] == "512x512"
    assert img.tobytes() == Image.open(io.BytesIO(data)).tobytes()
    assert (rec.width, rec.height) == (64, 48)
    # no SAS query written anywhere
    assert rec.source_url == "http://127.0.0.1:1/images/op-1/0.png"
    assert b"SECRETSIG" not in (tmp_path / "index.sqlite3").read_bytes()
    assert rec.created_at.year == 2023 and rec.expires_at > rec.created_at
    assert store.get(rec.id) == rec
    assert store.get(operation_id="op-1", image_index=0) == rec
    assert store.get(sha256=rec.sha256) == rec
    assert store.get(999) is None
    assert rec.image().size == (64, 48)


def test_same_image_again_updates_its_record(tmp_path):
    store = ImageStore(tmp_path)
    a = store.put(png(), prompt="p", operation_id="op", image_index=0)
    store.pin(a.id)
    b = store.put(png(), prompt="p", operation_id="op", image_index=0)
    assert b.id == a.id and b.pinned
    assert len(store) == 1
    assert len(list((tmp_path / "images").rglob("*.png"))) == 1


def test_shared_bytes_stored_once_and_removed_with_last_record(tmp_path):
    store = ImageStore(tmp_path)
    # the name is the hash of the file as written (metadata included): the same image
    # with the same metadata is one file, however many records point at it
    a = store.put(png(), prompt="same")
    b = store.put(png(), prompt="same")
    assert a.id != b.id and a.sha256 == b.sha256 and a.path == b.path
    other = store.put(png(), prompt="same", operation_id="op-b", image_index=0)
    assert other.sha256 != a.sha256  # its text chunks name its operation
    assert store.delete(a.id) is True
    assert b.path.exists()
    thumb = store.thumbnail(b)
    assert Image.open(io.BytesIO(thumb)).format == "WEBP"
    assert store.delete(b.id) is True
    assert not b.path.exists()
    assert not (tmp_path / "thumbs" / f"{b.sha256}.jpg").exists()
    assert store.delete(b.id) is False
    assert len(store) == 1 and other.path.exists()


def test_search_words_phrases_case_and_order(tmp_path):
    store = ImageStore(tmp_path)
    fox = store.put(png((1, 1, 1)), prompt="A Red Fox at night", operation_id="1", image_index=0)
    cat = store.put(png((2, 2, 2)), prompt="a cat, red hat", operation_id="2", image_index=0)
    eu = store.put(png((3, 3, 3)), prompt="ÉPÉE sur la table 100%", operation_id="3", image_index=0)
    assert [r.id for r in store.search("red")] == [cat.id, fox.id]  # newest first
    assert [r.id for r in store.search("fox RED")] == [fox.id]
    assert [r.id for r in store.search('"red fox"')] == [fox.id]
    assert store.search('"fox red"') == []
    assert [r.id for r in store.search("épée")] == [eu.id]  # beyond ASCII
    assert [r.id for r in store.search("100%")] == [eu.id]
    assert store.search("_") == []  # no LIKE wildcards leak through
    assert len(store.search("")) == 3
    assert [r.id for r in store.records(limit=2)] == [eu.id, cat.id]
    assert [r.id for r in store.records(limit=2, offset=2)] == [fox.id]
    store.pin(fox.id)
    assert [r.id for r in store.records(pinned=True)] == [fox.id]
    assert [r.id for r in store.search("red", pinned=False)] == [cat.id]


def test_other_formats_kept_as_they_came(tmp_path):
    store = ImageStore(tmp_path)
    data = jpeg()
    rec = store.put(data, prompt="jpeg one")
    assert rec.path.suffix == ".jpg" and rec.path.read_bytes() == data
    with pytest.raises(ValueError):
        store.put(b"not an image at all", prompt="x")
    with pytest.raises(ValueError):
        store.put(b"", prompt="x")


def test_index_survives_a_new_store_object(tmp_path):
    """A kernel restart: a new ImageStore on the same folder sees the same records."""
    rec = ImageStore(tmp_path).put(png(), prompt="persist", operation_id="o", image_index=2)
    again = ImageStore(tmp_path)
    got = again.get(operation_id="o", image_index=2)
    assert got == rec and got.read_bytes() == rec.read_bytes()
    with sqlite3.connect(tmp_path / "index.sqlite3") as db:
        assert db.execute("SELECT prompt FROM records").fetchall() == [("persist",)]


def test_empty_store_reads_without_creating_files(tmp_path):
    store = ImageStore(tmp_path / "never")
    assert store.records() == [] and store.search("x") == [] and len(store) == 0
    assert store.get(1) is None and store.delete(1) is False
    assert not (tmp_path / "never").exists()


def test_with_text_replaces_keys_and_refuses_non_png():
    data = with_text(png(), {"prompt": "one"})
    data = with_text(data, {"prompt": "two", "other": "x"})
    img = Image.open(io.BytesIO(data))
    img.load()
    assert img.text == {"prompt": "two", "other": "x"}
    with pytest.raises(ValueError):
        with_text(jpeg(), {"prompt": "p"})


def test_pin_unknown_record(tmp_path):
    store = ImageStore(tmp_path)
    store.put(png(), prompt="x")
    with pytest.raises(KeyError):
        store.pin(12345)
