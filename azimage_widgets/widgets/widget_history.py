"""The image store as a gallery: ``aw.history()``.

    gallery = aw.history()               # the newest 50 stored images
    gallery = aw.history("fox", limit=20)
    gallery.records                      # the StoreRecords shown
    gallery.search("red fox")            # what typing in the search box does
    gallery.delete(record_id)            # what a tile's Delete button does

Each tile: a JPEG thumbnail (<= 256 px, cached by the store), the prompt,
the size and the date it was stored, a Pin toggle (favourites) and Delete.
A search box filters by prompt text (every word must appear, any case;
"quoted phrases" as written) as the user types: keystrokes from the browser
refresh the tiles once typing pauses for ``SEARCH_DEBOUNCE_S`` (one store
query per pause, not one per key); a value set from Python refreshes at once.
Re-searching closes the old tiles.

CSS classes: ``azimage-history`` (root), ``azimage-history-search`` (the
Text), ``azimage-history-pinned-only`` (Checkbox), ``azimage-history-count``,
``azimage-history-grid``, ``azimage-history-tile``, ``azimage-history-thumb``
(the ``<img>``), ``azimage-history-caption``, ``azimage-history-pin``,
``azimage-history-delete``, ``azimage-history-status``.
"""
from __future__ import annotations

import asyncio
import html
from typing import Any

from ipywidgets import HTML, Button, Checkbox, GridBox, HBox, Image, Layout, Text, ToggleButton, VBox

from ..store import ImageStore, StoreRecord, resolve_store
from ..store.thumbnails import THUMBNAIL_FORMAT
from .widget_colours import MUTED
from .widget_html import error_html
from .widget_tree import OwnsParts, close_tree

DEFAULT_LIMIT = 50
#: Seconds of no typing before the search box's text is searched.
SEARCH_DEBOUNCE_S = 0.3


def _caption(rec: StoreRecord) -> str:
    prompt = rec.prompt or "(prompt unknown)"
    shown = prompt if len(prompt) <= 120 else prompt[:119] + "\u2026"
    when = rec.stored_datetime.strftime("%Y-%m-%d %H:%M UTC")
    size = f"{rec.width}x{rec.height}" if rec.width and rec.height else (rec.size or "")
    return (f'<div style="font-size:85%;line-height:1.3;width:256px;overflow-wrap:anywhere">'
            f"{html.escape(shown)}<br><span style=\"color:{MUTED}\">{html.escape(size)} &middot; "
            f"{html.escape(when)}</span></div>")


class HistoryGallery(OwnsParts, VBox):
    """Thumbnails of stored images with prompt and date; search, pin and delete."""

    def __init__(self, store: Any = None, query: str | None = None, limit: int = DEFAULT_LIMIT,
                 pinned_only: bool = False) -> None:
        resolved = resolve_store(store)
        self.store: ImageStore = resolved if resolved is not None else ImageStore()
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise ValueError(f"limit must be a whole number >= 1, got {limit!r}")
        self.limit = limit
        self.records: list[StoreRecord] = []
        self.tiles: list[VBox] = []
        self.search_input = Text(value=query or "", placeholder="search prompts, e.g. red fox",
                                 description="Search", continuous_update=True,
                                 layout=Layout(width="360px"))
        self.search_input.add_class("azimage-history-search")
        self._pending: asyncio.TimerHandle | None = None
        self.search_input.observe(self._on_search, names="value")
        self.pinned_input = Checkbox(value=pinned_only, description="Pinned only", indent=False)
        self.pinned_input.add_class("azimage-history-pinned-only")
        self.pinned_input.observe(lambda _c: self.refresh(), names="value")
        self.count_html = HTML()
        self.count_html.add_class("azimage-history-count")
        self.grid = GridBox([], layout=Layout(grid_template_columns="repeat(auto-fill, 264px)",
                                              grid_gap="8px"))
        self.grid.add_class("azimage-history-grid")
        self.status_html = HTML()
        self.status_html.add_class("azimage-history-status")
        super().__init__([HBox([self.search_input, self.pinned_input, self.count_html]),
                          self.status_html, self.grid])
        self.add_class("azimage-history")
        self.refresh()
        self._built = True

    # -- content ----------------------------------------------------------------
    @property
    def query(self) -> str:
        return str(self.search_input.value)

    def search(self, text: str) -> list[StoreRecord]:
        """Show the records whose prompt matches ``text`` (what the search box does)."""
        if self.search_input.value == text:
            self.refresh()
        else:
            self.search_input.value = text  # refreshes through the observer
        return self.records

    def _on_search(self, _change: Any) -> None:
        """Typing (a front-end update) refreshes after a pause; Python's assignment at once."""
        if self._pending is not None:
            self._pending.cancel()
            self._pending = None
        # ipywidgets holds _property_lock while it applies a front-end update
        typed = bool(getattr(self.search_input, "_property_lock", None))
        if typed:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                loop = None
            if loop is not None:
                self._pending = loop.call_later(SEARCH_DEBOUNCE_S, self._typed_search_done)
                return
        self.refresh()

    def _typed_search_done(self) -> None:
        self._pending = None
        self.refresh()

    def refresh(self) -> list[StoreRecord]:
        """Read the store again and rebuild the tiles."""
        pinned = True if self.pinned_input.value else None
        try:
            records = self.store.search(self.search_input.value, limit=self.limit, pinned=pinned)
        except Exception as exc:  # noqa: BLE001 - shown in the gallery
            self.status_html.value = error_html(f"Could not read the image store: {exc}")
            return self.records
        for tile in self.tiles:
            close_tree(tile)
        # a record that cannot be shown is named in the status line, never raised
        problems = [f"record {rid} is malformed" for rid in getattr(records, "skipped", ())]
        self.records, self.tiles = [], []
        for rec in records:
            try:
                tile = self._tile(rec)
            except Exception as exc:  # noqa: BLE001 - shown in the gallery
                problems.append(f"record {getattr(rec, 'id', '?')}: {type(exc).__name__}: {exc}")
                continue
            self.records.append(rec)
            self.tiles.append(tile)
        self.grid.children = tuple(self.tiles)
        total = len(self.store)
        where = html.escape(str(self.store.path))
        self.count_html.value = (f"{len(self.tiles)} shown of {total} stored "
                                 f'<span style="color:{MUTED}">in <code>{where}</code></span>')
        self.status_html.value = error_html(
            f"Not shown: {'; '.join(problems)}.") if problems else ""
        return self.records

    def _tile(self, rec: StoreRecord) -> VBox:
        text = _caption(rec)  # before any widget exists, so a failure leaves none behind
        try:
            thumb: Any = Image(value=self.store.thumbnail(rec), format=THUMBNAIL_FORMAT)
            thumb.add_class("azimage-history-thumb")
        except Exception as exc:  # noqa: BLE001 - a missing or broken file shows as such
            thumb = HTML(error_html(f"image unreadable: {exc}"))
        caption = HTML(text)
        caption.add_class("azimage-history-caption")
        pin = ToggleButton(value=rec.pinned, description="Pinned" if rec.pinned else "Pin",
                           icon="star", layout=Layout(width="auto"),
                           tooltip="Keep as a favourite")
        pin.add_class("azimage-history-pin")
        pin.observe(lambda c, rid=rec.id, b=pin: self._pin(rid, c["new"], b), names="value")
        delete = Button(description="Delete", icon="trash", layout=Layout(width="auto"),
                        tooltip="Remove this image from the store")
        delete.add_class("azimage-history-delete")
        delete.on_click(lambda _b, rid=rec.id: self.delete(rid))
        tile = VBox([thumb, caption, HBox([pin, delete])])
        tile.add_class("azimage-history-tile")
        tile.record_id = rec.id
        return tile

    # -- actions ------------------------------------------------------------------
    def _pin(self, record_id: int, value: bool, button: ToggleButton) -> None:
        try:
            self.store.pin(record_id, value)
        except Exception as exc:  # noqa: BLE001
            self.status_html.value = error_html(f"Could not pin: {exc}")
            return
        button.description = "Pinned" if value else "Pin"

    def delete(self, record_id: int) -> bool:
        """Remove a record (and its file when unused) from the store, then refresh."""
        try:
            done = self.store.delete(record_id)
        except Exception as exc:  # noqa: BLE001
            self.status_html.value = error_html(f"Could not delete: {exc}")
            return False
        self.refresh()
        self.status_html.value = f"Deleted record {record_id}." if done else \
            f"Record {record_id} was already gone."
        return done

    def close_parts(self) -> None:
        if self._pending is not None:
            self._pending.cancel()
        # the whole tree (grid, search box, tiles): a container left open would name
        # closed tiles as its children
        for child in self.children:
            close_tree(child)
        self.tiles = []


def history(query: str | None = None, limit: int = DEFAULT_LIMIT, *, store: Any = None,
            pinned_only: bool = False) -> HistoryGallery:
    """The stored images (newest first) as a gallery widget; ``query`` filters by prompt text."""
    return HistoryGallery(store=store, query=query, limit=limit, pinned_only=pinned_only)


__all__ = ["HistoryGallery", "history"]
