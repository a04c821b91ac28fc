"""Step 2: the request and response data schemas of the selected api-version, as tables.

The Refresh and Edit buttons stay disabled until a ``widget_schema_editor.SchemaTools``
wires them (every panel makes one).
"""
from __future__ import annotations

import html

from ipywidgets import HTML, Button, HBox, VBox

from ..contract.schemas import SchemaField, schemas_for
from .widget_style import Look

_NOTES = {
    "request_image": ("Use the <code>id</code> of the response as the input of a Download Image "
                      "activity's request."),
    "download_image": ("The <code>id</code> of the request is the one a Request Image activity "
                       "returned."),
}


def schema_table(title: str, fields: tuple[SchemaField, ...]) -> str:
    rows = []
    for f in fields:
        indent = f.depth * 14
        rows.append(
            "<tr>"
            f'<td style="padding:2px 8px 2px {4 + indent}px"><code>{html.escape(f.name)}</code></td>'
            f'<td style="padding:2px 8px">{html.escape(f.type)}</td>'
            f'<td style="padding:2px 8px">{"yes" if f.required else "no"}</td>'
            f'<td style="padding:2px 8px">{html.escape(f.description)}</td>'
            "</tr>")
    return (f"<div><b>{html.escape(title)}</b>"
            '<table style="border-collapse:collapse;font-size:90%">'
            '<thead><tr><th style="text-align:left;padding:2px 8px">Field</th>'
            '<th style="text-align:left;padding:2px 8px">Type</th>'
            '<th style="text-align:left;padding:2px 8px">Required</th>'
            '<th style="text-align:left;padding:2px 8px">Description</th></tr></thead>'
            f"<tbody>{''.join(rows)}</tbody></table></div>")


class SchemaView(VBox):
    """Request and response schema tables, with the Refresh and Edit buttons."""

    def __init__(self, kind: str, api_version: str, look: Look | None = None) -> None:
        owns = look is None
        self.look = look = look or Look()
        self.kind = kind
        self.refresh_button = Button(
            description="Refresh", icon="refresh", disabled=True, **look(Button),
            tooltip="Regenerate the schemas from the endpoint (every panel using them updates)")
        self.refresh_button.add_class("azimage-schema-refresh")
        self.edit_button = Button(
            description="Edit", icon="pencil", disabled=True, **look(Button),
            tooltip="Edit this activity's schemas: add, delete, rename, reorder, change types")
        self.edit_button.add_class("azimage-schema-edit")
        self.request_table = HTML(**look(HTML))
        self.response_table = HTML(**look(HTML))
        for t in (self.request_table, self.response_table):
            t.add_class("azimage-schema-table")
        self.note = HTML(**look(HTML))
        super().__init__([HBox([self.refresh_button, self.edit_button], **look(HBox)),
                          self.request_table, self.response_table, self.note], **look(VBox))
        self.add_class("azimage-schema")
        if owns:
            look.own(self)
        self.set_version(api_version)

    def set_version(self, api_version: str) -> None:
        request, response = schemas_for(self.kind, api_version)
        self.request_fields, self.response_fields = request, response
        self.request_table.value = schema_table(f"Request ({api_version})", request)
        self.response_table.value = schema_table(f"Response ({api_version})", response)
        self.note.value = (f'<span style="font-size:90%">{_NOTES.get(self.kind, "")} '
                           "Data supplied in a transformation takes precedence over the activity "
                           "configuration.</span>")


__all__ = ["SchemaView", "schema_table"]
