"""RequestImagePanel: the Request Image activity as a notebook panel.

    req = RequestImagePanel(conn, name="fox", output="fox", prompt="a red fox")
    task = req.submit()      # what Generate does: an asyncio.Task on the running loop
    await task               # -> Operations (ids in .ids); previews follow by default

Step 1: Name, Prompt (widget_prompt_area: the browser's maxlength and a live
``n / 1000`` counter; the cap enforced in Python too),
Optional settings (Size, Number of images, Supported versions, Bind result
to), Continue on error. Step 2: data schemas. Below the configuration:
Generate, Cancel, Delete, "Download and preview", the status line, the ids
(selectable), per-operation progress and the preview grid.

Observable (not synced) traits: ``ids``, ``results``, ``status``; chain
with ``traitlets.dlink((req, "ids"), (dl, "image_id"), lambda ids: ids[0] if ids else "")``.
"""
from __future__ import annotations

import asyncio
import html
from typing import Any

from ipywidgets import HTML, Checkbox, Dropdown, HBox, IntSlider, VBox
from traitlets import List, Unicode

from ..activities import RequestImage
from ..contract import N_MAX, N_MIN, SIZES
from .widget_edit_image import EditImageSection
from .widget_panel import FIELD_WIDTH, INITIAL, ActivityPanel
from .widget_prompt_area import PromptArea
from .widget_version_fields import VersionFields
from .widget_view_code import attach_view_code


class RequestImagePanel(ActivityPanel):
    """Request Image: configure, Generate, watch progress, preview."""

    ids = List(Unicode(), help="Operation ids of the last run (observable, not synced).")
    results = List(help="DownloadResult per operation after follow-through (observable).")

    def __init__(self, conn: Any = None, name: str | None = None, output: str | None = None, *,
                 follow: bool = True, namespace: Any = None, **config: Any) -> None:
        activity = RequestImage(conn, name=name, output=output, namespace=namespace,
                                replace=True, **config)
        super().__init__(activity)
        self.add_class("azimage-request-image")
        a = activity

        name_field = self._name_field()
        look = self.look
        # the cap is the browser's maxlength while typing and pasting, and Python's for the rest
        self.prompt_input = PromptArea(description="Prompt", rows=4,
                                       placeholder="Describe the image to generate",
                                       **look(PromptArea, width=FIELD_WIDTH))
        prompt_field = self._bind("prompt", self._field(self.prompt_input, "azimage-prompt"))

        self.size_input = Dropdown(options=list(SIZES), description="Size", **look(Dropdown))
        size_field = self._bind("size", self._field(self.size_input, "azimage-size"))
        self.n_input = IntSlider(min=N_MIN, max=N_MAX, step=1, description="Number of images",
                                 **look(IntSlider, style=INITIAL))
        n_field = self._bind("n", self._field(self.n_input, "azimage-n"))
        version_field = self._version_field()
        output_field = self._output_field()
        # sizes, n max, prompt cap and quality/style/... follow the selected version
        self.version_fields = VersionFields(self)
        self.optional = self._optional([size_field, n_field, version_field,
                                        *self.version_fields.fields, output_field])
        continue_field = self._continue_field()
        # "Edit an image" (versions with edits only): uploads go to a.edit_image / a.edit_mask
        self.edit_section = EditImageSection(self)
        step1 = VBox([name_field, prompt_field, self.optional, self.edit_section.root,
                      continue_field], **look(VBox))
        frame = self._frame(step1)

        self.generate_button = self._run_buttons(
            "Generate", "magic", "Submit the prompt and make the images", "azimage-generate",
            delete_tooltip="Delete the finished operations and their images at the service")
        self.edit_section.refresh()  # "Generate edit" while an image is set
        self.follow_input = Checkbox(value=follow, description="Download and preview", indent=False,
                                     **look(Checkbox))
        self.follow_input.add_class("azimage-follow")

        status = self._status_line()
        self.ids_html = HTML(**look(HTML))
        self.ids_html.add_class("azimage-ids")
        self._preview_grid()
        a.observe(self._on_state, names="state")

        self.children = (frame, HBox([self.generate_button, self.cancel_button, self.delete_button,
                                      self.follow_input], **look(HBox)),
                         status, self.ids_html, self.progress_view, self.previews)
        self._on_status()
        attach_view_code(self, self.children[1])  # "View code": Python and curl, no key
        self._on_ids()
        frame.refresh()

    # -- fields ---------------------------------------------------------------
    def _count(self, _change: Any = None) -> None:
        """Nothing to do: the prompt area draws its ``n / max`` counter in the browser."""

    @property
    def prompt_counter(self) -> str:
        """The prompt's counter as the browser shows it (``n / max``)."""
        return self.prompt_input.counter

    def summary(self) -> str:
        a = self.activity
        prompt = a.prompt if len(a.prompt) <= 40 else a.prompt[:39] + "\u2026"
        return (f"{a.label}: {a.name} \u00b7 \u201c{prompt}\u201d \u00b7 {a.size} \u00d7 {a.n}"
                f" \u00b7 click to edit")

    # -- running ---------------------------------------------------------------
    def submit(self) -> asyncio.Task[Any]:
        """Generate: submit (and, with "Download and preview", follow through) as a task.

        Returns the asyncio.Task, running on the current loop; awaiting it
        gives the Operations of the run, or raises the run's error (which the
        panel shows too).
        """
        if self._task is not None and not self._task.done():
            return self._task
        follow = self.follow_input.value
        self.previews.clear()
        self._task = self._start(lambda: self.activity.generate(follow=follow))
        self._update_buttons()
        return self._task

    def _on_state(self, change: Any) -> None:
        """The run's outputs changed: ids and previews follow the activity's state."""
        old, new = change["old"], change["new"]
        if old is None or old.ids != new.ids:
            self._on_ids()
        if old is None or old.results != new.results:
            self.results = list(new.results)
            self.previews.show(self.results)

    def _on_ids(self) -> None:
        ids = list(self.activity.state.ids)
        self.ids = ids
        if ids:
            shown = " ".join(f'<code style="user-select:all">{html.escape(i)}</code>' for i in ids)
            self.ids_html.value = f"<b>Operation ids</b>: {shown}"
        else:
            self.ids_html.value = ""
        self._update_buttons()

    def _deletable(self) -> bool:
        return bool(self.activity.ids)


__all__ = ["RequestImagePanel"]
