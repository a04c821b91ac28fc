"""DownloadImagePanel: the Download Image activity as a notebook panel.

    dl = DownloadImagePanel(conn, name="get fox", image_id="[fox_id]", output="fox_images")
    task = dl.submit()       # what Download does; awaiting it gives a DownloadResult

Step 1: Name, ID (an operation id or a ``[variable]`` resolved when the
download starts), Optional settings (Supported versions, Bind result to),
Continue on error. Step 2: data schemas. Below: Download, Cancel, Delete,
status line, progress, URLs with their expiry time, and previews.

Observable (not synced) traits: ``image_id`` (kept equal to the activity's;
setting it, e.g. through ``traitlets.dlink`` from a RequestImagePanel's
``ids``, fills the ID field) and ``result``.
"""
from __future__ import annotations

import asyncio
import html
from typing import Any

from ipywidgets import HTML, Button, Text, Widget
from traitlets import Any as AnyTrait
from traitlets import Unicode

from ..activities.download_image import DownloadImage, DownloadResult
from ..activities.run_state import RunState
from ..contract.errors import ValidationError
from .widget_html import link_html
from .widget_panel import FIELD_WIDTH, ActivityPanel


def urls_html(res: DownloadResult | None) -> str:
    if res is None:
        return ""
    expires = res.expires.strftime("%Y-%m-%d %H:%M:%S UTC") if res.expires else "unknown"
    items = []
    for slot in res.slots:
        if slot.url:
            items.append(f"<li>{link_html(slot.url, f'image {slot.index + 1}')}</li>")
        else:
            items.append(f"<li>image {slot.index + 1}: {html.escape(slot.error_code or '')}: "
                         f"{html.escape(slot.error_message or '')}</li>")
    return (f"<b>URLs</b> of <code>{html.escape(res.id)}</code> (expire {html.escape(expires)}):"
            f"<ul style=\"margin:2px 0\">{''.join(items)}</ul>")


class DownloadImagePanel(ActivityPanel):
    """Download Image: configure, Download, watch progress, see URLs and previews."""

    activity_class = DownloadImage
    css_class = "azimage-download-image"
    run_button_spec = ("Download", "download", "Wait for the operation and fetch its images",
                       "azimage-download")
    delete_tooltip = "Delete the finished operation and its images at the service"

    image_id = Unicode("", help="The ID field: an operation id or a [variable] (observable).")
    result = AnyTrait(None, allow_none=True, help="DownloadResult of the last run (observable).")

    activity: DownloadImage

    def __init__(self, conn: Any = None, name: str | None = None, image_id: str = "",
                 output: str | None = None, *, namespace: Any = None, **config: Any) -> None:
        super().__init__(DownloadImage(conn, name=name, image_id=image_id, output=output,
                                       namespace=namespace, replace=True, **config))

    # -- the parts of this kind -----------------------------------------------------
    def _settings(self) -> list[Widget]:
        look = self.look
        name_field = self._name_field()
        self.id_input = Text(description="ID", placeholder="operation id, or [variable] e.g. [fox_id]",
                             **look(Text, width=FIELD_WIDTH))
        id_field = self._bind("image_id", self._field(self.id_input, "azimage-image-id"))
        optional = self._optional([self._version_field(), self._output_field()])
        return [name_field, id_field, optional, self._continue_field()]

    def _results(self) -> list[Widget]:
        self.urls_html = HTML(**self.look(HTML))
        self.urls_html.add_class("azimage-urls")
        return [self.progress_view, self.urls_html]

    def _watch(self) -> None:
        a = self.activity
        # image_id both ways: the panel's trait (e.g. a dlink target) fills the ID field
        self.image_id = a.image_id
        a.observe(self._on_activity_id, names="image_id")
        self.observe(self._on_panel_id, names="image_id")

    @property
    def download_button(self) -> Button:
        """The run button (Download)."""
        return self.run_button

    def _on_panel_id(self, change: Any) -> None:
        if self.id_input.value != change["new"]:
            self.id_input.value = change["new"]  # goes through the field's validation

    def _on_activity_id(self, change: Any) -> None:
        self.image_id = change["new"]

    def summary(self) -> str:
        a = self.activity
        return f"{a.label}: {a.name} \u00b7 ID {a.image_id or '(none)'} \u00b7 click to edit"

    # -- running ---------------------------------------------------------------
    def submit(self) -> asyncio.Task[Any]:
        """Download: wait for the operation and fetch its images, as a task on the running loop."""
        if self._task is not None and not self._task.done():
            return self._task
        if self.field_errors().get("image_id"):
            err = ValidationError("image_id", self.field_errors()["image_id"])
            self._show_field_error(err)
            raise err
        self.urls_html.value = ""  # the last run's tiles stay, "earlier run", until replaced
        self._task = self._start(self.activity.download)
        self._update_buttons()
        return self._task

    def _show_outputs(self, old: RunState | None, new: RunState) -> None:
        if old is not None and old.results == new.results:
            return
        res = self.activity.result  # the last DownloadResult of new.results
        self.result = res
        self.urls_html.value = urls_html(res)
        self.previews.show_run([res] if res is not None else [], new.running)

    def _deletable(self) -> bool:
        return self.activity.result is not None


__all__ = ["DownloadImagePanel", "urls_html"]
