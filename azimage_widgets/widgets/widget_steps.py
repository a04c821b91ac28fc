"""The two-step configuration frame of the seeds.

Step 1 (settings) and step 2 (data schemas), with the buttons the seeds
name: Next, Back, Save & Exit, Finished and Discard Changes (which asks to
confirm first). Saving collapses the frame to a one-line summary button;
clicking the summary opens step 1 again.

The frame holds no rules: ``on_save`` (returns True when saved) and
``on_discard`` are the activity's; ``can_save`` and ``is_dirty`` say
whether Save & Exit / Finished and Discard Changes are enabled.
"""
from __future__ import annotations

import html
from collections.abc import Callable

from ipywidgets import HTML, Box, Button, HBox, Layout, VBox, Widget
from traitlets import Bool, Int

from .widget_html import error_html
from .widget_style import Look
from .widget_tree import show

STEP_TITLES = {1: "Step 1: Enter a name and specify settings", 2: "Step 2: Review the data schemas"}


class StepFrame(VBox):
    """Two steps, navigation buttons, a discard confirm row and a collapsed summary."""

    step = Int(1, help="The step shown, 1 or 2 (not synced).")
    collapsed = Bool(False, help="True: only the one-line summary shows (not synced).")
    confirming = Bool(False, help="True while the discard confirm row shows (not synced).")

    def __init__(self, label: str, step1: Widget, step2: Widget, *,
                 on_save: Callable[[], bool], on_discard: Callable[[], None],
                 summary: Callable[[], str], can_save: Callable[[], bool],
                 is_dirty: Callable[[], bool], look: Look | None = None) -> None:
        owns = look is None
        self.look = look = look or Look()
        self.label = label
        self._on_save = on_save
        self._on_discard = on_discard
        self._summary = summary
        self._can_save = can_save
        self._is_dirty = is_dirty

        self.summary_button = Button(description="", tooltip="Click to edit the configuration",
                                     **look(Button, width="auto", max_width="100%"))
        self.summary_button.add_class("azimage-summary")
        self.summary_button.on_click(lambda _b: self.reopen())

        self.header = HTML(**look(HTML))
        self.step1, self.step2 = step1, step2
        step1.add_class("azimage-step1")
        step2.add_class("azimage-step2")

        def button(text: str, css: str, handler: Callable[[], object], style: str = "",
                   tooltip: str = "") -> Button:
            b = Button(description=text, button_style=style, tooltip=tooltip or text, **look(Button))
            b.add_class(css)
            b.on_click(lambda _b: handler())
            return b

        self._button = button

        self.back_button = button("Back", "azimage-back", self.back,
                                  tooltip="Keep this step's changes and return to step 1")
        self.next_button = button("Next", "azimage-next", self.next,
                                  tooltip="Keep this step's changes (not saved yet) and go to step 2")
        self.save_exit_button = button("Save & Exit", "azimage-save-exit", self.save_and_exit,
                                       "primary", "Save the configuration and close it")
        self.finished_button = button("Finished", "azimage-finished", self.save_and_exit,
                                      "primary", "Save the configuration of all steps and close it")
        self.discard_button = button("Discard Changes", "azimage-discard", self.ask_discard,
                                     tooltip="Close without saving the changes to any step")
        self.nav = HBox([self.back_button, self.next_button, self.save_exit_button,
                         self.finished_button, self.discard_button], **look(HBox))

        # the confirm row (text, Discard, Keep editing) is built on the first Discard Changes
        self.confirm_text: HTML | None = None
        self.confirm_yes: Button | None = None
        self.confirm_no: Button | None = None
        self.confirm_row: HBox | None = None

        self.message = HTML(**look(HTML))
        self.body = VBox([self.header, step1, step2, self.nav, self.message],
                         **look(VBox, border="1px solid #ccc", padding="6px"))
        self.body.add_class("azimage-config")
        super().__init__([self.summary_button, self.body], **look(VBox))
        if owns:
            look.own(self)
        self.observe(lambda _c: self.refresh(), names=["step", "collapsed", "confirming"])
        self.refresh()

    # -- actions ------------------------------------------------------------
    def next(self) -> None:
        self.step = 2

    def back(self) -> None:
        self.step = 1

    def save_and_exit(self) -> bool:
        """Save & Exit / Finished: save, then collapse; False (and stay open) when saving failed."""
        self.message.value = ""
        if not self._can_save():
            self.message.value = error_html("Fix the fields marked in red before saving.")
            return False
        try:
            ok = self._on_save()
        except Exception as exc:  # noqa: BLE001 - shown, not swallowed
            self.message.value = error_html(str(exc))
            return False
        if ok:
            self.confirming = False
            self.collapsed = True
        return bool(ok)

    def ask_discard(self) -> None:
        self.confirming = True

    def _confirm_row(self) -> HBox:
        """The discard confirm row, built (after the navigation buttons) when first needed."""
        if self.confirm_row is None:
            look, button = self.look, self._button
            self.confirm_text = HTML("Discard the changes made since the last save?", **look(HTML))
            self.confirm_yes = button("Discard", "azimage-discard-yes", self.confirm_discard, "danger")
            self.confirm_no = button("Keep editing", "azimage-discard-no", self.cancel_discard)
            self.confirm_row = HBox([self.confirm_text, self.confirm_yes, self.confirm_no],
                                    **look(HBox))
            self.confirm_row.add_class("azimage-confirm")
            children = list(self.body.children)
            children.insert(children.index(self.nav) + 1, self.confirm_row)
            self.body.children = tuple(children)
        return self.confirm_row

    def confirm_discard(self) -> None:
        self.message.value = ""
        try:
            self._on_discard()
        except Exception as exc:  # noqa: BLE001
            self.message.value = error_html(f"Could not restore the saved configuration: {exc}")
            self.confirming = False
            return
        self.confirming = False
        self.step = 1
        self.collapsed = True

    def cancel_discard(self) -> None:
        self.confirming = False

    def reopen(self) -> None:
        self.step = 1
        self.collapsed = False

    # -- view ---------------------------------------------------------------
    def refresh(self) -> None:
        """Re-derive visibility, enabled buttons and texts from the state."""
        show(self.summary_button, self.collapsed)
        show(self.body, not self.collapsed)
        one = self.step == 1
        show(self.step1, one)
        show(self.step2, not one)
        show(self.back_button, not one)
        show(self.next_button, one)
        show(self.save_exit_button, one)
        show(self.finished_button, not one)
        if self.confirming or self.confirm_row is not None:
            show(self._confirm_row(), self.confirming)
        can_save = self._can_save()
        self.save_exit_button.disabled = not can_save
        self.finished_button.disabled = not can_save
        self.discard_button.disabled = not self._is_dirty() and not self.confirming
        self.header.value = (f"<b>{html.escape(self.label)}</b> &middot; "
                             f"{STEP_TITLES[self.step]}")
        self.summary_button.description = "\u25b8 " + self._summary()


def spacer() -> Box:
    return Box(layout=Layout(width="8px"))


__all__ = ["STEP_TITLES", "StepFrame"]
