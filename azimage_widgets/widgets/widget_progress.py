"""Per-operation progress rows: id, status, elapsed seconds, images and messages.

``ProgressView.update(rows)`` takes the activity's ``progress`` list; a row
widget is reused per operation id and closed when its operation leaves the
list.
"""
from __future__ import annotations

import html
from collections.abc import Iterable, Mapping
from typing import Any

from ipywidgets import HTML, VBox

from .widget_colours import status_colour
from .widget_style import Look
from .widget_tree import close_tree


def row_html(row: Mapping[str, Any]) -> str:
    status = str(row.get("status") or "")
    colour = status_colour(status)
    parts = [f'<code style="user-select:all">{html.escape(str(row.get("id", "")))}</code>',
             f'<b style="color:{colour}">{html.escape(status)}</b>',
             f'{float(row.get("elapsed") or 0):.1f} s']
    if row.get("images"):
        n = int(row["images"])
        parts.append(f"{n} image{'s' if n != 1 else ''}")
    if row.get("message"):
        parts.append(html.escape(str(row["message"])))
    return " &middot; ".join(parts)


class ProgressView(VBox):
    """One HTML row per operation."""

    def __init__(self, look: Look | None = None) -> None:
        owns = look is None
        self.look = look = look or Look()
        super().__init__([], **look(VBox))
        self.add_class("azimage-progress")
        self.rows: dict[str, HTML] = {}
        if owns:
            look.own(self)

    def update(self, rows: Iterable[Mapping[str, Any]]) -> None:
        rows = list(rows)
        wanted = [str(r.get("id", "")) for r in rows]
        for op_id in list(self.rows):
            if op_id not in wanted:
                close_tree(self.rows.pop(op_id))
        for r in rows:
            op_id = str(r.get("id", ""))
            w = self.rows.get(op_id)
            if w is None:
                w = self.rows[op_id] = HTML(**self.look(HTML))
                w.add_class("azimage-progress-row")
            w.value = row_html(r)
        self.children = tuple(self.rows[i] for i in wanted)


__all__ = ["ProgressView", "row_html"]
