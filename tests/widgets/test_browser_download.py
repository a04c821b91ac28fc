"""Save / Save all: bytes go to the viewer's browser as a download (custom message + buffer).

No kernel here: the widget's comm is ipywidgets' dummy comm. What it sends is
captured at ``comm.send``; the browser's "delivered" answer is delivered with
``comm.handle_msg`` as the kernel would.
"""
from __future__ import annotations

import io
import zipfile

from PIL import Image as PILImage
from test_widgets import _result, one, with_class

from azimage_widgets.widgets import PreviewGrid
from azimage_widgets.widgets.widget_browser_download import (
    BrowserDownload,
    size_text,
    unique_name,
    zip_bytes,
)


def capture(widget):
    sent = []
    widget.comm.send = lambda data=None, metadata=None, buffers=None: sent.append((data, buffers))
    return sent


def browser_says_delivered(widget, request_id, name, size):
    widget.comm.handle_msg({"content": {"comm_id": widget.comm.comm_id, "data": {
        "method": "custom", "content": {"kind": "delivered", "id": request_id, "name": name,
                                        "size": size}}}, "buffers": []})


def test_download_sends_the_bytes_as_a_buffer_and_reports_delivery():
    dl = BrowserDownload()
    sent = capture(dl)
    seen = []
    dl.download(b"\x89PNG fake", "a.png", "image/png", on_delivered=lambda n, s: seen.append((n, s)))
    (data, buffers), = sent
    assert data["method"] == "custom"
    msg = data["content"]
    assert (msg["kind"], msg["name"], msg["mime"]) == ("download", "a.png", "image/png")
    assert [bytes(b) for b in buffers] == [b"\x89PNG fake"]
    assert seen == []
    browser_says_delivered(dl, msg["id"], "a.png", 9)
    assert seen == [("a.png", 9)] and dl.delivered == [("a.png", 9)]
    browser_says_delivered(dl, msg["id"], "a.png", 9)  # a second answer calls nothing twice
    assert seen == [("a.png", 9)]


def test_tile_save_downloads_its_png_and_the_note_sits_in_its_caption():
    grid = PreviewGrid(prefix="fox")
    grid.show([_result(2, filtered=True)])
    sent = capture(grid.downloader)
    with_class(grid, "azimage-save")[1].click()
    (data, buffers), = sent
    msg = data["content"]
    assert msg["name"] == "fox_op-abcde_2.png" and msg["mime"] == "image/png"
    assert bytes(buffers[0]) == grid.entries[1][1].data  # the service's PNG bytes, unchanged
    caption = grid.captions[1][0]
    assert "sending fox_op-abcde_2.png" in caption.value
    browser_says_delivered(grid.downloader, msg["id"], msg["name"], len(bytes(buffers[0])))
    assert "downloaded fox_op-abcde_2.png" in caption.value
    assert "downloaded" not in grid.captions[0][0].value  # only beside the clicked button


def test_save_all_downloads_one_zip_of_every_image():
    grid = PreviewGrid(prefix="fox")
    grid.show([_result(3, filtered=True)])
    sent = capture(grid.downloader)
    one(grid, "azimage-save-all").click()
    (data, buffers), = sent
    msg = data["content"]
    assert msg["name"] == "fox_images.zip" and msg["mime"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(bytes(buffers[0]))) as zf:
        names = zf.namelist()
        assert names == ["fox_op-abcde_1.png", "fox_op-abcde_2.png", "fox_op-abcde_3.png"]
        assert all(PILImage.open(io.BytesIO(zf.read(n))).size == (512, 512) for n in names)
    status = one(grid, "azimage-save-status")
    assert "3 images" in status.value and "Sending" in status.value
    assert status in grid.toolbar.children  # the toolbar row of Save all
    browser_says_delivered(grid.downloader, msg["id"], msg["name"], 10)
    assert "Downloaded fox_images.zip" in status.value


def test_names_never_collide():
    assert unique_name("a.png", {"a.png", "a-2.png"}) == "a-3.png"
    assert unique_name("noext", lambda n: n == "noext") == "noext-2"
    with zipfile.ZipFile(io.BytesIO(zip_bytes([("x.png", b"1"), ("x.png", b"2")]))) as zf:
        assert zf.namelist() == ["x.png", "x-2.png"] and zf.read("x-2.png") == b"2"
    assert (size_text(10), size_text(2048), size_text(3 * 1024 * 1024)) == ("10 B", "2 kB", "3.0 MB")
