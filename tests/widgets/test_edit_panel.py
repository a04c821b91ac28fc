"""Image edits (gpt-image-1) in the Request Image activity and panel, against the real emulator
over HTTP. Fake keys only. Uploads are simulated the way ipywidgets 8 delivers them: a tuple of
dicts with name, type, size, content (a memoryview) and last_modified.
"""
from __future__ import annotations

import base64
import datetime as dt
import io
import json
import os

import pytest
from fakes import FAKE_KEY
from ipywidgets import FileUpload, Widget
from ipywidgets.widgets.widget import _instances, _remove_buffers
from PIL import Image

import azimage_widgets as aw
from azimage_widgets.contract import LEGACY_API_VERSION, ValidationError
from azimage_widgets.contract.edits import IMAGE_MAX_BYTES
from azimage_widgets.widgets import walk
from azimage_widgets.widgets.widget_tree import visible

D3 = "2024-10-21"
GI = "2025-04-01-preview"


def noise_png(w: int = 64, h: int = 48) -> bytes:
    """A PNG whose bytes are unique to this run (random pixels): easy to look for in widget state."""
    img = Image.frombytes("RGBA", (w, h), os.urandom(w * h * 4))
    img.putalpha(255)
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def mask_png(w: int = 64, h: int = 48) -> bytes:
    """Opaque, with a transparent left half: edit there."""
    img = Image.new("RGBA", (w, h), (0, 0, 0, 255))
    img.paste((0, 0, 0, 0), (0, 0, w // 2, h))
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def upload_value(name: str, data: bytes, mime: str) -> tuple[dict, ...]:
    """What ipywidgets 8's FileUpload.value holds after the user picks one file."""
    return ({"name": name, "type": mime, "size": len(data), "content": memoryview(data),
             "last_modified": dt.datetime(2025, 4, 1, 12, 0, tzinfo=dt.timezone.utc)},)


def gi_conn(emu) -> aw.Connection:
    return aw.Connection(emu.endpoint, api_key=FAKE_KEY, api_version=GI, deployment="gi",
                         max_retries=0)


def by_class(root: Widget, css: str) -> list[Widget]:
    return [w for w in walk(root) if css in getattr(w, "_dom_classes", ())]


def one(root: Widget, css: str) -> Widget:
    found = by_class(root, css)
    assert len(found) == 1, (css, found)
    return found[0]


def edit_posts(emu) -> list:
    return [r for r in emu.requests if r.method == "POST" and r.path.endswith("/images/edits")]


def state_holds(data: bytes) -> list[str]:
    """Models of live widgets whose synced state (JSON or binary buffers) holds ``data``."""
    b64 = base64.b64encode(data).decode()
    holders = []
    for w in list(_instances.values()):
        if w.comm is None and not w.keys:
            continue
        state, _paths, buffers = _remove_buffers(w.get_state())
        text = json.dumps(state, default=str)
        if b64 in text or any(data in bytes(buf) for buf in buffers):
            holders.append(f"{w._model_name} {w.model_id}")
    return holders


# Async tests do not close their activities: closing cancels the activity's task, which is the
# test's own task here (it ran the activity).

# -- layer 3: the activity --------------------------------------------------------------------

async def test_activity_edit_with_image_and_mask(emu):
    conn = gi_conn(emu)
    a = aw.RequestImage(conn, name="edit-act", api_version=GI, prompt="paint a sun",
                        size="1024x1536", n=2, quality="low")
    a.edit_image = noise_png()
    a.edit_mask = mask_png()
    ops = await a.generate(follow=True)
    assert a.status == "succeeded" and "edited" in a.message
    assert [im.size for im in a.results[0].images] == [(1024, 1536)] * 2
    assert len(edit_posts(emu)) == 1 and ops.edit
    assert not [r for r in emu.requests if r.path.endswith("/images/generations")]
    # the answer is recorded by id like any synchronous result
    dl = aw.DownloadImage(conn, name="edit-dl", api_version=GI, image_id=ops.ids[0])
    assert len((await dl.download()).images) == 2
    # without an image it generates again
    a.edit_mask = None
    a.edit_image = None
    await a.generate(follow=False)
    assert len(edit_posts(emu)) == 1
    assert [r for r in emu.requests if r.path.endswith("/images/generations")]


def test_activity_edit_fields_are_checked_by_the_contract():
    a = aw.RequestImage(None, name="edit-check", api_version=GI, prompt="p")
    with pytest.raises(ValidationError) as ei:
        a.edit_image = b"GIF89a not ours"
    assert ei.value.field == "edit_image" and "PNG or JPEG" in ei.value.limit
    with pytest.raises(ValidationError) as ei:
        a.edit_image = b"\x89PNG\r\n\x1a\n" + b"\0" * IMAGE_MAX_BYTES
    assert ei.value.field == "edit_image" and "25 MB" in ei.value.limit
    with pytest.raises(ValidationError) as ei:
        a.edit_mask = b"\xff\xd8\xff a jpeg"
    assert ei.value.field == "edit_mask" and "PNG" in ei.value.limit
    with pytest.raises(ValidationError) as ei:
        a.edit_image = "not bytes"
    assert ei.value.field == "edit_image"
    assert a.edit_image is None and a.edit_mask is None
    a.edit_image = memoryview(noise_png())
    assert isinstance(a.edit_image, bytes) and a.editing
    assert "edit_image" not in a.config()  # bytes are no configuration
    a.api_version = D3  # dall-e-3 has no edits: the files go
    assert a.edit_image is None and not a.editing
    with pytest.raises(ValidationError) as ei:
        a.edit_image = noise_png()
    assert ei.value.field == "edit_image" and "no image edits" in ei.value.limit
    a.close()


async def test_activity_mask_without_image_is_refused(emu):
    a = aw.RequestImage(gi_conn(emu), name="edit-mask-only", api_version=GI, prompt="p")
    a.edit_mask = mask_png()
    with pytest.raises(ValidationError) as ei:
        await a.submit()
    assert ei.value.field == "edit_mask" and a.status == "failed"
    assert not [r for r in emu.requests if r.method == "POST"]


# -- layer 4: the panel -----------------------------------------------------------------------

def test_edit_section_only_for_gpt_image_1():
    p = aw.RequestImagePanel(name="edit-vis", prompt="p", namespace={})
    section = one(p, "azimage-edit-section")
    assert not visible(section) and not by_class(p, "azimage-edit")
    assert not [w for w in walk(p) if isinstance(w, FileUpload)]  # nothing made for dall-e-2
    version = p.fields["api_version"].input
    version.value = D3
    assert not visible(section)
    version.value = GI
    assert visible(section)
    acc = one(p, "azimage-edit")
    assert acc.selected_index is None and acc.titles == ("Edit an image",)  # collapsed
    image_up = one(p, "azimage-edit-image")
    mask_up = one(p, "azimage-edit-mask")
    assert isinstance(image_up, FileUpload) and isinstance(mask_up, FileUpload)
    assert not image_up.multiple and ".png" in image_up.accept and ".jpg" in image_up.accept
    assert mask_up.accept == ".png,image/png"
    assert p.generate_button.description == "Generate"
    version.value = LEGACY_API_VERSION
    assert not visible(section)
    p.close()


async def test_panel_upload_runs_an_edit(emu):
    p = aw.RequestImagePanel(gi_conn(emu), name="edit-panel", prompt="paint a sun",
                             api_version=GI, size="1024x1024", namespace={})
    image, mask = noise_png(), mask_png()
    image_up, mask_up = one(p, "azimage-edit-image"), one(p, "azimage-edit-mask")
    image_up.value = upload_value("photo.png", image, "image/png")
    mask_up.value = upload_value("mask.png", mask, "image/png")
    assert image_up.value == () and mask_up.value == ()  # read into the activity, then cleared
    assert p.activity.edit_image == image and p.activity.edit_mask == mask
    preview = one(p, "azimage-edit-preview")
    assert visible(preview) and preview.value and preview.value != image
    assert max(Image.open(io.BytesIO(preview.value)).size) <= 128
    assert p.generate_button.description == "Generate edit"
    assert "photo.png" in one(p, "azimage-edit-info").value
    assert not one(p, "azimage-edit-image-error").value
    p.generate_button.click()
    await p.task
    assert len(edit_posts(emu)) == 1
    assert p.activity.status == "succeeded"
    assert "edited" in one(p, "azimage-status").value
    assert [im.size for im in p.results[0].images] == [(1024, 1024)]
    assert p.ids and p.previews.children  # previews work unchanged
    # no widget holds the upload's bytes in its synced state
    assert state_holds(image) == [] and state_holds(mask) == []
    # Clear: back to generating
    one(p, "azimage-edit-clear").click()
    assert p.activity.edit_image is None and p.generate_button.description == "Generate"
    assert not visible(preview)
    p.close()


def test_panel_upload_through_the_front_end_path():
    """The same upload as a front end sends it (set_state, last_modified in ms)."""
    p = aw.RequestImagePanel(name="edit-fe", prompt="p", api_version=GI, namespace={})
    image = noise_png()
    up = one(p, "azimage-edit-image")
    up.set_state({"value": [{"name": "a.png", "type": "image/png", "size": len(image),
                             "content": memoryview(image), "last_modified": 1743508800000}]})
    assert up.value == () and p.activity.edit_image == image
    assert state_holds(image) == []
    p.close()


def test_panel_refuses_a_non_image_upload():
    p = aw.RequestImagePanel(name="edit-bad", prompt="p", api_version=GI, namespace={})
    up = one(p, "azimage-edit-image")
    text = b"just some notes, not a picture " + os.urandom(16)
    up.value = upload_value("notes.txt", text, "text/plain")
    error = one(p, "azimage-edit-image-error").value
    assert "notes.txt" in error and "PNG or JPEG" in error
    assert p.activity.edit_image is None and up.value == ()
    assert p.generate_button.description == "Generate"
    assert state_holds(text) == []
    # a PNG header over garbage passes the contract's check but is no image: refused too
    fake = b"\x89PNG\r\n\x1a\n" + os.urandom(64)
    up.value = upload_value("broken.png", fake, "image/png")
    assert "could not be read" in one(p, "azimage-edit-image-error").value
    assert p.activity.edit_image is None
    # a JPEG mask is refused next to the mask field; a good image clears the image error
    good = noise_png()
    up.value = upload_value("ok.png", good, "image/png")
    assert p.activity.edit_image == good and not one(p, "azimage-edit-image-error").value
    buf = io.BytesIO()
    Image.new("RGB", (64, 48)).save(buf, "JPEG")
    one(p, "azimage-edit-mask").value = upload_value("m.jpg", buf.getvalue(), "image/jpeg")
    assert "must be a PNG" in one(p, "azimage-edit-mask-error").value
    assert p.activity.edit_mask is None
    p.close()
