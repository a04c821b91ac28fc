"""Step-1 fields: an input with an inline error line, bound to an activity trait.

``Field`` is the input with its error line (the prompt's cap lives in
``widget_prompt_area.PromptArea``). ``FieldBinding`` ties one input widget to
one activity trait both ways: an edit is assigned to the activity, whose
validator may refuse it with a ValidationError; the message then shows next
to the field and the activity keeps its last valid value.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ipywidgets import HTML, HBox, VBox, Widget

from ..contract.errors import ValidationError
from .widget_html import error_html
from .widget_style import Look


class Field(VBox):
    """An input with an inline error line under it (and an optional widget beside it).

    ``look`` (widget_style): the panel's shared layouts and styles; the Field's
    box, error line and row use them.
    """

    def __init__(self, input_widget: Widget, css: str, beside: Widget | None = None,
                 look: Look | None = None, **kwargs: Any) -> None:
        owns = look is None
        look = look or Look()
        self.input = input_widget
        input_widget.add_class(css)
        self.error = HTML("", **look(HTML, margin="0 0 0 8px"))
        self.error.add_class("azimage-field-error")
        self.error.add_class(f"{css}-error")
        row = HBox([input_widget, beside], **look(HBox)) if beside is not None else input_widget
        if "layout" not in kwargs:
            kwargs["layout"] = look.layout()
        super().__init__([row, self.error], **kwargs)
        if owns:
            look.own(self)

    def set_error(self, message: str) -> None:
        self.error.value = error_html(message)

    @property
    def error_message(self) -> str:
        return str(self.error.value)


class FieldBinding:
    """Two-way tie between ``widget.value`` and ``activity.<trait>``, errors shown in ``field``."""

    def __init__(self, activity: Any, trait: str, field: Field,
                 on_change: Callable[[], None] | None = None,
                 to_widget: Callable[[Any], Any] = lambda v: v,
                 from_widget: Callable[[Any], Any] = lambda v: v) -> None:
        self.activity = activity
        self.trait = trait
        self.field = field
        self.widget = field.input
        self.error = ""
        self._on_change = on_change
        self._to_widget = to_widget
        self._from_widget = from_widget
        self.widget.value = to_widget(getattr(activity, trait))
        self.widget.observe(self._widget_changed, names="value")
        activity.observe(self._activity_changed, names=trait)

    def _widget_changed(self, change: Any) -> None:
        value = self._from_widget(change["new"])
        try:
            setattr(self.activity, self.trait, value)
        except ValidationError as exc:
            self.error = exc.limit if exc.field == self.trait else str(exc)
            shown = f"{exc.field}: {exc.limit}"
            self.field.set_error(shown)
        else:
            self.error = ""
            self.field.set_error("")
        if self._on_change:
            self._on_change()

    def _activity_changed(self, change: Any) -> None:
        shown = self._to_widget(change["new"])
        if self.widget.value != shown:
            self.widget.value = shown
        self.error = ""
        self.field.set_error("")
        if self._on_change:
            self._on_change()

    def retry(self) -> None:
        """Offer a refused edit again: the rules that refused it may have changed."""
        if self.error:
            self._widget_changed({"new": self.widget.value})

    def reset(self) -> None:
        """Show the activity's value again and drop the error of a refused edit."""
        self.error = ""
        self.field.set_error("")
        self.widget.value = self._to_widget(getattr(self.activity, self.trait))

    def unbind(self) -> None:
        self.widget.unobserve(self._widget_changed, names="value")
        self.activity.unobserve(self._activity_changed, names=self.trait)


__all__ = ["Field", "FieldBinding"]
