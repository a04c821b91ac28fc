"""Live preview tiles: a streamed run's partial images, blurred, sharpening in place.

``LivePreviews`` is the part of ``PreviewGrid`` that shows partial images.
``prepare_partials(count, size)`` lays out one placeholder tile per image as
soon as the stream opens (a box of the image's aspect ratio, "waiting for a
preview"), so a partial only has to swap a picture into a tile that exists.
``show_partial`` makes the tile's picture in a worker thread when an event
loop runs (the kernel's loop stays free) and applies it back on the loop:

- a partial is applied only if it is newer than the one its tile shows, so a
  slow earlier partial never overwrites a later one;
- ``show`` (the finished images) or ``clear`` starts a new round: partial
  pictures still being made for the old one are dropped, so the final image
  always wins.

The picture is cheap to make: the image is shrunk first (``Image.reduce`` by
an integer factor, a JPEG decoded at a reduced scale by ``draft``), then the
small picture is blurred (less at each partial) and encoded as a thumbnail.
"""
from __future__ import annotations

import asyncio
import io
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ipywidgets import HTML, GridBox, Image
from PIL import Image as PILImage
from PIL import ImageFilter

from ..contract.model_rules import parse_size
from ..store.thumbnails import THUMBNAIL_FORMAT, THUMBNAIL_PX, make_thumbnail
from .widget_style import Look
from .widget_tile import SPAN, TILE
from .widget_tree import close_tree

#: Blur radius (thumbnail pixels) of a live preview's first partial image; later ones sharpen.
PARTIAL_BLUR = 4.0
PARTIAL_STEPS = 3
#: WebP effort of a partial picture: the fastest (it is replaced within seconds).
PARTIAL_METHOD = 0
_worker: ThreadPoolExecutor | None = None
# Pillow loads its common decoders on the first open (about 10 ms): here, not on the first partial.
PILImage.preinit()


def preview_box(size: str | None, max_px: int = THUMBNAIL_PX) -> tuple[int, int]:
    """Width and height (px) of a tile picture for an image of ``size`` ("WxH"; else square)."""
    w, h = parse_size(size or "") or (1, 1)
    scale = max_px / max(w, h)
    return max(1, round(w * scale)), max(1, round(h * scale))


def partial_picture(data: bytes, partial_index: int, partials: int,
                    max_px: int = THUMBNAIL_PX) -> bytes:
    """The tile picture of partial ``partial_index`` (of ``partials``): at most ``max_px``,
    blurred by PARTIAL_BLUR at the first partial and less at each later one."""
    with PILImage.open(io.BytesIO(data)) as img:
        img.draft("RGB", (max_px, max_px))  # a JPEG decodes at 1/2 .. 1/8 of its size
        alpha = "A" in img.getbands() or "transparency" in img.info
        small = img if img.mode in ("RGB", "RGBA") else img.convert("RGBA" if alpha else "RGB")
        factor = max(small.size) // max_px
        small = small.reduce(factor) if factor > 1 else small.copy()  # a box filter, cheap
    small.thumbnail((max_px, max_px))  # the last step (at most 2x) on the small picture
    radius = PARTIAL_BLUR * (partials - partial_index) / max(partials, 1)
    if radius > 0:
        small = small.filter(ImageFilter.GaussianBlur(radius))
    return make_thumbnail(small, max_px, method=PARTIAL_METHOD)


def _preview_worker() -> ThreadPoolExecutor:
    """One thread for every grid's preview pictures: they are made one after another."""
    global _worker
    if _worker is None:
        _worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="azimage-previews")
    return _worker


def _picture_or_none(data: bytes, partial_index: int, partials: int) -> bytes | None:
    try:
        return partial_picture(data, partial_index, partials)
    except Exception:  # noqa: BLE001 - a partial that does not decode is skipped
        return None


class LivePreviews:
    """Placeholder tiles and partial pictures (mixed into PreviewGrid, which owns the tiles)."""

    # PreviewGrid's (annotations only: nothing here shadows what VBox or PreviewGrid define)
    look: Look
    tiles: list[GridBox]
    thumbs: list[Image]
    entries: list[Any]
    captions: list[tuple[HTML, str]]
    grid: GridBox
    _dom_classes: tuple[str, ...]
    remove_class: Callable[[str], Any]
    clear: Callable[[], None]
    hide_full: Callable[[], None]
    _refresh: Callable[[], None]
    partial_tiles: dict[int, GridBox]  # image index -> its live preview tile

    def _reset_partials(self) -> None:
        """Forget the partial tiles (the caller closes them); late pictures are dropped."""
        self.partial_tiles = {}
        self.partial_parts: dict[int, tuple[Image, HTML]] = {}
        self._partial_shown: dict[int, int] = {}  # image index -> partial index on screen
        self._preview_round = getattr(self, "_preview_round", 0) + 1
        self._pending: set[asyncio.Future[bytes | None]] = getattr(self, "_pending", set())

    def _unshown_partials(self) -> list[GridBox]:
        return [t for t in self.partial_tiles.values() if all(t is not s for s in self.tiles)]

    def _drop_partials(self) -> None:
        """Close the partial tiles not on screen, and each picture not yet in its tile; then
        forget them all (a picture still being made for them is dropped)."""
        for tile in self._unshown_partials():
            close_tree(tile)
        for index, (picture, _caption) in self.partial_parts.items():
            if all(picture is not c for c in self.partial_tiles[index].children):
                picture.close()
        self._reset_partials()

    def prepare_partials(self, count: int, size: str | None = None) -> None:
        """Placeholder tiles for the ``count`` images of a streamed run, shaped like ``size``.

        On a grid without an earlier run's images they are shown at once; else
        they wait for the first partial and the earlier images stay until then.
        """
        earlier = "azimage-earlier" in self._dom_classes
        if earlier:
            self._drop_partials()
        else:
            self.clear()
        for index in range(count):
            self._partial_tile(index, size)
        _preview_worker().submit(int)  # its thread starts now, not with the first partial
        if not earlier and count:
            self._attach_partials()

    def _partial_tile(self, index: int, size: str | None) -> GridBox:
        look = self.look
        w, h = preview_box(size)
        holder = HTML(f'<div class="azimage-partial-waiting" style="width:{w}px;height:{h}px;'
                      'display:flex;align-items:center;justify-content:center;'
                      'background:var(--jp-layout-color2,#eee);'
                      'color:var(--jp-ui-font-color2,#666)">waiting for a preview&hellip;</div>',
                      **look(HTML, grid_area=SPAN))
        picture = Image(value=b"", format=THUMBNAIL_FORMAT, **look(Image, grid_area=SPAN))
        picture.add_class("azimage-thumb")
        picture.add_class("azimage-partial-thumb")
        caption = HTML(f'<span style="font-size:85%">image {index + 1} &middot; starting</span>',
                       **look(HTML, grid_area=SPAN))
        tile = GridBox([holder, caption], **look(GridBox, **TILE))
        tile.add_class("azimage-tile")
        tile.add_class("azimage-partial")
        self.partial_tiles[index] = tile
        self.partial_parts[index] = (picture, caption)
        return tile

    def _attach_partials(self) -> None:
        """Show the partial tiles in place of whatever the grid shows (an earlier run's)."""
        keep = [self.partial_tiles[i] for i in sorted(self.partial_tiles)]
        gone = [t for t in self.tiles if all(t is not k for k in keep)]
        self.remove_class("azimage-earlier")
        self.entries, self.captions, self.thumbs = [], [], []
        self.hide_full()
        self.tiles = keep
        self.grid.children = tuple(keep)
        self._refresh()
        for tile in gone:
            close_tree(tile)

    def show_partial(self, image_index: int, partial_index: int, data: bytes,
                     partials: int = PARTIAL_STEPS) -> None:
        """A streamed partial image of image ``image_index`` (``partial_index`` of
        ``partials``): its tile's picture is replaced in place, blurred less each time,
        until ``show`` puts the finished images there. With a running event loop the
        picture is made in a worker thread and applied when ready (``previews_settled``)."""
        round_ = self._preview_round
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self._apply_partial(round_, image_index, partial_index, partials,
                                _picture_or_none(data, partial_index, partials))
            return
        future = loop.run_in_executor(_preview_worker(), _picture_or_none, data, partial_index,
                                      partials)
        self._pending.add(future)

        def done(f: asyncio.Future[bytes | None]) -> None:
            self._pending.discard(f)
            if not f.cancelled() and f.exception() is None:
                self._apply_partial(round_, image_index, partial_index, partials, f.result())

        future.add_done_callback(done)

    async def previews_settled(self) -> None:
        """Wait until every partial picture being made has been applied (or dropped)."""
        while self._pending:
            await asyncio.gather(*list(self._pending), return_exceptions=True)
            await asyncio.sleep(0)  # the done callbacks run

    def _apply_partial(self, round_: int, image_index: int, partial_index: int, partials: int,
                       thumb: bytes | None) -> None:
        if thumb is None or round_ != self._preview_round:
            return  # did not decode, or the finished images (or a new run) came first
        if partial_index <= self._partial_shown.get(image_index, -1):
            return  # a later partial is already shown
        tile = self.partial_tiles.get(image_index)
        if tile is None:
            tile = self._partial_tile(image_index, None)
        if all(tile is not t for t in self.tiles):
            self._attach_partials()
        self._partial_shown[image_index] = partial_index
        picture, caption = self.partial_parts[image_index]
        picture.value = thumb
        if tile.children[0] is not picture:
            holder = tile.children[0]
            tile.children = (picture, caption)
            holder.close()
        caption.value = (f'<span style="font-size:85%" data-partial="{partial_index}">image '
                         f"{image_index + 1} &middot; preview {partial_index + 1} of "
                         f"{partials}</span>")


__all__ = ["LivePreviews", "PARTIAL_BLUR", "PARTIAL_STEPS", "partial_picture", "preview_box"]
