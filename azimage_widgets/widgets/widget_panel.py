"""What both panels share: name field, step frame, status line, progress, tasks.

A panel is a VBox over one layer-3 activity. It never holds the connection
in a widget trait (the API key never enters synced state), keeps a
reference to every task it starts, reports a task's exception in its status
line from a done-callback, and only ever sets widget values from tasks (no
``with out:`` after an await).
"""
from __future__ import annotations

import asyncio
import html
from collections.abc import Callable, Coroutine
from typing import Any

from ipywidgets import HTML, Accordion, Button, Checkbox, Dropdown, Text, VBox, Widget
from traitlets import Unicode

from ..activities import Activity, error_info, format_error
from ..contract import API_VERSIONS, ValidationError
from .widget_fields import Field, FieldBinding
from .widget_html import error_html
from .widget_look import Look
from .widget_previews import PreviewGrid
from .widget_progress import ProgressView
from .widget_schema import SchemaView
from .widget_steps import StepFrame
from .widget_tree import OwnsParts, close_tree

FIELD_WIDTH = "520px"
INITIAL = {"description_width": "initial"}  # a style: the description takes the room it needs


class ActivityPanel(OwnsParts, VBox):
    """Base of RequestImagePanel and DownloadImagePanel."""

    status = Unicode("idle", help="The activity's status (not synced).")

    def __init__(self, activity: Activity) -> None:
        super().__init__([])  # the root keeps a layout of its own (users may hide a panel)
        # one Layout/Style model per distinct look, shared by the panel's widgets (widget_look)
        self.look = Look().own(self)
        self.activity = activity
        self._tasks: set[asyncio.Task[Any]] = set()
        self._task: asyncio.Task[Any] | None = None
        self.bindings: dict[str, FieldBinding] = {}
        self.fields: dict[str, Field] = {}
        self.add_class("azimage-panel")
        activity.on_close(lambda _a: self.close())
        self._built = True

    # -- building blocks -------------------------------------------------------
    def _bind(self, trait: str, field: Field, **kw: Any) -> Field:
        self.fields[trait] = field
        self.bindings[trait] = FieldBinding(self.activity, trait, field,
                                            on_change=self._on_config, **kw)
        return field

    def _name_field(self) -> Field:
        text = Text(description="Name", placeholder="unique name, no / or :",
                    continuous_update=True, **self.look(Text, width=FIELD_WIDTH))
        return self._bind("name", self._field(text, "azimage-name"))

    def _version_field(self) -> Field:
        dd = Dropdown(options=list(API_VERSIONS), description="Supported versions",
                      **self.look(Dropdown, style=INITIAL))
        return self._bind("api_version", self._field(dd, "azimage-version"))

    def _continue_field(self) -> Field:
        cb = Checkbox(description="Continue on error", indent=False,
                      tooltip="Keep going when one operation of a run fails; errors are reported",
                      **self.look(Checkbox))
        return self._bind("continue_on_error", self._field(cb, "azimage-continue-on-error"))

    def _output_field(self) -> Field:
        text = Text(description="Bind result to", placeholder="variable name (optional)",
                    **self.look(Text, style=INITIAL, width="360px"))
        return self._bind("output", self._field(text, "azimage-output"))

    def _field(self, input_widget: Widget, css: str, **kw: Any) -> Field:
        """A Field dressed with the panel's shared look."""
        return Field(input_widget, css, look=self.look, **kw)

    def _optional(self, children: list[Widget]) -> Accordion:
        acc = Accordion(children=[VBox(children, **self.look(VBox))], titles=("Optional settings",),
                        selected_index=None, **self.look(Accordion))
        acc.add_class("azimage-optional")
        return acc

    def _frame(self, step1: Widget) -> StepFrame:
        self.schema = SchemaView(self.activity.kind, self.activity.api_version, look=self.look)
        self.activity.observe(lambda c: self.schema.set_version(c["new"]), names="api_version")
        self.frame = StepFrame(self.activity.label, step1, self.schema,
                               on_save=self._save, on_discard=self._discard,
                               summary=self.summary, can_save=self.can_save,
                               is_dirty=lambda: self.activity.dirty, look=self.look)
        self.activity.observe(lambda _c: self.frame.refresh(), names=["dirty", "saved"])
        from .widget_schema_editor import attach_schema_tools

        self.schema_tools = attach_schema_tools(self)  # Refresh / Edit (operations issue)
        return self.frame

    def _run_buttons(self, label: str, icon: str, tooltip: str, css: str, *,
                     delete_tooltip: str) -> Button:
        """The run button (returned; ``css`` its class), Cancel and Delete, wired to
        submit / cancel / delete and enabled by ``_update_buttons``."""
        look = self.look
        run = Button(description=label, button_style="success", icon=icon, tooltip=tooltip,
                     **look(Button))
        run.add_class(css)
        run.on_click(lambda _b: self._click(self.submit))
        self.cancel_button = Button(description="Cancel", icon="stop",
                                    tooltip="Stop waiting; the service may still finish the job",
                                    **look(Button))
        self.cancel_button.add_class("azimage-cancel")
        self.cancel_button.on_click(lambda _b: self.cancel())
        self.delete_button = Button(description="Delete", icon="trash", tooltip=delete_tooltip,
                                    **look(Button))
        self.delete_button.add_class("azimage-delete")
        self.delete_button.on_click(lambda _b: self._click(self.delete))
        self._run_button = run
        return run

    def _preview_grid(self) -> PreviewGrid:
        """``self.previews``: the run's images, their file names following the activity's name."""
        self.previews = PreviewGrid(prefix=self.activity.name, look=self.look)
        self.activity.observe(lambda c: setattr(self.previews, "prefix", c["new"]), names="name")
        return self.previews

    def _status_line(self) -> HTML:
        self.status_html = HTML(**self.look(HTML))
        self.status_html.add_class("azimage-status")
        self.progress_view = ProgressView(look=self.look)
        self.activity.observe(self._on_status, names="state")
        self.activity.observe(lambda c: self.progress_view.update(c["new"]), names="progress")
        from ..activities.runner import batch_progress
        from .widget_batch import BatchProgressBar

        self.batch_bar = BatchProgressBar(batch_progress(self.activity), look=self.look)  # run(data)
        return VBox([self.status_html, self.batch_bar], **self.look(VBox))

    # -- configuration -------------------------------------------------------
    def field_errors(self) -> dict[str, str]:
        """Fields whose last edit was refused, with the reason."""
        return {k: b.error for k, b in self.bindings.items() if b.error}

    def can_save(self) -> bool:
        return not self.field_errors()

    def _on_config(self) -> None:
        if hasattr(self, "frame"):
            self.frame.refresh()

    def _save(self) -> bool:
        try:
            self.activity.save()
        except ValidationError as exc:
            self._show_field_error(exc)
            return False
        return True

    def _discard(self) -> None:
        self.activity.discard()
        for b in self.bindings.values():
            # the restored value is valid: drop errors of refused edits, show the restored text
            b.error = ""
            b.field.set_error("")
            b.widget.value = b._to_widget(getattr(self.activity, b.trait))

    def summary(self) -> str:
        return f"{self.activity.label}: {self.activity.name}"

    def _show_field_error(self, exc: ValidationError) -> None:
        field = self.fields.get(exc.field)
        if field is not None:
            field.set_error(f"{exc.field}: {exc.limit}")

    # -- status --------------------------------------------------------------
    def _on_status(self, _change: Any = None) -> None:
        state = self.activity.state
        self.status = state.status.value
        if state.error:
            info = state.error
            text = format_error(info)
            self.status_html.value = (f'<span style="color:#b00020"><b>Failed</b> &middot; '
                                      f"{html.escape(text)}</span>")
            self.status_html.add_class("azimage-error")
            if info.get("field") in self.fields:
                self.fields[info["field"]].set_error(f"{info['field']}: {info['message'].split(': ', 1)[-1]}")
        else:
            self.status_html.remove_class("azimage-error")
            status = html.escape(state.status.value)
            shown = html.escape(state.message) if state.message else ""
            self.status_html.value = (f"<b>{status}</b> &middot; {shown}"
                                      if shown else f"<b>{status}</b>")
        self._update_buttons()

    def _update_buttons(self) -> None:
        """Run while nothing runs, Cancel while it does, Delete once a run left something."""
        if not hasattr(self, "delete_button"):
            return
        running = self._task is not None and not self._task.done()
        self._run_button.disabled = running
        self.cancel_button.disabled = not running
        self.delete_button.disabled = running or not self._deletable()

    def _click(self, action: Any) -> None:
        try:
            action()
        except Exception as exc:  # noqa: BLE001 - a click must show, never raise into the void
            self._show_exception(exc)

    def submit(self) -> asyncio.Task[Any]:
        """The run button's action (Generate / Download), as a task: subclasses define it."""
        raise NotImplementedError

    def _deletable(self) -> bool:
        """Whether the last run left operations to delete at the service (subclasses say)."""
        return False

    def _show_exception(self, exc: BaseException) -> None:
        """For failures the activity did not record (it records its own)."""
        info = error_info(exc)
        self.status_html.value = error_html(f"Failed · {format_error(info)}")
        self.status_html.add_class("azimage-error")

    # -- tasks ---------------------------------------------------------------
    def _start(self, make: Callable[[], Coroutine[Any, Any, Any]]) -> asyncio.Task[Any]:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            msg = ("needs a running asyncio loop (a Jupyter kernel has one); "
                   "in a script, await the activity's coroutine instead")
            self.status_html.value = error_html(msg)
            raise RuntimeError(msg) from None
        task = loop.create_task(make())
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            self._update_buttons()
            return
        exc = task.exception()  # marks it retrieved: no "never retrieved" log
        if exc is not None and not self.activity.error:
            self._show_exception(exc)
        self._update_buttons()

    @property
    def task(self) -> asyncio.Task[Any] | None:
        """The task of the last run (Generate / Download)."""
        return self._task

    def cancel(self) -> bool:
        """Cancel: stop polling (the service may still finish the job)."""
        return self.activity.cancel()

    def delete(self) -> asyncio.Task[Any]:
        """Delete the finished operations of the last run at the service (a task)."""
        return self._start(self.activity.delete)

    # -- batches and configurations (operations issue) ---------------------------
    async def run(self, data: Any = None, **options: Any) -> Any:
        """``await panel.run(data)``: the activity's ``run`` over datasets (see activities.runner)."""
        follow = getattr(self, "follow_input", None)
        if follow is not None:
            options.setdefault("follow", follow.value)
        return await self.activity.run(data, **options)

    def to_config(self, path: Any = None, **options: Any) -> str:
        """The saved configuration as JSON (never the key); see activities.config_io."""
        from ..activities.config_io import to_config

        return to_config(self.activity, path, **options)

    @classmethod
    def from_config(cls, source: Any, conn: Any = None, **overrides: Any) -> ActivityPanel:
        """A new panel from ``to_config`` JSON (text, a path or a dict); ``overrides`` win."""
        from ..activities.config_io import panel_settings
        from ..activities.download_image import DownloadImage
        from .widget_download_image import DownloadImagePanel

        kind = DownloadImage.kind if issubclass(cls, DownloadImagePanel) else "request_image"
        return cls(conn, **panel_settings(kind, source, **overrides))

    # -- lifecycle -------------------------------------------------------------
    def close_parts(self) -> None:
        """Close every widget of the panel, stop its tasks and free the activity's name."""
        for task in list(self._tasks):
            task.cancel()
        for b in self.bindings.values():
            b.unbind()
        self.activity.close()
        for child in list(self.children):
            close_tree(child)
        close_tree(self)


__all__ = ["ActivityPanel", "FIELD_WIDTH"]
