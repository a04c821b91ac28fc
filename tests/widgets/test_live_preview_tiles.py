"""Live preview tiles: laid out before the first partial, partials applied in order and never
after the finished image, each picture a small blurred thumbnail of its partial.

Streamed runs go to the real emulator (``emu``); the ordering cases drive ``PreviewGrid``
directly so that a late partial is certain, not a matter of timing.
"""
from __future__ import annotations

import base64
import io
from typing import Any

from fakes import FAKE_KEY
from PIL import Image, ImageFilter, ImageStat

import azimage_widgets as aw
from azimage_widgets.activities.download_result import DownloadResult, ImageSlot, decode_image
from azimage_widgets.contract import ImageItem, ImageResult
from azimage_widgets.store.thumbnails import make_thumbnail
from azimage_widgets.widgets import PreviewGrid
from azimage_widgets.widgets.widget_partials import partial_picture, preview_box


def _png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def _checkers(size: tuple[int, int] = (1024, 1024), cell: int = 64) -> bytes:
    """A picture with sharp edges everywhere: blur shows plainly in its edge energy."""
    img = Image.new("RGB", size, "white")
    px = img.load()
    for y in range(size[1]):
        for x in range(size[0]):
            if (x // cell + y // cell) % 2:
                px[x, y] = (20, 40, 160)
    return _png(img)


def _edges(data: bytes) -> float:
    """Mean edge strength of an encoded picture (lower: blurrier)."""
    with Image.open(io.BytesIO(data)) as img:
        return float(ImageStat.Stat(img.convert("L").filter(ImageFilter.FIND_EDGES)).mean[0])


def _size(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as img:
        return img.size


def _final(color: str = "green") -> DownloadResult:
    data = _png(Image.new("RGB", (64, 64), color))
    res = ImageResult(id="final-op", status="succeeded", created=1,
                      items=(ImageItem(index=0, b64_json=base64.b64encode(data).decode()),))
    img, thumb = decode_image(data)
    return DownloadResult(res, [ImageSlot(0, data=data, image=img, thumbnail=thumb)])


def _v1_panel(emu: Any, **config: Any) -> aw.RequestImagePanel:
    conn = aw.Connection(endpoint=emu.endpoint, api_key=FAKE_KEY, api_version="v1",
                         deployment="gpt-image-2")
    return aw.RequestImagePanel(conn, name="live", prompt="a red fox in the snow",
                                quality="low", namespace={}, **config)


async def test_placeholder_tiles_are_laid_out_before_the_first_partial(emu) -> None:
    emu.config.processing_time = 1.0
    p = _v1_panel(emu, size="1536x1024", n=2, partial_images=2)
    at_open: dict[str, Any] = {}
    at_first: dict[str, Any] = {}

    def opened(change: Any) -> None:  # observers run in order: the panel's has laid them out
        if change["new"] and not at_open:
            at_open.update(tiles=list(p.previews.tiles), shown=list(p.previews.grid.children),
                           sent=list(emu.stream_events),
                           holders=[t.children[0].value for t in p.previews.tiles])

    def first_partial(change: Any) -> None:
        if change["new"] is not None and not at_first:
            at_first.update(tiles=list(p.previews.tiles), sent=list(emu.stream_events))

    p.activity.observe(opened, names="previewing")
    p.activity.observe(first_partial, names="partial")
    await p.submit()

    tiles = at_open["tiles"]
    assert at_open["sent"] == []  # the stream was open, nothing streamed yet
    assert len(tiles) == 2 and at_open["shown"] == tiles
    for tile, holder in zip(tiles, at_open["holders"], strict=True):
        assert "azimage-partial" in tile._dom_classes
        assert "waiting for a preview" in holder
        assert "width:256px;height:171px" in holder  # 1536x1024, fitted to 256 px
    # the first event out was a partial; when the client saw it the emulator (another thread)
    # may not have recorded it yet, but it had sent no final image
    assert emu.stream_events[0].type == "image_generation.partial_image"
    assert all(e.type == "image_generation.partial_image" for e in at_first["sent"])
    assert at_first["tiles"] == tiles  # the first partial went into a tile that existed
    # the finished images replaced them; the placeholders are closed
    assert len(p.previews.tiles) == 2 and p.previews.partial_tiles == {}
    assert all("azimage-partial" not in t._dom_classes for t in p.previews.tiles)
    assert all(t.comm is None for t in tiles)
    p.close()


async def test_partials_are_applied_in_order_and_never_after_the_final_image(emu) -> None:
    emu.config.processing_time = 1.2
    p = _v1_panel(emu, size="1024x1024", n=2, partial_images=3)
    log: list[tuple[str, int, int]] = []
    partial_bytes: dict[tuple[int, int], bytes] = {}

    def opened(change: Any) -> None:
        if change["new"]:
            for index, (picture, caption) in p.previews.partial_parts.items():
                picture.observe(lambda c, i=index, cap=caption: log.append(
                    ("partial", i, int(cap.value.split('data-partial="')[1][0])
                     if "data-partial" in cap.value else -1)), names="value")

    def partial(change: Any) -> None:
        if change["new"] is not None:
            ev = change["new"]
            partial_bytes[(ev.image_index, ev.partial_index)] = ev.image_bytes

    def children(change: Any) -> None:
        if any("azimage-partial" not in t._dom_classes for t in change["new"]):
            log.append(("final", -1, -1))

    p.activity.observe(opened, names="previewing")
    p.activity.observe(partial, names="partial")
    p.previews.grid.observe(children, names="children")
    await p.submit()
    await p.previews.previews_settled()

    assert sorted(partial_bytes) == [(i, k) for i in range(2) for k in range(3)]
    assert log[-1] == ("final", -1, -1)
    final_at = log.index(("final", -1, -1))
    assert all(kind == "final" for kind, _i, _k in log[final_at:])  # nothing after the image
    applied = [(i, k) for kind, i, k in log if kind == "partial"]
    assert applied, log
    for image in (0, 1):
        seen = [k for i, k in applied if i == image]
        assert seen == sorted(set(seen)), applied  # each newer than the last, none twice
    p.close()


async def test_a_late_earlier_partial_never_replaces_a_later_one() -> None:
    grid = PreviewGrid()
    grid.prepare_partials(1, "1024x1024")
    sharp = _checkers()
    grid.show_partial(0, 1, sharp, 2)  # the worker makes them in turn: 1 is ready first
    grid.show_partial(0, 0, sharp, 2)
    await grid.previews_settled()
    picture, caption = grid.partial_parts[0]
    assert 'data-partial="1"' in caption.value and "preview 2 of 2" in caption.value
    assert picture.value == partial_picture(sharp, 1, 2)
    assert picture.value != partial_picture(sharp, 0, 2)
    grid.close()


async def test_the_final_image_wins_over_a_partial_still_being_made() -> None:
    grid = PreviewGrid()
    grid.prepare_partials(1, "1024x1024")
    placeholder = grid.tiles[0]
    picture, _caption = grid.partial_parts[0]
    grid.show_partial(0, 0, _checkers(), 2)
    grid.show([_final()])  # the images came before the preview's picture was made
    await grid.previews_settled()
    assert picture.value == b""  # the late picture was dropped
    assert len(grid.tiles) == 1 and "azimage-partial" not in grid.tiles[0]._dom_classes
    assert grid.tiles[0].children[0].value == grid.entries[0][1].thumbnail
    assert placeholder.comm is None and grid.partial_tiles == {}
    grid.close()


def test_placeholders_wait_while_an_earlier_runs_images_are_shown() -> None:
    grid = PreviewGrid()
    grid.show([_final()])
    earlier = grid.tiles[0]
    grid.mark_earlier()
    grid.prepare_partials(1, "1024x1536")
    assert grid.tiles == [earlier]  # still on screen, labelled "earlier run"
    assert "width:171px;height:256px" in grid.partial_tiles[0].children[0].value
    grid.show_partial(0, 0, _checkers((256, 384)), 2)  # no running loop: applied at once
    assert grid.tiles == [grid.partial_tiles[0]] and earlier.comm is None
    assert "azimage-earlier" not in grid._dom_classes
    assert _size(grid.partial_parts[0][0].value) == (171, 256)
    grid.close()


def test_a_partial_picture_is_a_small_thumbnail_blurred_less_each_time() -> None:
    sharp = _checkers()
    pictures = [partial_picture(sharp, k, 3) for k in range(4)]
    assert all(_size(pic) == (256, 256) for pic in pictures)
    edges = [_edges(pic) for pic in pictures]
    assert edges == sorted(edges) and edges[0] < edges[-1] / 2, edges  # sharper at each step
    plain = make_thumbnail(Image.open(io.BytesIO(sharp)))
    assert abs(edges[-1] - _edges(plain)) < edges[-1] / 4  # the last one: not blurred
    with Image.open(io.BytesIO(pictures[0])) as img:
        assert img.format == "WEBP"
    assert preview_box("1536x1024") == (256, 171) and preview_box("auto") == (256, 256)


async def test_streamed_previews_are_smaller_and_blurrier_than_their_partials(emu) -> None:
    emu.config.processing_time = 0.4
    p = _v1_panel(emu, size="1536x1024", partial_images=2)
    partials: list[bytes] = []
    shown: list[bytes] = []

    def opened(change: Any) -> None:
        if change["new"]:
            picture, _caption = p.previews.partial_parts[0]
            picture.observe(lambda c: shown.append(c["new"]), names="value")

    p.activity.observe(opened, names="previewing")
    p.activity.observe(lambda c: c["new"] is not None and partials.append(c["new"].image_bytes),
                       names="partial")
    await p.submit()
    await p.previews.previews_settled()
    assert len(partials) == 2 and shown
    final = p.results[0].slots[0]
    first = shown[0]
    assert _size(partials[0]) == final.image.size == (1536, 1024)
    assert _size(first) == (256, 171) and len(first) < len(partials[0])
    # blurred: less edge energy than the same partial's picture made without blur
    assert _edges(first) < _edges(partial_picture(partials[0], 2, 2))
    p.close()
