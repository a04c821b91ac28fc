""""View code" on a panel: a button that shows the panel's configuration as Python and curl.

Both panels put a ``view_code_button`` in their button row and its
``CodeView`` (two read-only text areas, Python and curl, in Tabs) at their end. The box's
Tabs and text areas are built on the first open (a panel nobody asks for
code costs no widget state for them). While open, the code follows every
configuration change. The text comes from ``activities.view_code`` and
never holds the key.

CSS classes: ``azimage-view-code`` (the button), ``azimage-code`` (the box),
``azimage-code-python`` and ``azimage-code-curl`` (the text areas).
"""
from __future__ import annotations

from typing import Any

from ipywidgets import Tab, Textarea, ToggleButton, VBox

from ..activities.view_code import CodeSnippet, view_code
from .widget_style import Look
from .widget_tree import show


class CodeView(VBox):
    """Python and curl of one activity's configuration, kept current while visible."""

    def __init__(self, activity: Any, look: Look | None = None) -> None:
        owns = look is None
        self.look = look = look or Look()
        self.activity = activity
        self.python: Textarea | None = None  # built on the first open (_build)
        self.curl: Textarea | None = None
        self.tabs: Tab | None = None
        super().__init__([], **look(VBox, width="100%"))
        self.add_class("azimage-code")
        if owns:
            look.own(self)
        self.snippet: CodeSnippet | None = None
        names = [n for n in activity.all_config_names() if activity.has_trait(n)]
        activity.observe(self._changed, names=names)
        show(self, False)

    def _build(self) -> None:
        if self.tabs is not None:
            return
        look = self.look
        self.python = Textarea(disabled=False, **look(Textarea, width="100%", height="260px"))
        self.python.add_class("azimage-code-python")
        self.curl = Textarea(disabled=False, **look(Textarea, width="100%", height="220px"))
        self.curl.add_class("azimage-code-curl")
        self.tabs = Tab(children=[self.python, self.curl], titles=("Python", "curl"), **look(Tab))
        self.children = (self.tabs,)

    def _changed(self, _change: Any = None) -> None:
        if self.layout.display != "none":
            self.refresh()

    def refresh(self) -> CodeSnippet | None:
        """Render the activity's current configuration."""
        self._build()
        assert self.python is not None and self.curl is not None
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


def view_code_button(view: CodeView, look: Look | None = None) -> ToggleButton:
    """The "View code" toggle that shows and hides ``view``."""
    button = ToggleButton(description="View code", icon="code", value=False,
                          tooltip="The equivalent Python and curl (without the key)",
                          **(look or view.look)(ToggleButton, margin="2px 0 2px auto"))  # right edge
    button.add_class("azimage-view-code")

    def toggle(change: Any) -> None:
        if change["new"]:
            view.reveal()
        else:
            view.conceal()

    button.observe(toggle, names="value")
    return button


__all__ = ["CodeView", "view_code_button"]
