"""Fetched images land in the store; aw.history() shows, searches, pins and deletes them."""
from __future__ import annotations

import asyncio
import io
import os

from PIL import Image

import azimage_widgets as aw
from azimage_widgets.store import ImageStore, default_store
from azimage_widgets.widgets import walk


def uniq(prefix: str = "hist") -> str:
    uniq.n = getattr(uniq, "n", 0) + 1  # type: ignore[attr-defined]
    return f"{prefix}-{os.getpid()}-{uniq.n}"  # type: ignore[attr-defined]


def with_class(root, css):
    return [w for w in walk(root) if css in getattr(w, "_dom_classes", ())]


async def generate(conn, prompt, **kw):
    req = aw.RequestImage(conn, name=uniq(), prompt=prompt, size="256x256", **kw)
    ops = await asyncio.create_task(req.generate())
    return req, ops


async def test_request_and_download_put_every_image_in_the_store(conn, emu):
    req, ops = await generate(conn, "a red fox in the snow", n=2)
    store = default_store()
    recs = store.records(operation_id=ops.ids[0])
    assert sorted(r.image_index for r in recs) == [0, 1]
    for rec in recs:
        assert rec.prompt == "a red fox in the snow"
        assert rec.api_version == conn.api_version and rec.size == "256x256"
        assert rec.endpoint == emu.endpoint
        assert rec.expires is not None and rec.created is not None
        assert "?" not in rec.source_url and "sig=" not in rec.source_url
        assert Image.open(rec.path).text["prompt"] == "a red fox in the snow"
    # the slot knows its record, and the stored pixels are the previewed ones
    slot = req.results[0].slots[0]
    assert slot.record is not None and slot.record.image().tobytes() == slot.image.tobytes()
    # Download Image by id (another activity, no prompt of its own) names the prompt too
    dl = aw.DownloadImage(conn, name=uniq(), image_id=ops.ids[0])
    await asyncio.create_task(dl.download())
    again = store.records(operation_id=ops.ids[0])
    assert len(again) == 2 and all(r.prompt == "a red fox in the snow" for r in again)


async def test_store_false_and_a_folder_per_activity(conn, tmp_path):
    _req, ops = await generate(conn, "not kept", store=False)
    assert default_store().records(operation_id=ops.ids[0]) == []
    _req, ops = await generate(conn, "kept elsewhere", store=tmp_path / "mine")
    assert default_store().records(operation_id=ops.ids[0]) == []
    assert [r.prompt for r in ImageStore(tmp_path / "mine").records()] == ["kept elsewhere"]
    panel = aw.RequestImagePanel(conn, name=uniq(), prompt="panel not kept", size="256x256",
                                 store=False)
    ops = await panel.submit()
    assert default_store().records(operation_id=ops.ids[0]) == []
    panel.close()


async def test_a_store_failure_never_fails_the_download(conn, tmp_path):
    blocker = tmp_path / "file-not-folder"
    blocker.write_text("x")
    req, ops = await generate(conn, "unstorable", store=blocker / "sub")
    assert req.status == "succeeded" and len(req.results[0].images) == 1
    assert req.results[0].slots[0].record is None


async def test_previews_survive_the_service_and_a_restart(conn, emu):
    await generate(conn, "a blue whale")
    await generate(conn, "a red fox at dawn")
    emu.stop()  # the service is gone: its URLs are as good as expired
    fresh = ImageStore(default_store().path)  # a new kernel: a new store object
    gallery = aw.history(store=fresh)
    assert [r.prompt for r in gallery.records] == ["a red fox at dawn", "a blue whale"]
    thumbs = with_class(gallery, "azimage-history-thumb")
    assert len(thumbs) == 2
    assert all(Image.open(io.BytesIO(t.value)).format == "WEBP" for t in thumbs)
    assert max(Image.open(io.BytesIO(thumbs[0].value)).size) <= 256
    captions = [c.value for c in with_class(gallery, "azimage-history-caption")]
    assert "a red fox at dawn" in captions[0] and "UTC" in captions[0]


async def test_gallery_search_pin_delete(conn):
    await generate(conn, "a red fox")
    await generate(conn, "a grey wolf")
    await generate(conn, 'a <b>"red"</b> barn')
    gallery = aw.history()
    assert len(gallery.records) == 3
    search = with_class(gallery, "azimage-history-search")[0]
    search.value = "red"  # what typing in the box (and pressing enter) does
    assert sorted(r.prompt for r in gallery.records) == ['a <b>"red"</b> barn', "a red fox"]
    assert len(with_class(gallery, "azimage-history-tile")) == 2
    # prompts are shown as text, never as HTML
    assert all("<b>" not in c.value for c in with_class(gallery, "azimage-history-caption"))
    assert gallery.search("wolf")[0].prompt == "a grey wolf"
    # pin from the tile
    with_class(gallery, "azimage-history-pin")[0].value = True
    assert default_store().records(pinned=True)[0].prompt == "a grey wolf"
    gallery.search("")
    with_class(gallery, "azimage-history-pinned-only")[0].value = True
    assert [r.prompt for r in gallery.records] == ["a grey wolf"]
    with_class(gallery, "azimage-history-pinned-only")[0].value = False
    # delete from the tile: the record and its file go, the old tiles are closed
    old_tiles = list(gallery.tiles)
    target = gallery.records[0]
    with_class(gallery, "azimage-history-delete")[0].click()
    assert default_store().get(target.id) is None and not target.path.exists()
    assert len(gallery.records) == 2
    assert all(t.comm is None for t in old_tiles)
    assert "Deleted" in with_class(gallery, "azimage-history-status")[0].value
    # the query and limit arguments
    assert [r.prompt for r in aw.history("fox").records] == ["a red fox"]
    assert len(aw.history(limit=1).records) == 1


def test_history_of_an_empty_store(tmp_path):
    gallery = aw.history(store=tmp_path / "empty")
    assert gallery.records == [] and gallery.tiles == []
    assert "0 shown of 0" in with_class(gallery, "azimage-history-count")[0].value
    assert not (tmp_path / "empty").exists()


async def test_typing_in_the_search_box_searches_once_typing_pauses(conn):
    from helpers import front_end_update

    from azimage_widgets.widgets.widget_history import SEARCH_DEBOUNCE_S

    await generate(conn, "a red fox")
    await generate(conn, "a grey wolf")
    gallery = aw.history()
    assert len(gallery.records) == 2
    calls = []
    original = gallery.refresh
    gallery.refresh = lambda: calls.append(gallery.query) or original()
    search = with_class(gallery, "azimage-history-search")[0]
    assert search.continuous_update  # the browser sends each keystroke
    for typed in ("w", "wo", "wol", "wolf"):
        front_end_update(search, {"value": typed})
    assert calls == [] and len(gallery.records) == 2  # still typing: nothing searched yet
    await asyncio.sleep(SEARCH_DEBOUNCE_S * 2)
    assert calls == ["wolf"] and [r.prompt for r in gallery.records] == ["a grey wolf"]
    gallery.search("fox")  # from Python: at once
    assert calls[-1] == "fox" and [r.prompt for r in gallery.records] == ["a red fox"]
    from azimage_widgets.widgets import walk

    tree = list(walk(gallery))
    gallery.close()
    # no container stays open naming closed children (a front end would miss their models)
    assert [type(w).__name__ for w in tree if w.comm is not None and getattr(w, "children", ())] == []
    assert all(w.comm is None for w in tree if "azimage-history-tile" in getattr(w, "_dom_classes", ()))
