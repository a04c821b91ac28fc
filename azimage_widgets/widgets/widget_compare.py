"""CompareGrid: prompt variants side by side, rerun one cell, pin favourites.

    grid = aw.CompareGrid(conn, prompts=["a red fox", "a red fox at night"], sizes=["256x256", "512x512"])
    grid                          # shows it; Run all (or ``await grid.run()``)
    await grid.rerun(0, 1)        # what a cell's Rerun button does
    grid.pin(0, 1, image=0)       # what an image's Pin toggle does (recorded in the image store)

Rows are prompts, columns variants (dicts of request fields: see
``activities.compare``). The first column names the row's prompt; the first
row names each variant. Every cell shows its status, its thumbnails (<= 256
px) with a Pin toggle each, and a Rerun button.

CSS classes: ``azimage-compare`` (root), ``azimage-compare-run`` (Run all),
``azimage-compare-cancel``, ``azimage-compare-status``, ``azimage-compare-grid``,
``azimage-compare-header`` (row and column headers), ``azimage-compare-cell``,
``azimage-compare-cell-status``, ``azimage-compare-thumb`` (the ``<img>``),
``azimage-compare-pin``, ``azimage-compare-rerun``.
"""
from __future__ import annotations

import asyncio
import html
from collections.abc import Sequence
from typing import Any

from ipywidgets import HTML, Button, GridBox, HBox, Image, Layout, ToggleButton, VBox

from ..activities.compare import Compare, CompareCell
from ..store.thumbnails import THUMBNAIL_FORMAT
from .widget_colours import status_colour
from .widget_html import error_html
from .widget_tree import OwnsParts, close_tree


class CompareGrid(OwnsParts, VBox):
    """A widget over ``activities.Compare``; the constructor takes the same arguments."""

    def __init__(self, conn: Any = None, *, prompts: Sequence[str] | None = None,
                 prompt: str | None = None, sizes: Sequence[str] | None = None,
                 variants: Sequence[dict[str, Any]] | None = None, **options: Any) -> None:
        self.compare = Compare(conn, prompts=prompts, prompt=prompt, sizes=sizes,
                               variants=variants, **options)
        self._tasks: set[asyncio.Task[Any]] = set()
        self.run_button = Button(description="Run all", icon="play", button_style="success",
                                 tooltip="Run every cell of the grid")
        self.run_button.add_class("azimage-compare-run")
        self.run_button.on_click(lambda _b: self._click(self.start))
        self.cancel_button = Button(description="Cancel", icon="stop",
                                    tooltip="Stop waiting; the service may still finish the jobs")
        self.cancel_button.add_class("azimage-compare-cancel")
        self.cancel_button.on_click(lambda _b: self.compare.cancel())
        self.status_html = HTML()
        self.status_html.add_class("azimage-compare-status")
        rows, cols = self.compare.shape
        self.cell_boxes: dict[tuple[int, int], VBox] = {}
        self.cell_bodies: dict[tuple[int, int], VBox] = {}
        children: list[Any] = [self._header("")]
        for variant in self.compare.variants:
            label = ", ".join(f"{k}={v}" for k, v in variant.items()) or "as given"
            children.append(self._header(label))
        for r, text in enumerate(self.compare.prompts):
            children.append(self._header(text))
            for c in range(cols):
                children.append(self._cell_box(self.compare.cell(r, c)))
        self.grid = GridBox(children, layout=Layout(
            grid_template_columns=f"160px repeat({cols}, 272px)", grid_gap="8px"))
        self.grid.add_class("azimage-compare-grid")
        super().__init__([HBox([self.run_button, self.cancel_button]), self.status_html, self.grid])
        self.add_class("azimage-compare")
        self.compare.on_cell(self._render)
        self._summary()
        self._built = True

    # -- building ---------------------------------------------------------------------
    @staticmethod
    def _header(text: str) -> HTML:
        shown = text if len(text) <= 200 else text[:199] + "\u2026"
        h = HTML(f'<div style="font-weight:bold;font-size:90%;overflow-wrap:anywhere">'
                 f"{html.escape(shown)}</div>")
        h.add_class("azimage-compare-header")
        return h

    def _cell_box(self, cell: CompareCell) -> VBox:
        status = HTML()
        status.add_class("azimage-compare-cell-status")
        rerun = Button(description="Rerun", icon="refresh", layout=Layout(width="auto"),
                       tooltip="Run this cell again (a new request)")
        rerun.add_class("azimage-compare-rerun")
        rerun.on_click(lambda _b, r=cell.row, c=cell.column: self._click(lambda: self.start_cell(r, c)))
        body = VBox([])
        box = VBox([status, body, rerun], layout=Layout(border="1px solid #ddd", padding="4px"))
        box.add_class("azimage-compare-cell")
        key = (cell.row, cell.column)
        self.cell_boxes[key] = box
        self.cell_bodies[key] = body
        self._render(cell)
        return box

    # -- rendering ------------------------------------------------------------------------
    def _render(self, cell: CompareCell) -> None:
        key = (cell.row, cell.column)
        box = self.cell_boxes.get(key)
        if box is None:
            return
        status = box.children[0]
        colour = status_colour(cell.status)
        extra = f" &middot; {cell.elapsed} s" if cell.elapsed is not None else ""
        msg = f" &middot; {html.escape(cell.message)}" if cell.message else ""
        status.value = (f'<span style="color:{colour}"><b>{html.escape(cell.status)}</b>'
                        f"{msg}{extra}</span>")
        body = self.cell_bodies[key]
        shown_id = (cell.operation_id, id(cell.result), frozenset(cell.pinned))
        if getattr(body, "_shown", None) != shown_id:
            for child in body.children:
                close_tree(child)
            body.children = tuple(self._images(cell))
            body._shown = shown_id
        self._summary()

    def _images(self, cell: CompareCell) -> list[Any]:
        if cell.result is None:
            return []
        out: list[Any] = []
        for slot in cell.result.slots:
            if not slot.ok:
                out.append(HTML(error_html(f"image {slot.index + 1}: {slot.error_code}: "
                                           f"{slot.error_message or ''}")))
                continue
            thumb = Image(value=slot.thumbnail or b"", format=THUMBNAIL_FORMAT)
            thumb.add_class("azimage-compare-thumb")
            pinned = slot.index in cell.pinned
            pin = ToggleButton(value=pinned, description="Pinned" if pinned else "Pin", icon="star",
                               layout=Layout(width="auto"), tooltip="Keep as a favourite")
            pin.add_class("azimage-compare-pin")
            pin.observe(lambda ch, r=cell.row, c=cell.column, i=slot.index:
                        self._click(lambda: self.pin(r, c, i, ch["new"])), names="value")
            out.append(VBox([thumb, pin]))
        return out

    def _summary(self) -> None:
        cells = self.compare.all_cells()
        counts: dict[str, int] = {}
        for c in cells:
            counts[c.status] = counts.get(c.status, 0) + 1
        text = ", ".join(f"{v} {k}" for k, v in sorted(counts.items()))
        pins = len(self.compare.pinned())
        note = self.compare.note  # the batch journal: resumed counts, or not durable and why
        self.status_html.value = (f"{len(cells)} cells: {html.escape(text)}"
                                  + (f" &middot; {pins} pinned" if pins else "")
                                  + (f" &middot; {html.escape(note)}" if note else ""))
        running = any(c.status in ("waiting", "running") for c in cells)
        self.run_button.disabled = running
        self.cancel_button.disabled = not running

    # -- actions ----------------------------------------------------------------------------
    def _click(self, action: Any) -> None:
        try:
            action()
        except Exception as exc:  # noqa: BLE001 - a click must show, never raise into the void
            self.status_html.value = error_html(str(exc))

    def _track(self, coro: Any) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)

        def done(t: asyncio.Task[Any]) -> None:
            self._tasks.discard(t)
            if not t.cancelled() and t.exception() is not None:
                self.status_html.value = error_html(str(t.exception()))
            self._summary()

        task.add_done_callback(done)
        return task

    def start(self) -> asyncio.Task[Any]:
        """Run all: every cell, as a task on the running loop."""
        return self._track(self.compare.run())

    def start_cell(self, row: int, column: int = 0) -> asyncio.Task[Any]:
        """Rerun one cell as a task."""
        self.compare.cell(row, column)  # a bad index fails now, not in the task
        return self._track(self.compare.rerun(row, column))

    async def run(self) -> Any:
        return await self.compare.run()

    async def rerun(self, row: int, column: int = 0) -> CompareCell:
        return await self.compare.rerun(row, column)

    def pin(self, row: int, column: int = 0, image: int = 0, pinned: bool = True) -> Any:
        return self.compare.pin(row, column, image, pinned)

    @property
    def cells(self) -> list[list[CompareCell]]:
        return self.compare.cells

    def close_parts(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        self.compare.cancel()
        for child in list(self.children):
            close_tree(child)


__all__ = ["CompareGrid"]
