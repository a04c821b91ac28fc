"""Thumbnails in a grid, a full-size view, and saving PNGs.

``PreviewGrid.show(results)`` takes DownloadResult objects (layer 3): each
image becomes a tile with a JPEG thumbnail of at most 256 px, a "Full size"
and a "Save" button; a refused image becomes a placeholder tile with the
service's code and message. Showing new results closes the old tiles first,
so re-running a panel leaks no widgets. "Full size" opens the image in an
overlay over the page (widget_full_size: its own size or fitted down to the
window, closed by a click or Escape); one overlay widget serves every tile.

A tile's Save downloads its PNG (the service's bytes when they are PNG,
else re-encoded with Pillow) to the viewer's computer through the browser
(widget_browser_download), and Save all downloads one zip of them; the note
about it appears beside the clicked button (the tile's caption, or the
toolbar). "Save to folder" writes the PNGs into ``folder`` on the server
(default ``azimage_downloads/`` under the kernel's current directory), named
``<activity>_<operation id prefix>_<n>.png``; an existing file is never
overwritten: the new one gets ``-2``, ``-3`` ... before ``.png``.
"""
from __future__ import annotations

import html
import io
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ipywidgets import HTML, Button, GridBox, HBox, Image, Text, VBox

from ..activities.download_result import DownloadResult, ImageSlot
from ..store.thumbnails import THUMBNAIL_FORMAT
from .widget_browser_download import BrowserDownload, size_text, unique_name, zip_bytes
from .widget_full_size import FullSizeView
from .widget_html import error_html
from .widget_partials import LivePreviews
from .widget_style import Look
from .widget_tile import SPAN, TILE
from .widget_tree import close_tree, show

DEFAULT_FOLDER = "azimage_downloads"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def safe_part(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("._") or "image"


def png_bytes(slot: ImageSlot) -> bytes:
    if slot.data is not None and slot.data.startswith(PNG_SIGNATURE):
        return slot.data
    buf = io.BytesIO()
    slot.image.save(buf, format="PNG")
    return buf.getvalue()


class PreviewGrid(LivePreviews, VBox):
    """Tiles of the images of one or more results, with full-size view and saving."""

    def __init__(self, prefix: str = "image", folder: str = DEFAULT_FOLDER,
                 look: Look | None = None) -> None:
        owns = look is None
        self.look = look = look or Look()
        self.prefix = prefix
        self.entries: list[tuple[str, ImageSlot]] = []  # (operation id, slot) per tile
        self.captions: list[tuple[HTML, str]] = []  # per entry: its caption and the caption's text
        self.tiles: list[GridBox] = []
        self._reset_partials()  # live previews (widget_partials): none yet
        self.thumbs: list[Image] = []
        self.grid = GridBox([], **look(GridBox, grid_template_columns="repeat(auto-fill, 264px)",
                                       grid_gap="8px"))
        self.grid.add_class("azimage-grid")
        self.folder = Text(value=folder, description="Folder", **look(Text, width="320px"))
        self.folder.add_class("azimage-save-folder")
        self.save_all_button = Button(description="Save all", icon="download",
                                      tooltip="Download every image as PNG, in one zip file",
                                      **look(Button))
        self.save_all_button.add_class("azimage-save-all")
        self.save_all_button.on_click(lambda _b: self.download_all())
        self.save_folder_button = Button(description="Save to folder", icon="folder",
                                         tooltip="Write every image as PNG into the folder on the "
                                                 "server (never over an existing file)",
                                         **look(Button, width="auto", flex="0 0 auto"))
        self.save_folder_button.add_class("azimage-save-folder-button")
        self.save_folder_button.on_click(lambda _b: self._report(self.save_all))
        self.save_status = HTML(**look(HTML))
        self.save_status.add_class("azimage-save-status")
        # made with the first tiles (page_widgets): an empty panel carries neither's code
        self._downloader: BrowserDownload | None = None
        self._full_view: FullSizeView | None = None
        self.toolbar = HBox([self.save_all_button, self.save_folder_button, self.folder,
                             self.save_status], **look(HBox))
        super().__init__([self.grid, self.toolbar], **look(VBox))
        self.add_class("azimage-previews")
        if owns:
            look.own(self)
        self.full_index: int | None = None
        self.hide_full()
        self._refresh()

    # -- content ------------------------------------------------------------
    def clear(self) -> None:
        """Close every tile (and its widgets); partial pictures still being made are dropped."""
        for tile in self.tiles:
            close_tree(tile)
        self._drop_partials()
        self.tiles, self.thumbs, self.entries, self.captions = [], [], [], []
        self.remove_class("azimage-earlier")
        self.grid.children = ()
        self.hide_full()
        self.save_status.value = ""
        self._refresh()

    def show(self, results: Iterable[DownloadResult | None]) -> None:
        """Replace the tiles with those of ``results`` (None entries are skipped)."""
        self.clear()
        tiles = []
        for res in results:
            if res is None:
                continue
            for slot in res.slots:
                tiles.append(self._tile(res.id, slot))
        self.tiles = tiles
        self.grid.children = tuple(tiles)
        if self.entries:
            self.page_widgets()
        self._refresh()

    def show_run(self, results: Iterable[DownloadResult | None], running: bool) -> None:
        """A run's results; while a run has none yet, the last run's tiles stay, each
        caption saying "earlier run" (replaced by the run's own tiles when they come)."""
        results = list(results)
        if running and not any(r is not None for r in results) and self.tiles:
            self.mark_earlier()
        else:
            self.show(results)

    def mark_earlier(self) -> None:
        """Label every tile as from an earlier run (once)."""
        if "azimage-earlier" in self._dom_classes:
            return
        self.add_class("azimage-earlier")
        label = ('<span class="azimage-earlier-label" style="font-size:85%"><b>earlier run</b></span>'
                 ' &middot; ')
        marked = []
        for caption, text in self.captions:
            caption.value = label + text
            marked.append((caption, caption.value))
        self.captions = marked

    def _tile(self, op_id: str, slot: ImageSlot) -> GridBox:
        # every model of a tile shares the grid's layouts and styles: a tile costs only its
        # own widgets' JSON (plus the thumbnail), not a Layout and a Style per widget
        look = self.look
        whole_row = look(HTML, grid_area=SPAN)
        caption = HTML(f'<span style="font-size:85%">image {slot.index + 1} &middot; '
                       f'<code>{html.escape(op_id[:8])}</code></span>', **whole_row)
        if not slot.ok:
            placeholder = HTML(
                '<div style="width:256px;height:256px;display:flex;align-items:center;'
                'justify-content:center;text-align:center;'
                'background:var(--jp-layout-color2,#eee);color:var(--jp-ui-font-color1,#222);'
                'border:1px dashed var(--jp-border-color1,#999);padding:8px;box-sizing:border-box">'
                f"<div><b>{html.escape(slot.error_code or 'error')}</b><br>"
                f"{html.escape(slot.error_message or '')}</div></div>", **whole_row)
            placeholder.add_class("azimage-filtered")
            tile = GridBox([placeholder, caption], **look(GridBox, **TILE))
            tile.add_class("azimage-tile")
            return tile
        index = len(self.entries)
        self.entries.append((op_id, slot))
        thumb = Image(value=slot.thumbnail or b"", format=THUMBNAIL_FORMAT, **look(Image, grid_area=SPAN))
        thumb.add_class("azimage-thumb")
        self.thumbs.append(thumb)
        full = Button(description="Full size", icon="expand",
                      tooltip=f"Show image {slot.index + 1} at full size", **look(Button, width="auto"))
        full.add_class("azimage-fullsize")
        full.on_click(lambda _b, i=index: self.show_full(i))
        self.captions.append((caption, caption.value))
        save = Button(description="Save", icon="download",
                      tooltip="Download this image as PNG to your computer",
                      **look(Button, width="auto"))
        save.add_class("azimage-save")
        save.on_click(lambda _b, i=index: self.download(i))
        tile = GridBox([thumb, full, save, caption], **look(GridBox, **TILE))
        tile.add_class("azimage-tile")
        return tile

    # -- the widgets that act on the page (downloads, the full-size overlay) -------
    def page_widgets(self) -> tuple[BrowserDownload, FullSizeView]:
        """The downloader and the full-size overlay, made (and added) on first use.

        They are made when the first tiles are shown, so the front end has loaded
        them long before a click on Save or Full size reaches them.
        """
        if self._downloader is None or self._full_view is None:
            self._downloader = BrowserDownload(**self.look(BrowserDownload))
            self._full_view = FullSizeView(on_close=self._full_closed, **self.look(FullSizeView))
            self.children = (self.grid, self.toolbar, self._downloader, self._full_view)
        return self._downloader, self._full_view

    @property
    def downloader(self) -> BrowserDownload:
        return self.page_widgets()[0]

    @property
    def full_view(self) -> FullSizeView:
        return self.page_widgets()[1]

    def _refresh(self) -> None:
        show(self.toolbar, bool(self.entries))
        show(self.grid, bool(self.tiles))

    # -- full size ------------------------------------------------------------
    def show_full(self, index: int) -> None:
        """Open image ``index`` in the overlay, at its own size (fitted down, never up)."""
        op_id, slot = self.entries[index]
        w, h = slot.image.size
        self.full_index = index
        self.full_view.show_image(png_bytes(slot),
                                  f"image {slot.index + 1} of {op_id} \u00b7 {w}x{h}")

    def hide_full(self) -> None:
        self.full_index = None
        if self._full_view is not None:
            self._full_view.hide()

    def _full_closed(self) -> None:
        """The user closed the overlay (click or Escape)."""
        self.full_index = None

    def close(self) -> None:
        """Close the grid with its tiles, buttons and (when it owns them) shared layouts."""
        self._drop_partials()  # those not on screen; a picture still being made is dropped
        close_tree(self)

    # -- downloading to the viewer's computer ------------------------------------
    def file_name(self, index: int) -> str:
        """The PNG's file name: ``<prefix>_<operation id prefix>_<n>.png``."""
        op_id, slot = self.entries[index]
        return f"{safe_part(self.prefix)}_{safe_part(op_id[:8])}_{slot.index + 1}.png"

    def download(self, index: int) -> None:
        """A tile's Save: the browser downloads the image as PNG; the tile's caption says so."""
        data = png_bytes(self.entries[index][1])
        name = self.file_name(index)
        self._tile_note(index, f"sending {html.escape(name)} ({size_text(len(data))}) to your "
                               f"browser\u2026")

        def delivered(got: str, size: int) -> None:
            self._tile_note(index, f"\u2714 downloaded {html.escape(got)} ({size_text(size)})")

        self.downloader.download(data, name, "image/png", on_delivered=delivered)

    def download_all(self) -> None:
        """Save all: the browser downloads one zip of every image; the toolbar says so."""
        if not self.entries:
            self.save_status.value = "No images to save."
            return
        data = zip_bytes((self.file_name(i), png_bytes(slot))
                         for i, (_op, slot) in enumerate(self.entries))
        name = f"{safe_part(self.prefix)}_images.zip"
        count = f"{len(self.entries)} image{'s' if len(self.entries) != 1 else ''}"
        self.save_status.value = (f"Sending {html.escape(name)} ({count}, {size_text(len(data))}) "
                                  f"to your browser\u2026")
        self.downloader.download(
            data, name, "application/zip",
            on_delivered=lambda n, size: setattr(
                self.save_status, "value",
                f"\u2714 Downloaded {html.escape(n)} ({count}, {size_text(size)})"))

    def _tile_note(self, index: int, note: str) -> None:
        caption, text = self.captions[index]
        caption.value = f'{text}<br><span style="font-size:85%">{note}</span>'

    # -- saving into a folder on the server ---------------------------------------
    def _path(self, index: int) -> Path:
        folder = Path(self.folder.value or DEFAULT_FOLDER)
        return folder / unique_name(self.file_name(index), lambda n: (folder / n).exists())

    def save(self, index: int) -> Path:
        """Write one image as PNG into ``folder`` on the server; returns its path.

        An existing file is kept: the new one is numbered (``-2``, ``-3`` ...).
        """
        folder = Path(self.folder.value or DEFAULT_FOLDER)
        folder.mkdir(parents=True, exist_ok=True)
        data = png_bytes(self.entries[index][1])
        while True:
            path = self._path(index)
            try:
                with path.open("xb") as f:  # "x": fails rather than overwrite (even in a race)
                    f.write(data)
            except FileExistsError:
                continue
            return path

    def save_all(self) -> list[Path]:
        """Write every image as PNG; returns the paths."""
        return [self.save(i) for i in range(len(self.entries))]

    def _report(self, action: Any) -> None:
        try:
            paths = action()
        except Exception as exc:  # noqa: BLE001 - shown in the panel
            self.save_status.value = error_html(f"Could not save: {exc}")
            return
        shown = ", ".join(html.escape(str(p)) for p in paths)
        self.save_status.value = (f"Saved {len(paths)} file{'s' if len(paths) != 1 else ''} "
                                  f"on the server: {shown}")


__all__ = ["DEFAULT_FOLDER", "PreviewGrid", "png_bytes"]
