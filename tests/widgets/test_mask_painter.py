"""The mask painter (anywidget): the image goes to the browser by message, the painted mask comes
back as a PNG of the image's size; in the Request Image panel it becomes the edit's mask.

No kernel: messages the widget sends are captured at ``comm.send``; the browser's messages
are delivered with ``comm.handle_msg`` as the kernel delivers them.
"""
from __future__ import annotations

import io

from PIL import Image
from test_edit_panel import GI, edit_posts, gi_conn, mask_png, noise_png, one, state_holds, upload_value

import azimage_widgets as aw
from azimage_widgets.widgets.widget_mask_painter import MaskPainter, painted_fraction


def capture(widget):
    sent = []
    widget.comm.send = lambda data=None, metadata=None, buffers=None: sent.append((data, buffers))
    return sent


def from_browser(widget, content, buffers=()):
    widget.comm.handle_msg({"content": {"comm_id": widget.comm.comm_id,
                                        "data": {"method": "custom", "content": content}},
                            "buffers": list(buffers)})


def test_the_image_goes_by_message_never_into_state():
    painter = MaskPainter()
    sent = capture(painter)
    image = noise_png(64, 48)
    painter.set_image(image)
    (data, buffers), = sent
    assert data["content"] == {"kind": "image", "mime": "image/png"}
    assert [bytes(b) for b in buffers] == [image]
    assert painter.size == (64, 48)
    assert state_holds(image) == []
    from_browser(painter, {"kind": "need-image"})  # a view rendered later asks again
    assert len(sent) == 2 and bytes(sent[1][1][0]) == image
    painter.set_image(None)
    assert sent[-1][0]["content"] == {"kind": "image"} and not sent[-1][1]


def test_a_painted_mask_of_the_images_size_is_taken():
    painter = MaskPainter()
    capture(painter)
    painter.set_image(noise_png(64, 48))
    mask = mask_png(64, 48)  # the left half transparent
    from_browser(painter, {"kind": "mask", "empty": False}, [memoryview(mask)])
    assert painter.mask == mask and "50%" in painter.note
    from_browser(painter, {"kind": "mask", "empty": True})
    assert painter.mask is None and "Nothing painted" in painter.note


def test_a_mask_of_another_size_or_kind_is_refused():
    painter = MaskPainter()
    capture(painter)
    painter.set_image(noise_png(64, 48))
    from_browser(painter, {"kind": "mask", "empty": False}, [memoryview(mask_png(32, 32))])
    assert painter.mask is None and "32x32" in painter.note and "64x48" in painter.note
    from_browser(painter, {"kind": "mask", "empty": False}, [memoryview(b"not a png")])
    assert painter.mask is None and "not a PNG" in painter.note


def test_painted_fraction_counts_transparent_pixels():
    assert painted_fraction(mask_png(10, 10)) == 0.5


async def test_panel_painted_mask_is_the_edits_mask(emu):
    p = aw.RequestImagePanel(gi_conn(emu), name="paint-panel", prompt="a sun here",
                             api_version=GI, size="1024x1024", namespace={})
    painter = one(p, "azimage-edit-painter")
    sent = capture(painter)
    image = noise_png(64, 48)
    one(p, "azimage-edit-image").value = upload_value("photo.png", image, "image/png")
    assert bytes(sent[-1][1][0]) == image  # the painter shows the uploaded image
    uploaded = one(p, "azimage-edit-uploaded").value
    assert "photo.png" in uploaded and "64x48" in uploaded
    mask = mask_png(64, 48)
    from_browser(painter, {"kind": "mask", "empty": False}, [memoryview(mask)])
    assert p.activity.edit_mask == mask
    assert "painted mask" in one(p, "azimage-edit-uploaded").value
    assert "where the mask is transparent" in one(p, "azimage-edit-info").value
    p.generate_button.click()
    await p.task
    (post,) = edit_posts(emu)
    assert p.activity.status == "succeeded"
    assert state_holds(image) == [] and state_holds(mask) == []
    # painting nothing again drops the painted mask; an uploaded mask would stay
    from_browser(painter, {"kind": "mask", "empty": True})
    assert p.activity.edit_mask is None
    one(p, "azimage-edit-mask").value = upload_value("mask.png", mask, "image/png")
    from_browser(painter, {"kind": "mask", "empty": True})
    assert p.activity.edit_mask == mask
    assert post is not None and Image.open(io.BytesIO(image)).size == (64, 48)
