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
import base64
import html
from typing import Any

from ipywidgets import HTML, Button, Checkbox, Dropdown, IntSlider, Widget
from traitlets import List, Unicode

from ..activities.request_image import RequestImage
from ..activities.run_state import RunState
from ..contract.limits import N_MAX, N_MIN, SIZES
from .widget_edit_image import EditImageSection
from .widget_model_fields import ModelFields
from .widget_panel import FIELD_WIDTH, ActivityPanel
from .widget_prompt_area import PromptArea
from .widget_style import INITIAL
from .widget_version_fields import VersionFields


class RequestImagePanel(ActivityPanel):
    """Request Image: configure, Generate, watch progress, preview."""

    activity_class = RequestImage
    css_class = "azimage-request-image"
    run_button_spec = ("Generate", "magic", "Submit the prompt and make the images",
                       "azimage-generate")
    delete_tooltip = "Delete the finished operations and their images at the service"

    ids = List(Unicode(), help="Operation ids of the last run (observable, not synced).")
    results: List[Any] = List(help="DownloadResult per operation after follow-through (observable).")

    activity: RequestImage

    def __init__(self, conn: Any = None, name: str | None = None, output: str | None = None, *,
                 follow: bool = True, namespace: Any = None, **config: Any) -> None:
        super().__init__(RequestImage(conn, name=name, output=output, namespace=namespace,
                                      replace=True, **config))
        self.follow_input.value = follow

    # -- the parts of this kind -----------------------------------------------------
    def _settings(self) -> list[Widget]:
        look = self.look
        name_field = self._name_field()
        # the cap is the browser's maxlength while typing and pasting, and Python's for the rest
        self.prompt_input = PromptArea(description="Prompt", rows=4,
                                       placeholder="Describe the image to generate",
                                       **look(PromptArea, width=FIELD_WIDTH))
        prompt_field = self._bind("prompt", self._field(self.prompt_input, "azimage-prompt"))

        sizes = list(SIZES) + ([self.activity.size] if self.activity.size not in SIZES else [])
        self.size_input = Dropdown(options=sizes, description="Size", **look(Dropdown))
        size_field = self._bind("size", self._field(self.size_input, "azimage-size"))
        self.n_input = IntSlider(min=N_MIN, max=N_MAX, step=1, description="Number of images",
                                 **look(IntSlider, style=INITIAL))
        n_field = self._bind("n", self._field(self.n_input, "azimage-n"))
        version_field = self._version_field()
        output_field = self._output_field()
        # sizes, n max, prompt cap and quality/style/... follow the selected version
        self.version_fields = VersionFields(self, self.size_input, self.n_input, self.prompt_input)
        # today's models: deployment, model, custom size, moderation, fidelity, live previews
        self.model_fields = ModelFields(self, self.size_input)
        mf = self.model_fields
        optional = self._optional([version_field, mf.root, size_field, n_field,
                                   *self.version_fields.fields, output_field])
        continue_field = self._continue_field()
        # "Edit an image" (versions with edits only): uploads go to a.edit_image / a.edit_mask
        self.edit_section = EditImageSection(self)
        return [name_field, prompt_field, optional, self.edit_section.root, continue_field]

    def _extra_buttons(self) -> list[Widget]:
        self.follow_input = Checkbox(value=True, description="Download and preview", indent=False,
                                     **self.look(Checkbox))
        self.follow_input.add_class("azimage-follow")
        return [self.follow_input]

    def _watch(self) -> None:
        # live previews: each partial image replaces its tile's picture in place
        self.activity.observe(self._show_partial, names="partial")
        # their tiles are laid out as the stream opens, before the first partial arrives
        self.activity.observe(self._prepare_partials, names="previewing")

    def _prepare_partials(self, change: Any) -> None:
        if change["new"]:
            self.previews.prepare_partials(change["new"], self.activity.size)

    def _show_partial(self, change: Any) -> None:
        event = change["new"]
        if event is not None:
            self.previews.show_partial(getattr(event, "image_index", 0), event.partial_index,
                                       base64.b64decode(event.b64_json),
                                       self.activity.partial_images)

    def _results(self) -> list[Widget]:
        self.ids_html = HTML(**self.look(HTML))
        self.ids_html.add_class("azimage-ids")
        return [self.ids_html, self.progress_view]


    @property
    def generate_button(self) -> Button:
        """The run button (Generate, or "Generate edit" while an image to edit is set)."""
        return self.run_button

    # -- fields ---------------------------------------------------------------
    @property
    def prompt_counter(self) -> str:
        """The prompt's counter as the browser shows it (``n / max``)."""
        return str(self.prompt_input.counter)

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
        follow = self.follow_input.value  # the last run's tiles stay, "earlier run", until replaced
        self._task = self._start(lambda: self.activity.generate(follow=follow))
        self._update_buttons()
        return self._task

    def _show_outputs(self, old: RunState | None, new: RunState) -> None:
        if old is None or old.ids != new.ids:
            self.ids = list(new.ids)
            shown = " ".join(f'<code style="user-select:all">{html.escape(i)}</code>' for i in new.ids)
            self.ids_html.value = f"<b>Operation ids</b>: {shown}" if new.ids else ""
        if old is None or old.results != new.results:
            self.results = list(new.results)
            self.previews.show_run(self.results, new.running)

    def _deletable(self) -> bool:
        return bool(self.activity.state.ids)

    async def run(self, data: Any = None, **options: Any) -> Any:
        """``await panel.run(data)``; "Download and preview" decides ``follow`` unless given."""
        options.setdefault("follow", self.follow_input.value)
        return await self.activity.run(data, **options)


__all__ = ["RequestImagePanel"]
