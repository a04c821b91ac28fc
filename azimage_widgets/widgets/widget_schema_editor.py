"""Step 2's Refresh and Edit: the schema editor, and wiring both into a panel's SchemaView.

``SchemaTools(view, activity, look)`` (made by every panel) enables the
Refresh and Edit buttons of the panel's SchemaView:

- the tables show the activity's effective schema (its own edit, or the
  shared schema of its kind and version) and follow the shared registry,
  so a Refresh in one panel updates every panel showing that schema;
- Refresh regenerates the shared schema from the endpoint (a task on the
  running loop) and drops this activity's own edit (Discard Changes brings
  it back until the configuration is saved);
- Edit opens a ``SchemaEditor``: pick request or response, select a field,
  then Add (new fields are optional, [0, 1]), Delete, Rename, change Type,
  move Up / Down. Every change is checked at once (the message shows in the
  editor); Apply makes it the activity's ``schema_edit``, which Save & Exit /
  Finished save with the configuration and Discard Changes restores.

CSS classes: ``azimage-schema-status``, ``azimage-schema-editor``,
``azimage-schema-part``, ``azimage-schema-fields``, ``azimage-schema-name``,
``azimage-schema-type``, ``azimage-schema-add``, ``azimage-schema-delete``,
``azimage-schema-rename``, ``azimage-schema-set-type``, ``azimage-schema-up``,
``azimage-schema-down``, ``azimage-schema-apply``, ``azimage-schema-cancel``,
``azimage-schema-reset``, ``azimage-schema-editor-error``.
"""
from __future__ import annotations

import asyncio
import html
from typing import Any

from ipywidgets import HTML, Button, Dropdown, HBox, Select, Text, ToggleButtons, VBox

from ..activities.schema_edit import TYPES, SchemaDraft
from ..activities.schema_registry import effective_schema, refresh_schema, registry
from ..contract.errors import ValidationError
from ..contract.schemas import SchemaField
from .widget_html import error_html
from .widget_schema import SchemaView, schema_table
from .widget_style import Look
from .widget_tree import close_tree, show


def _button(look: Look, text: str, css: str, icon: str = "", style: str = "",
            tooltip: str = "") -> Button:
    b = Button(description=text, icon=icon, button_style=style, tooltip=tooltip or text,
               **look(Button, width="auto"))
    b.add_class(css)
    return b


class SchemaEditor(VBox):
    """Edit an activity's request and response schemas; Apply sets its ``schema_edit``."""

    def __init__(self, activity: Any, on_done: Any = None, look: Look | None = None) -> None:
        owns = look is None
        look = look or Look()
        self.activity = activity
        self._on_done = on_done
        self.draft = SchemaDraft.of(activity)
        self.part = ToggleButtons(options=["request", "response"], value="request",
                                  description="Schema", **look(ToggleButtons))
        self.part.add_class("azimage-schema-part")
        self.fields = Select(options=[], rows=10, **look(Select, width="360px"))
        self.fields.add_class("azimage-schema-fields")
        self.name = Text(description="Name", placeholder="field, or parent.child",
                         **look(Text, width="360px"))
        self.name.add_class("azimage-schema-name")
        self.type = Dropdown(options=list(TYPES), value="string", description="Type",
                             **look(Dropdown))
        self.type.add_class("azimage-schema-type")
        self.add_button = _button(look, "Add", "azimage-schema-add", "plus",
                                  tooltip="Add a field named as typed, after the selected one "
                                          "(new fields are optional: [0, 1])")
        self.delete_button = _button(look, "Delete", "azimage-schema-delete", "trash",
                                     tooltip="Delete the selected field and its children")
        self.rename_button = _button(look, "Rename", "azimage-schema-rename", "i-cursor",
                                     tooltip="Rename the selected field to the typed name")
        self.set_type_button = _button(look, "Set type", "azimage-schema-set-type", "exchange",
                                       tooltip="Give the selected field the chosen type")
        self.up_button = _button(look, "Up", "azimage-schema-up", "arrow-up")
        self.down_button = _button(look, "Down", "azimage-schema-down", "arrow-down")
        self.apply_button = _button(look, "Apply", "azimage-schema-apply", "check", "primary",
                                    "Use this schema (Save & Exit / Finished saves it)")
        self.cancel_button = _button(look, "Cancel", "azimage-schema-cancel", "times",
                                     tooltip="Close the editor without changing the schema")
        self.reset_button = _button(look, "Use endpoint schema", "azimage-schema-reset", "undo",
                                    tooltip="Drop this activity's edit: use the shared schema")
        self.error = HTML(**look(HTML))
        self.error.add_class("azimage-schema-editor-error")
        self.preview = HTML(**look(HTML))
        for b, handler in ((self.add_button, self.add), (self.delete_button, self.delete),
                           (self.rename_button, self.rename), (self.set_type_button, self.set_type),
                           (self.up_button, lambda: self.move(-1)),
                           (self.down_button, lambda: self.move(1)),
                           (self.apply_button, self.apply), (self.cancel_button, self.cancel),
                           (self.reset_button, self.reset)):
            b.on_click(lambda _b, h=handler: self._guard(h))
        self.part.observe(lambda _c: self._render(), names="value")
        self.fields.observe(self._selected, names="value")
        box = look(HBox)
        super().__init__([
            self.part,
            HBox([self.fields, VBox([self.name, self.type,
                                     HBox([self.add_button, self.rename_button,
                                           self.set_type_button], **box),
                                     HBox([self.delete_button, self.up_button, self.down_button],
                                          **box)], **look(VBox))], **box),
            self.error, self.preview,
            HBox([self.apply_button, self.cancel_button, self.reset_button], **box)],
            **look(VBox, border="1px solid #ccc", padding="6px"))
        self.add_class("azimage-schema-editor")
        if owns:
            look.own(self)
        self._render()

    # -- view --------------------------------------------------------------------
    def _render(self, select: str | None = None) -> None:
        items = self.draft.parts[self.part.value]
        opts = [("\u2003" * f["name"].count(".") + f"{f['name']} : {f['type']}"
                 + (" (required)" if f["required"] else " [0, 1]"), f["name"]) for f in items]
        self.fields.options = opts
        names = [n for _l, n in opts]
        if select in names:
            self.fields.value = select
        elif names:
            self.fields.value = names[0]
        fields = tuple(SchemaField(**f) for f in items)
        self.preview.value = schema_table(f"{self.part.value.title()} (draft)", fields)

    def _selected(self, change: Any) -> None:
        name = change["new"]
        if not name:
            return
        for f in self.draft.parts[self.part.value]:
            if f["name"] == name:
                self.name.value = name
                self.type.value = f["type"]

    def _guard(self, action: Any) -> None:
        try:
            action()
        except ValidationError as exc:
            self.error.value = error_html(str(exc))
        else:
            self.error.value = ""

    # -- actions -------------------------------------------------------------------
    def add(self) -> None:
        name = self.name.value.strip()
        if not name:
            raise ValidationError("name", "type the new field's name first")
        self.draft.add(self.part.value, name, self.type.value, after=self.fields.value or None)
        self._render(name)

    def delete(self) -> None:
        name = self.fields.value
        if not name:
            raise ValidationError("name", "select a field first")
        self.draft.delete(self.part.value, name)
        self._render()

    def rename(self) -> None:
        old, new = self.fields.value, self.name.value.strip()
        if not old:
            raise ValidationError("name", "select a field first")
        self.draft.rename(self.part.value, old, new)
        self._render(new)

    def set_type(self) -> None:
        name = self.fields.value
        if not name:
            raise ValidationError("name", "select a field first")
        self.draft.set_type(self.part.value, name, self.type.value)
        self._render(name)

    def move(self, offset: int) -> None:
        name = self.fields.value
        if not name:
            raise ValidationError("name", "select a field first")
        self.draft.move(self.part.value, name, offset)
        self._render(name)

    def apply(self) -> None:
        self.draft.apply(self.activity)
        self._done()

    def cancel(self) -> None:
        self._done()

    def reset(self) -> None:
        self.activity.schema_edit = None
        self._done()

    def _done(self) -> None:
        if self._on_done is not None:
            self._on_done()


class SchemaTools:
    """The wiring of Refresh / Edit / the shared registry into one panel's SchemaView."""

    def __init__(self, view: SchemaView, activity: Any, look: Look | None = None) -> None:
        self.view = view
        self.activity = activity
        self.editor: SchemaEditor | None = None
        self._unsubscribe: Any = None
        self._tasks: set[asyncio.Task[Any]] = set()
        v = self.view
        v.refresh_button.disabled = False
        v.edit_button.disabled = False
        v.refresh_button.on_click(lambda _b: self.refresh())
        v.edit_button.on_click(lambda _b: self.open_editor())
        self.look = look = look or Look().own(self.view)
        self.status = HTML(**look(HTML))
        self.status.add_class("azimage-schema-status")
        self.editor_box = VBox([], **look(VBox))
        v.children = tuple(v.children[:1]) + (self.status, self.editor_box) + tuple(v.children[1:])
        self.activity.observe(self._on_version, names="api_version")
        self.activity.observe(self._on_edit, names="schema_edit")
        self._subscribe()
        self.render()

    def _subscribe(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
        self._unsubscribe = registry().subscribe(self.activity.kind, self.activity.api_version,
                                                 self._on_shared)

    def _on_version(self, _change: Any) -> None:
        self._subscribe()
        self.render()

    def _on_shared(self, _doc: Any) -> None:
        self.render()

    def _on_edit(self, _change: Any) -> None:
        self.render()

    def render(self) -> None:
        doc = effective_schema(self.activity)
        v = self.view
        v.request_fields, v.response_fields = doc.request, doc.response
        where = "edited" if doc.source == "edited" else doc.source
        v.request_table.value = schema_table(f"Request ({doc.api_version}, {where})", doc.request)
        v.response_table.value = schema_table(f"Response ({doc.api_version}, {where})", doc.response)

    # -- Refresh -------------------------------------------------------------------
    def refresh(self) -> asyncio.Task[Any] | None:
        """Regenerate the shared schema from the endpoint, as a task; drops this activity's edit."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.status.value = error_html("Refresh needs a running asyncio loop (a kernel has one)")
            return None
        self.status.value = "Refreshing\u2026"
        task = loop.create_task(self._refresh())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _refresh(self) -> Any:
        a = self.activity
        try:
            doc = await refresh_schema(a.connection, a.kind, a.api_version)
        except Exception as exc:  # noqa: BLE001 - shown in the panel
            self.status.value = error_html(f"Refresh failed: {exc}")
            raise
        if a.schema_edit is not None:
            a.schema_edit = None
        self.render()
        self.status.value = (f"Refreshed from {html.escape(doc.source)} at "
                             f"{doc.refreshed:%H:%M:%S} UTC.")
        return doc

    # -- Edit ----------------------------------------------------------------------
    def open_editor(self) -> SchemaEditor:
        self.close_editor()
        self.editor = SchemaEditor(self.activity, on_done=self.close_editor, look=self.look)
        self.editor_box.children = (self.editor,)
        show(self.view.edit_button, False)
        return self.editor

    def close_editor(self) -> None:
        if self.editor is not None:
            close_tree(self.editor)
            self.editor = None
        self.editor_box.children = ()
        show(self.view.edit_button, True)

    def close(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        for t in list(self._tasks):
            t.cancel()
        self.close_editor()


__all__ = ["SchemaEditor", "SchemaTools"]
