"""Panels against the emulator over real HTTP, no kernel: click, await the task, check the widgets."""
from __future__ import annotations

import asyncio
import io
import json
import uuid

import pytest
import traitlets
from helpers import wait_for
from ipywidgets import Image
from ipywidgets.widgets.widget import _instances
from PIL import Image as PILImage

import azimage_widgets as aw
from azimage_widgets.contract import ContentFilterError
from azimage_widgets.widgets import walk
from azimage_widgets.widgets.widget_tree import visible


def uniq(prefix: str = "p") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def with_class(root, css):
    return [w for w in walk(root) if css in getattr(w, "_dom_classes", ())]


def one(root, css):
    found = with_class(root, css)
    assert len(found) == 1, (css, found)
    return found[0]


def thumbnails(root):
    out = []
    for w in with_class(root, "azimage-thumb"):
        assert isinstance(w, Image)
        out.append(PILImage.open(io.BytesIO(w.value)))
    return out


async def test_click_generate_ids_and_thumbnails(conn):
    ns: dict = {}
    p = aw.RequestImagePanel(conn, name=uniq(), output="fox", prompt="a red fox", size="512x512",
                             n=2, namespace=ns)
    one(p, "azimage-generate").click()
    task = p.task
    assert isinstance(task, asyncio.Task)
    assert one(p, "azimage-generate").disabled and not one(p, "azimage-cancel").disabled
    ops = await task
    assert p.ids == ops.ids and len(p.ids) == 1
    assert p.ids[0] in one(p, "azimage-ids").value
    thumbs = thumbnails(p)
    assert len(thumbs) == 2
    assert all(t.format in ("JPEG", "WEBP") and max(t.size) <= 256 for t in thumbs)
    assert "succeeded" in one(p, "azimage-status").value
    assert "succeeded" in one(p, "azimage-progress-row").value
    assert ns["fox"].ids == p.ids and len(ns["fox"].results[0].images) == 2
    assert not one(p, "azimage-generate").disabled and not one(p, "azimage-delete").disabled


async def test_submit_returns_awaitable_task_and_loop_stays_free(conn, emu):
    emu.config.processing_time = 1.0
    p = aw.RequestImagePanel(conn, name=uniq(), prompt="a fox", size="256x256", namespace={})
    task = p.submit()
    ticks = 0
    while not task.done():  # another "cell" keeps running while the images are made
        ticks += 1
        await asyncio.sleep(0.05)
    assert ticks >= 10
    await task
    assert len(thumbnails(p)) == 1


async def test_follow_off_shows_ids_only(conn):
    p = aw.RequestImagePanel(conn, name=uniq(), prompt="a fox", size="256x256", namespace={})
    one(p, "azimage-follow").value = False
    await p.submit()
    assert p.ids and p.ids[0] in one(p, "azimage-ids").value
    assert thumbnails(p) == [] and p.results == []


async def test_content_filter_refusal_shown_with_code_and_message(conn, emu):
    word = emu.config.content_filter_word
    p = aw.RequestImagePanel(conn, name=uniq(), prompt=f"please {word}", size="256x256",
                             namespace={})
    one(p, "azimage-generate").click()
    with pytest.raises(ContentFilterError):
        await p.task
    await asyncio.sleep(0)  # let the done-callback run
    status = one(p, "azimage-status")
    assert "azimage-error" in status._dom_classes
    assert "contentFilter" in status.value and "safety system" in status.value
    assert "contentFilter" in one(p, "azimage-progress-row").value
    assert thumbnails(p) == []


async def test_partial_filter_placeholder(conn, emu):
    word = emu.config.partial_filter_word
    p = aw.RequestImagePanel(conn, name=uniq(), prompt=f"cats {word}", size="256x256", n=3,
                             namespace={})
    await p.submit()
    assert len(thumbnails(p)) == 2
    ph = one(p, "azimage-filtered")
    assert "contentFilter" in ph.value and "filtered" in ph.value


async def test_validation_error_next_to_field_on_generate(conn):
    p = aw.RequestImagePanel(conn, name=uniq(), prompt="   ", namespace={})
    one(p, "azimage-generate").click()
    with pytest.raises(aw.ValidationError):
        await p.task
    assert "blank" in one(p, "azimage-prompt-error").value
    assert "prompt" in one(p, "azimage-status").value


async def test_download_panel_variable_urls_expiry_previews(conn):
    ns: dict = {}
    req = aw.RequestImagePanel(conn, name=uniq(), output="fox", prompt="a fox", size="256x256",
                               n=2, namespace=ns)
    ns["fox_id"] = None
    dl = aw.DownloadImagePanel(conn, name=uniq(), image_id="[fox_id]", output="fox_images",
                               namespace=ns)
    # an undefined / wrong variable is a clear error in the panel
    del ns["fox_id"]
    one(dl, "azimage-download").click()
    with pytest.raises(aw.ValidationError):
        await dl.task
    assert "fox_id" in one(dl, "azimage-image-id-error").value
    assert "not defined" in one(dl, "azimage-status").value

    await req.submit()
    ns["fox_id"] = ns["fox"][0].id
    one(dl, "azimage-download").click()
    res = await dl.task
    assert dl.result is res and ns["fox_images"] is res
    urls = one(dl, "azimage-urls").value
    assert "expire" in urls and res.expires.strftime("%Y-%m-%d") in urls
    assert urls.count("<a href=") == 2
    assert len(thumbnails(dl)) == 2
    assert all(im.size == (256, 256) for im in res.images)


async def test_dlink_chain_then_download(conn):
    req = aw.RequestImagePanel(conn, name=uniq(), prompt="a fox", size="256x256", namespace={})
    one(req, "azimage-follow").value = False
    dl = aw.DownloadImagePanel(conn, name=uniq(), namespace={})
    traitlets.dlink((req, "ids"), (dl, "image_id"), lambda ids: ids[0] if ids else "")
    await req.submit()
    assert dl.image_id == req.ids[0] and one(dl, "azimage-image-id").value == req.ids[0]
    res = await dl.submit()
    assert res.id == req.ids[0] and len(thumbnails(dl)) == 1


async def test_cancel_button(conn, emu):
    emu.config.processing_time = 30
    p = aw.RequestImagePanel(conn, name=uniq(), prompt="a slow fox", size="256x256", namespace={})
    p.submit()
    await wait_for(lambda: p.ids and p.activity.running)
    one(p, "azimage-cancel").click()
    with pytest.raises(asyncio.CancelledError):
        await p.task
    await asyncio.sleep(0)
    status = one(p, "azimage-status").value
    assert "canceled" in status and "may still finish" in status
    assert not one(p, "azimage-generate").disabled


async def test_delete_button(conn):
    p = aw.RequestImagePanel(conn, name=uniq(), prompt="a fox", size="256x256", namespace={})
    await p.submit()
    one(p, "azimage-delete").click()
    deleted = await next(iter(p._tasks))
    assert deleted == p.ids
    assert "deleted" in one(p, "azimage-progress-row").value
    assert "Deleted" in one(p, "azimage-status").value


async def test_no_key_in_any_state_after_runs(conn, emu):
    ns: dict = {}
    req = aw.RequestImagePanel(conn, name=uniq(), output="fox", prompt="a fox", size="256x256",
                               n=2, namespace=ns)
    dl = aw.DownloadImagePanel(conn, name=uniq(), image_id="[fox][0]", namespace=ns)
    await req.submit()
    await dl.submit()
    with_class(req, "azimage-fullsize")[0].click()
    seen = 0
    for root in (req, dl):
        for w in walk(root):
            assert emu.api_key not in json.dumps(w.get_state(), default=repr)
            seen += 1
    assert seen > 80
    # and nowhere in any live widget at all
    for w in list(_instances.values()):
        assert emu.api_key not in json.dumps(w.get_state(), default=repr)


async def test_rerun_does_not_leak_widgets(conn):
    p = aw.RequestImagePanel(conn, name=uniq(), prompt="a fox", size="256x256", n=3, namespace={})
    await p.submit()
    first_tiles = with_class(p, "azimage-tile")
    after_first = len(_instances)
    await p.submit()
    await p.submit()
    assert len(_instances) == after_first
    assert all(t.comm is None for t in first_tiles)
    assert len(thumbnails(p)) == 3


async def test_rerun_of_the_cell_replaces_the_panel(conn):
    name = uniq()
    old = aw.RequestImagePanel(conn, name=name, prompt="a fox", size="256x256", namespace={})
    await old.submit()
    old_widgets = list(walk(old))
    new = aw.RequestImagePanel(conn, name=name, prompt="a fox", size="256x256", namespace={})
    # the old panel stays on the page, disabled, its previews kept; the new one runs
    assert all(w.comm is not None for w in old_widgets)
    assert old.generate_button.disabled and "azimage-retired" in old._dom_classes
    await new.submit()
    assert visible(new.previews.grid) and new.activity.status.value == "succeeded"
    assert old.activity.closed and old.status.value == "succeeded"
