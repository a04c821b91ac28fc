"""Widget state stays small (issue 6, bench 4): upper bounds on models and JSON bytes.

Counts and bytes are deterministic (no timings): every model's full state as
a front end receives it on ``comm_open`` and as nbclient saves it in a
notebook. Before the panels shared their Layout and Style models
(widget_style), an empty RequestImagePanel was 252 models / 171,679 bytes, an
empty DownloadImagePanel 180 / 125,976, and a preview tile 13 models /
~10.3 kB beside its thumbnail. The bounds leave ~10 % room over today's
figures (110 / 64.6 kB, 81 / 51.2 kB, 5 models / 2.7 kB per tile).
"""
from __future__ import annotations

import json
import uuid

from ipywidgets import Widget
from ipywidgets.widgets.widget import _instances, _remove_buffers
from test_widgets import _result

import azimage_widgets as aw
from azimage_widgets.widgets import PreviewGrid, walk
from azimage_widgets.widgets.widget_style import is_shared
from azimage_widgets.widgets.widget_tree import close_tree, visible


def uniq() -> str:
    return f"w-{uuid.uuid4().hex[:8]}"


def size(root: Widget) -> tuple[int, int]:
    """(models, JSON bytes of their full state without binary buffers) reachable from ``root``."""
    models = json_bytes = 0
    for w in walk(root):
        state, _paths, _buffers = _remove_buffers(w.get_state())
        json_bytes += len(json.dumps(state, default=str).encode())
        models += 1
    return models, json_bytes


def test_empty_request_panel_is_small():
    p = aw.RequestImagePanel(name=uniq(), prompt="a red fox", namespace={})
    models, nbytes = size(p)
    assert models <= 120, models
    assert nbytes <= 72_000, nbytes
    layouts = [w for w in walk(p) if w._model_name == "LayoutModel"]
    assert len(layouts) <= 15, len(layouts)  # one per distinct look, not one per widget
    p.close()


def test_empty_download_panel_is_small():
    d = aw.DownloadImagePanel(name=uniq(), namespace={})
    models, nbytes = size(d)
    assert models <= 90, models
    assert nbytes <= 57_000, nbytes
    d.close()


def test_a_preview_tile_costs_five_small_models():
    grid = PreviewGrid(prefix="fox")
    bare = size(grid)
    # once per grid, with its first tiles: the downloader and the full-size overlay (their code)
    grid.page_widgets()
    empty = size(grid)
    assert empty[0] - bare[0] <= 2 and empty[1] - bare[1] <= 5_300, (bare, empty)  # ~4.8 kB today
    grid.show([_result(4, filtered=False)])
    four = size(grid)
    grid.show([_result(5, filtered=False)])
    five = size(grid)
    tile_models, tile_bytes = five[0] - four[0], five[1] - four[1]
    # GridBox, thumbnail Image, Full size, Save, caption HTML; layouts and styles are shared
    assert tile_models <= 5, tile_models
    assert tile_bytes <= 3_000, tile_bytes
    # a 5-image result, the tiles' shared layouts included
    per_image = (five[1] - empty[1]) / 5
    assert per_image <= 3_600, per_image
    grid.close()


def test_opening_and_closing_parts_makes_no_new_models_each_time():
    p = aw.RequestImagePanel(name=uniq(), prompt="a fox", namespace={})
    f = p.frame

    def open_and_close_parts() -> None:
        f.next(), f.back(), f.ask_discard(), f.cancel_discard()
        p.view_code_button.value = True
        p.view_code_button.value = False
        p.schema_tools.open_editor()
        p.schema_tools.close_editor()
        f.save_and_exit(), f.reopen()

    open_and_close_parts()
    once = len(_instances)
    for _ in range(3):
        open_and_close_parts()
    assert len(_instances) == once
    p.close()


def test_hiding_a_widget_never_hides_the_widgets_sharing_its_layout():
    p = aw.RequestImagePanel(name=uniq(), prompt="a fox", namespace={})
    f = p.frame
    shared = [w for w in walk(p) if w is not f.next_button
              and getattr(w, "layout", None) is f.next_button.layout]
    assert shared  # e.g. Discard Changes, Generate, Cancel share the plain button layout
    f.next()
    assert not visible(f.next_button) and visible(f.back_button)
    # Next hides Next, Save & Exit and step 1; nothing else that shared their layout
    assert all(visible(w) for w in shared if w not in (f.save_exit_button, f.step1))
    assert not visible(f.save_exit_button) and not visible(f.step1)
    assert f.next_button.layout is not f.discard_button.layout  # swapped, not changed
    f.back()
    assert visible(f.next_button) and f.next_button.layout is f.discard_button.layout
    p.close()


def test_closing_tiles_keeps_shared_models_closing_the_panel_closes_them():
    p = aw.RequestImagePanel(name=uniq(), prompt="a fox", namespace={})
    p.previews.show([_result(2, filtered=True)])
    tile = p.previews.tiles[0]
    shared = [w for w in walk(tile) if is_shared(w)]
    assert shared
    close_tree(tile)
    assert all(w.comm is not None for w in shared)  # other tiles and widgets still use them
    everything = list(walk(p))
    before = len(_instances)
    p.close()
    assert all(w.comm is None for w in everything)
    assert all(w.comm is None for w in shared)
    assert len(_instances) < before - len(everything) // 2
