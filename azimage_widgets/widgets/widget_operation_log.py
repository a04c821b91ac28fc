"""The operation log as a table: filter to errors, export CSV and JSON.

    view = OperationLogView()             # the session's log; or OperationLogView(log)
    view.errors_only.value = True         # what the "Errors only" checkbox does
    view.export("csv")                    # what "Export CSV" does: writes into ``folder``

CSS classes: ``azimage-oplog`` (root), ``azimage-oplog-table`` (the table,
HTML; each row ``<tr class="azimage-oplog-row">``, failures also
``azimage-oplog-error``), ``azimage-oplog-errors-only`` (checkbox),
``azimage-oplog-export-csv`` / ``azimage-oplog-export-json`` (buttons),
``azimage-oplog-folder`` (Text), ``azimage-oplog-status`` (where the written
path is reported).

The table shows the newest ``max_rows`` entries (200 by default) so a long
session stays light; exports always hold every matching entry.
"""
from __future__ import annotations

import html
from datetime import datetime
from pathlib import Path
from typing import Any

from ipywidgets import HTML, Button, Checkbox, HBox, Layout, Text, VBox

from ..activities.oplog import LogEntry, OperationLog, default_log
from .widget_colours import MUTED, status_colour
from .widget_html import error_html
from .widget_tree import OwnsParts, close_tree


def entries_html(entries: list[LogEntry], total: int) -> str:
    head = ("<tr>" + "".join(f'<th style="text-align:left;padding:2px 6px">{h}</th>' for h in
                             ("time (UTC)", "operation", "activity", "dataset", "status",
                              "operation id", "message", "seconds")) + "</tr>")
    rows = []
    for e in entries:
        css = "azimage-oplog-row" + (" azimage-oplog-error" if e.is_error else "")
        colour = status_colour(e.status)
        cells = [e.time.strftime("%H:%M:%S"), html.escape(e.operation or ""),
                 html.escape(e.activity), "" if e.dataset is None else str(e.dataset),
                 f'<b style="color:{colour}">{html.escape(e.status)}</b>',
                 f'<code style="user-select:all">{html.escape(e.operation_id or "")}</code>',
                 html.escape(e.message), f"{e.duration:.2f}"]
        rows.append(f'<tr class="{css}">' + "".join(
            f'<td style="padding:2px 6px;vertical-align:top">{c}</td>' for c in cells) + "</tr>")
    shown = (f"<div style='font-size:85%;color:{MUTED}'>showing the newest {len(entries)} of {total}"
             "</div>") if len(entries) < total else ""
    if not entries:
        return "<i>No entries.</i>"
    return (f'<table style="border-collapse:collapse;font-size:90%"><thead>{head}</thead>'
            f"<tbody>{''.join(rows)}</tbody></table>{shown}")


#: Tallest the log's table gets before it scrolls.
TABLE_MAX_HEIGHT = "320px"


class OperationLogView(OwnsParts, VBox):
    """A table over an OperationLog that follows it as entries arrive."""

    def __init__(self, log: OperationLog | None = None, *, operation: str | None = None,
                 folder: str = ".", max_rows: int = 200, title: str = "Operation log") -> None:
        self.oplog = log if log is not None else default_log()
        self.operation = operation
        self.max_rows = max_rows
        self.title = HTML(f"<b>{html.escape(title)}</b>")
        self.errors_only = Checkbox(value=False, description="Errors only", indent=False)
        self.errors_only.add_class("azimage-oplog-errors-only")
        self.errors_only.observe(lambda _c: self.refresh(), names="value")
        self.csv_button = Button(description="Export CSV", icon="download",
                                 tooltip="Write the (filtered) log as CSV into the folder")
        self.csv_button.add_class("azimage-oplog-export-csv")
        self.csv_button.on_click(lambda _b: self._export_click("csv"))
        self.json_button = Button(description="Export JSON", icon="download",
                                  tooltip="Write the (filtered) log as JSON into the folder")
        self.json_button.add_class("azimage-oplog-export-json")
        self.json_button.on_click(lambda _b: self._export_click("json"))
        self.folder = Text(value=folder, description="Folder", layout=Layout(width="320px"))
        self.folder.add_class("azimage-oplog-folder")
        self.status = HTML()
        self.status.add_class("azimage-oplog-status")
        # a long log scrolls inside its own box instead of pushing the notebook down
        self.table = HTML(layout=Layout(max_height=TABLE_MAX_HEIGHT, overflow="auto"))
        self.table.add_class("azimage-oplog-table")
        super().__init__([self.title, HBox([self.errors_only, self.csv_button, self.json_button,
                                            self.folder]), self.status, self.table])
        self.add_class("azimage-oplog")
        self.oplog.observe(self._on_log, names="version")
        self.refresh()
        self._built = True

    def _on_log(self, _change: Any) -> None:
        self.refresh()

    def entries(self) -> list[LogEntry]:
        """The entries the table (and an export) covers, oldest first."""
        return self.oplog.filter(errors_only=self.errors_only.value, operation=self.operation)

    def refresh(self) -> None:
        chosen = self.entries()
        self.table.value = entries_html(chosen[-self.max_rows:], len(chosen))

    def export(self, fmt: str) -> Path:
        """Write the entries shown (all of them, not only the newest rows) as ``csv`` or ``json``."""
        if fmt not in ("csv", "json"):
            raise ValueError("fmt must be 'csv' or 'json'")
        folder = Path(self.folder.value or ".").expanduser()
        folder.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        suffix = "-errors" if self.errors_only.value else ""
        path = folder / f"operation-log-{stamp}{suffix}.{fmt}"
        chosen = self.entries()
        if fmt == "csv":
            self.oplog.to_csv(path, entries=chosen)
        else:
            self.oplog.to_json(path, entries=chosen)
        self.status.value = (f"Wrote {len(chosen)} entr{'y' if len(chosen) == 1 else 'ies'} to "
                             f"<code>{html.escape(str(path))}</code>")
        return path

    def _export_click(self, fmt: str) -> None:
        try:
            self.export(fmt)
        except Exception as exc:  # noqa: BLE001 - shown next to the buttons
            self.status.value = error_html(f"Export failed: {exc}")

    def close_parts(self) -> None:
        try:
            self.oplog.unobserve(self._on_log, names="version")
        except ValueError:
            pass
        for child in list(self.children):
            close_tree(child)


__all__ = ["OperationLogView", "entries_html"]
