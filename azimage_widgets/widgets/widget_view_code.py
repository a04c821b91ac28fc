""""View code" on a panel: a button that shows the panel's configuration as Python and curl.

``attach_view_code(panel, buttons)`` (called by both panels) adds a "View
code" toggle button to the ``buttons`` box and a code box (two read-only
text areas, Python and curl, in Tabs) at the end of the panel. While open,
the code follows every configuration change. The text comes from
``activities.view_code`` and never holds the key.

CSS classes: ``azimage-view-code`` (the button), ``azimage-code`` (the box),
``azimage-code-python`` and ``azimage-code-curl`` (the text areas).
"""
from __future__ import annotations

from typing import Any

from ipywidgets import Box, Layout, Tab, Textarea, ToggleButton, VBox

from ..activities.view_code import CodeSnippet, view_code
from .widget_fields import error_html
from .widget_tree import show


class CodeView(VBox):
    """Python and curl of one activity's configuration, kept current while visible."""

    def __init__(self, activity: Any) -> None:
        self.activity = activity
        self.python = Textarea(layout=Layout(width="100%", height="260px"), disabled=False)
        self.python.add_class("azimage-code-python")
        self.curl = Textarea(layout=Layout(width="100%", height="220px"), disabled=False)
        self.curl.add_class("azimage-code-curl")
        self.tabs = Tab(children=[self.python, self.curl], titles=("Python", "curl"))
        super().__init__([self.tabs], layout=Layout(width="100%"))
        self.add_class("azimage-code")
        self.snippet: CodeSnippet | None = None
        names = [n for n in activity.all_config_names() if activity.has_trait(n)]
        activity.observe(self._changed, names=names)
        show(self, False)

    def _changed(self, _change: Any = None) -> None:
        if self.layout.display != "none":
            self.refresh()

    def refresh(self) -> CodeSnippet | None:
        """Render the activity's current configuration."""
        try:
            self.snippet = view_code(self.activity)
        except Exception as exc:  # noqa: BLE001 - shown, never raised into a callback
            self.python.value = f"# could not build the code: {exc}"
            self.curl.value = ""
            return None
        self.python.value = self.snippet.python
        self.curl.value = self.snippet.curl
        return self.snippet

    def reveal(self) -> None:
        self.refresh()
        show(self, True)

    def conceal(self) -> None:
        show(self, False)


def attach_view_code(panel: Any, buttons: Box) -> CodeView:
    """Add the View code button to ``buttons`` and the code box to the end of ``panel``."""
    view = CodeView(panel.activity)
    button = ToggleButton(description="View code", icon="code", value=False,
                          tooltip="The equivalent Python and curl (without the key)")
    button.add_class("azimage-view-code")

    def toggle(change: Any) -> None:
        try:
            view.reveal() if change["new"] else view.conceal()
        except Exception as exc:  # noqa: BLE001
            view.python.value = error_html(str(exc))

    button.observe(toggle, names="value")
    buttons.children = (*buttons.children, button)
    panel.children = (*panel.children, view)
    panel.view_code_button = button
    panel.code_view = view
    return view


__all__ = ["CodeView", "attach_view_code"]
