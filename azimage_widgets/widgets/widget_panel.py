"""What both panels share: the configuration frame, run buttons, status line, tasks.

A panel is a VBox over one layer-3 activity. ``ActivityPanel.__init__``
builds every widget once, in the order below, and assigns the panel's
children at the end; a kind of panel (RequestImagePanel, DownloadImagePanel)
only says what differs through a few hooks (``_settings``, ``_results``,
``_watch``) and class attributes. The frame and the buttons exist before
the fields are bound, so a field edit can refresh them from the first one.

A panel never holds the connection in a widget trait (the API key never
enters synced state), keeps a reference to every task it starts, reports a
task's exception in its status line from a done-callback, and only ever sets
widget values from tasks (no ``with out:`` after an await).

Every configuration trait of the activity is also an attribute of the panel
(``ActivitySetting``): ``panel.prompt = "a fox"`` sets the activity's trait,
which the field then shows, as a script, a test or a teacher expects.
"""
from __future__ import annotations

import asyncio
import html
from collections.abc import Callable, Coroutine
from typing import Any, ClassVar

from ipywidgets import HTML, Accordion, Button, Checkbox, Dropdown, HBox, Text, VBox, Widget

from ..activities import Activity, error_info, format_error
from ..activities.batch_progress import batch_progress
from ..activities.config_io import panel_settings, to_config
from ..activities.model_settings import version_choices
from ..activities.run_state import RunState, RunStatus
from ..contract.errors import ValidationError
from ..contract.limits import API_VERSIONS
from .widget_batch import BatchProgressBar
from .widget_colours import tone
from .widget_fields import Field, FieldBinding
from .widget_html import error_html
from .widget_previews import PreviewGrid
from .widget_progress import ProgressView
from .widget_retire import retire, where_created
from .widget_schema import SchemaView
from .widget_schema_editor import SchemaTools
from .widget_steps import StepFrame
from .widget_style import INITIAL, Look
from .widget_tree import OwnsParts, align_labels, close_tree
from .widget_view_code import CodeView, view_code_button

FIELD_WIDTH = "520px"


class ActivitySetting:
    """A panel attribute that is its activity's configuration trait of the same name.

    Reading gives the activity's value; writing sets the activity's trait (its
    validator may refuse with a ValidationError), and the field bound to that
    trait follows.
    """

    def __init__(self, name: str, doc: str = "") -> None:
        self.name = name
        self.__doc__ = doc or f"The activity's {name!r} setting."

    def __get__(self, panel: ActivityPanel | None, owner: type | None = None) -> Any:
        if panel is None:
            return self
        return getattr(panel.activity, self.name)

    def __set__(self, panel: ActivityPanel, value: Any) -> None:
        panel.activity.set_setting(self.name, value)  # a wrong type: ValidationError naming it


class ActivityPanel(OwnsParts, VBox):
    """Base of RequestImagePanel and DownloadImagePanel."""

    #: The layer-3 activity class a panel shows; its configuration traits become panel attributes.
    activity_class: ClassVar[type[Activity]] = Activity
    #: CSS class of the panel's root, besides ``azimage-panel``.
    css_class: ClassVar[str] = ""
    #: The run button: label, icon, tooltip, CSS class; and the Delete button's tooltip.
    run_button_spec: ClassVar[tuple[str, str, str, str]] = ("Run", "play", "Run", "azimage-run")
    delete_tooltip: ClassVar[str] = "Delete the finished operations at the service"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        activity_class = cls.__dict__.get("activity_class")
        if activity_class is None:
            return
        traits = activity_class.class_traits()
        for name in activity_class.all_config_names():
            if hasattr(cls, name):  # the panel's own trait of that name (e.g. image_id) stays
                continue
            trait = traits.get(name)
            setattr(cls, name, ActivitySetting(name, getattr(trait, "help", "")))

    def __init__(self, activity: Activity) -> None:
        super().__init__()  # children at the end; the root keeps a layout of its own
        # one Layout/Style model per distinct look, shared by the panel's widgets (widget_style)
        self.look = look = Look().own(self)
        self.activity = activity
        self._tasks: set[asyncio.Task[Any]] = set()
        self._task: asyncio.Task[Any] | None = None
        self.bindings: dict[str, FieldBinding] = {}
        self.fields: dict[str, Field] = {}
        self.add_class("azimage-panel")
        if self.css_class:
            self.add_class(self.css_class)

        # the frame, with step 1 filled once its fields are bound
        self.step1 = VBox([], **look(VBox))
        self.schema = SchemaView(activity.kind, activity.api_version, look=look)
        self.frame = StepFrame(activity.label, self.step1, self.schema,
                               on_save=self._save, on_discard=self._discard,
                               summary=self.summary, can_save=self.can_save,
                               is_dirty=lambda: self.activity.dirty, look=look)
        self.schema_tools = SchemaTools(self.schema, activity, look)  # Refresh / Edit

        # run buttons, status line, progress, previews, code
        self.run_button, self.cancel_button, self.delete_button = self._run_buttons()
        self.status_html = HTML(**look(HTML))
        self.status_html.add_class("azimage-status")
        self.batch_bar = BatchProgressBar(batch_progress(activity), look=look)  # run(data)
        self.progress_view = ProgressView(look=look)
        self.previews = PreviewGrid(prefix=activity.name, look=look)
        self.code_view = CodeView(activity, look=look)
        self.view_code_button = view_code_button(self.code_view, look)
        self.buttons = HBox([self.run_button, self.cancel_button, self.delete_button,
                             *self._extra_buttons(), self.view_code_button],
                            **look(HBox, width="100%"))

        self.step1.children = tuple(self._settings())
        results = self._results()
        self._watch_activity()
        self.children = (self.frame, self.buttons,
                         VBox([self.status_html, self.batch_bar], **look(VBox)),
                         *results, self.previews, self.code_view)
        self._built = True
        self._show_state(None, activity.state)
        self.frame.refresh()

    # -- what a kind of panel adds (subclasses) ------------------------------------
    def _settings(self) -> list[Widget]:
        """Step 1's rows, their fields bound to the activity (``_bind``)."""
        return [self._name_field(), self._optional([self._version_field(), self._output_field()]),
                self._continue_field()]

    def _extra_buttons(self) -> list[Widget]:
        """Widgets after Cancel and Delete in the button row."""
        return []

    def _results(self) -> list[Widget]:
        """Widgets between the status line and the previews that show a run's outcome."""
        return [self.progress_view]

    def _watch(self) -> None:
        """Observe what else of the activity this kind shows (besides ``state``)."""

    def _show_outputs(self, old: RunState | None, new: RunState) -> None:
        """Show the run's outputs (ids, results) that differ between ``old`` and ``new``."""

    def submit(self) -> asyncio.Task[Any]:
        """The run button's action (Generate / Download), as a task: subclasses define it."""
        raise NotImplementedError

    def _deletable(self) -> bool:
        """Whether the last run left operations to delete at the service (subclasses say)."""
        return False

    # -- building blocks -------------------------------------------------------
    def _watch_activity(self) -> None:
        a = self.activity
        a.observe(lambda c: self.schema.set_version(c["new"]), names="api_version")
        a.observe(lambda _c: self.frame.refresh(), names=["dirty", "saved"])
        a.observe(lambda c: setattr(self.previews, "prefix", c["new"]), names="name")
        a.observe(lambda c: self._show_state(c["old"], c["new"]), names="state")
        a.observe(lambda c: self.progress_view.update(c["new"]), names="progress")
        a.on_close(self._activity_closed)
        self._watch()

    def _bind(self, trait: str, field: Field, **kw: Any) -> Field:
        self.fields[trait] = field
        self.bindings[trait] = FieldBinding(self.activity, trait, field,
                                            on_change=self._field_changed, **kw)
        return field

    def _field_changed(self) -> None:
        """An edit was taken or refused: Save & Exit and the run button follow."""
        self.frame.refresh()
        if "run_button" in self.__dict__:  # made after the fields
            self._update_buttons()

    def _name_field(self) -> Field:
        text = Text(description="Name", placeholder="unique name, no / or :",
                    continuous_update=True, **self.look(Text, width=FIELD_WIDTH))
        return self._bind("name", self._field(text, "azimage-name"))

    def _version_field(self) -> Field:
        # v1 first; the retired ones say so ("2023-06-01-preview (retired 2025-01-27)")
        dd = Dropdown(options=version_choices(API_VERSIONS), description="Supported versions",
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
        look = self.look
        self.optional = Accordion(children=[VBox(children, **look(VBox))],
                                  titles=("Optional settings",), selected_index=None,
                                  **look(Accordion))
        self.optional.add_class("azimage-optional")
        align_labels(self.optional.children[0], look)  # and those a version or model adds
        return self.optional

    def _run_buttons(self) -> tuple[Button, Button, Button]:
        """The run button, Cancel and Delete, wired to submit / cancel / delete."""
        look = self.look
        label, icon, tooltip, css = self.run_button_spec
        run = Button(description=label, button_style="success", icon=icon, tooltip=tooltip,
                     **look(Button))
        run.add_class(css)
        run.on_click(lambda _b: self._click(self.submit))
        cancel = Button(description="Cancel", icon="stop",
                        tooltip="Stop waiting; the service may still finish the job", **look(Button))
        cancel.add_class("azimage-cancel")
        cancel.on_click(lambda _b: self.cancel())
        delete = Button(description="Delete", icon="trash", tooltip=self.delete_tooltip,
                        **look(Button))
        delete.add_class("azimage-delete")
        delete.on_click(lambda _b: self._click(self.delete))
        return run, cancel, delete

    # -- configuration -------------------------------------------------------
    def field_errors(self) -> dict[str, str]:
        """Fields whose last edit was refused, with the reason."""
        return {k: b.error for k, b in self.bindings.items() if b.error}

    def can_save(self) -> bool:
        return not self.field_errors()

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
            b.reset()  # the restored value is valid: drop errors of refused edits

    def summary(self) -> str:
        return f"{self.activity.label}: {self.activity.name}"

    def _show_field_error(self, exc: ValidationError) -> None:
        field = self.fields.get(exc.field)
        if field is not None:
            field.set_error(f"{exc.field}: {exc.limit}")

    # -- the run state -------------------------------------------------------------
    @property
    def status(self) -> RunStatus:
        """Where the activity's last run is (its ``state.status``)."""
        return self.activity.state.status

    def _show_state(self, old: RunState | None, new: RunState) -> None:
        """The one observer of the activity's run state: status line, outputs, buttons."""
        self._show_status(new)
        self._show_outputs(old, new)
        self._update_buttons()

    def _show_status(self, state: RunState) -> None:
        if state.error:
            info = state.error
            self.status_html.value = (f'<span style="color:{tone("error")}"><b>Failed</b> &middot; '
                                      f"{html.escape(format_error(info))}</span>")
            self.status_html.add_class("azimage-error")
            if info.get("field") in self.fields:
                reason = info["message"].split(": ", 1)[-1]
                self.fields[info["field"]].set_error(f"{info['field']}: {reason}")
        else:
            self.status_html.remove_class("azimage-error")
            status = html.escape(state.status.value)
            shown = html.escape(state.message) if state.message else ""
            self.status_html.value = f"<b>{status}</b> &middot; {shown}" if shown else f"<b>{status}</b>"

    def _update_buttons(self) -> None:
        """Run while nothing runs, Cancel while it does, Delete once a run left something."""
        # the state says running once the run's first step ran; the task covers the moment before
        pending = self._task is not None and not self._task.done()
        running = self.activity.state.running or pending
        # a field whose last edit was refused: the activity still holds the old value, so
        # running now would run what the panel no longer shows
        invalid = self.field_errors()
        self.run_button.disabled = running or bool(invalid)
        self.cancel_button.disabled = not running
        self.delete_button.disabled = running or not self._deletable()

    def _click(self, action: Callable[[], Any]) -> None:
        try:
            action()
        except Exception as exc:  # noqa: BLE001 - a click must show, never raise into the void
            self._show_exception(exc)

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

    # -- batches and configurations ----------------------------------------------
    async def run(self, data: Any = None, **options: Any) -> Any:
        """``await panel.run(data)``: the activity's ``run`` over datasets (see activities.dataset_runs)."""
        return await self.activity.run(data, **options)

    def to_config(self, path: Any = None, **options: Any) -> str:
        """The saved configuration as JSON (never the key); see activities.config_io."""
        return to_config(self.activity, path, **options)

    @classmethod
    def from_config(cls, source: Any, conn: Any = None, **overrides: Any) -> ActivityPanel:
        """A new panel from ``to_config`` JSON (text, a path or a dict); ``overrides`` win."""
        return cls(conn, **panel_settings(cls.activity_class.kind, source, **overrides))

    # -- lifecycle -------------------------------------------------------------
    def _activity_closed(self, activity: Activity) -> None:
        """Closed for good: the panel goes. Replaced by a newer panel of the same name: it
        stays on the page, disabled, saying so (a reloaded page still finds its widgets)."""
        if activity.replaced_by is None:
            self.close()
        else:
            retire(self, f"Replaced by a newer {activity.label} panel named "
                        f"{activity.replaced_by!r} {where_created()}; this one no longer runs.")

    def close_parts(self) -> None:
        """Close every widget of the panel, stop its tasks and free the activity's name."""
        for task in list(self._tasks):
            task.cancel()
        for b in self.bindings.values():
            b.unbind()
        self.schema_tools.close()
        self.activity.close()
        for child in list(self.children):
            close_tree(child)
        close_tree(self)


__all__ = ["ActivityPanel", "ActivitySetting", "FIELD_WIDTH"]
