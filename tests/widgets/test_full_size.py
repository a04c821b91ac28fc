"""Full size: the image goes to an overlay by message (never into widget state); the browser's
"closed" answer (a click or Escape there) resets the grid's ``full_index``."""
from __future__ import annotations

import io

from PIL import Image as PILImage
from test_widgets import _result, with_class

from azimage_widgets.widgets import PreviewGrid
from azimage_widgets.widgets.widget_full_size import FullSizeView


def capture(widget):
    sent = []
    widget.comm.send = lambda data=None, metadata=None, buffers=None: sent.append((data, buffers))
    return sent


def closed_by_the_user(widget):
    widget.comm.handle_msg({"content": {"comm_id": widget.comm.comm_id, "data": {
        "method": "custom", "content": {"kind": "closed"}}}, "buffers": []})


def test_full_size_opens_the_png_in_the_overlay_and_closes():
    grid = PreviewGrid(prefix="fox")
    grid.show([_result(2, filtered=False)])
    sent = capture(grid.full_view)
    with_class(grid, "azimage-fullsize")[1].click()
    (data, buffers), = sent
    msg = data["content"]
    assert msg["kind"] == "show" and msg["mime"] == "image/png"
    assert msg["caption"] == "image 2 of op-abcdef123 \u00b7 512x512"  # one numbering: from 1
    assert PILImage.open(io.BytesIO(bytes(buffers[0]))).size == (512, 512)
    assert grid.full_index == 1
    assert b"PNG" not in str(grid.full_view.get_state()).encode()  # the bytes are not state
    closed_by_the_user(grid.full_view)
    assert grid.full_index is None and grid.full_view.showing is None
    grid.hide_full()
    assert len(sent) == 1  # nothing open: no message


def test_new_results_close_an_open_overlay():
    grid = PreviewGrid(prefix="fox")
    grid.show([_result(1, filtered=False)])
    sent = capture(grid.full_view)
    grid.show_full(0)
    grid.show([_result(1, filtered=False)])
    assert sent[-1][0]["content"] == {"kind": "hide"} and grid.full_index is None


def test_view_alone_reports_closing():
    closed = []
    view = FullSizeView(on_close=lambda: closed.append(True))
    capture(view)
    view.show_image(b"\x89PNG...", "x")
    closed_by_the_user(view)
    assert closed == [True] and view.showing is None
