"""Request Image fields that follow the selected api-version.

The Size dropdown offers the version's sizes, the Number of images slider
stops at its ``n_max``, the prompt counter and cap use its ``prompt_max``,
and one dropdown per version option (Quality, Style, Response format,
Output format, Background; a slider for Output compression) is shown only
when the version has that option. An option's first entry, "default (...)",
leaves the field out so the service applies its default.

The choices are refreshed before a binding pushes a value to its widget
(``VersionFields.through``), so a value of the new version never meets the
old version's options.
"""
from __future__ import annotations

from typing import Any

from ipywidgets import Dropdown, IntSlider

from ..contract.limits import OPTION_NAMES, version_spec
from .widget_fields import Field
from .widget_prompt_area import PromptArea
from .widget_style import INITIAL, Look
from .widget_tree import show

_LABELS = {"quality": "Quality", "style": "Style", "response_format": "Response format",
           "output_format": "Output format", "background": "Background",
           "output_compression": "Output compression"}


class VersionFields:
    """The version-following parts of a RequestImagePanel.

    ``panel`` makes and binds the option fields (``_bind``); ``size``, ``n`` and
    ``prompt`` are its inputs whose choices and caps follow the version.
    """

    def __init__(self, panel: Any, size: Dropdown, n: IntSlider, prompt: PromptArea) -> None:
        self.panel = panel
        self.activity = panel.activity
        self.size_input, self.n_input, self.prompt_input = size, n, prompt
        self._version: str | None = None
        self.inputs: dict[str, Any] = {}
        self.fields: list[Field] = []
        look: Look = panel.look
        for name in OPTION_NAMES:
            if name == "output_compression":
                widget: Any = IntSlider(min=0, max=100, value=100, description=_LABELS[name],
                                        **look(IntSlider, style=INITIAL))
                to_w = lambda v: self.through(100 if v is None else v)  # noqa: E731
                from_w = lambda v: None if v == 100 else v  # noqa: E731 - 100 is the default
            else:
                widget = Dropdown(options=[("default", "")], value="", description=_LABELS[name],
                                  **look(Dropdown, style=INITIAL))
                to_w = lambda v: self.through(v or "")  # noqa: E731
                from_w = lambda v: v or None  # noqa: E731
            self.inputs[name] = widget
            self.refresh()  # options first, so the binding's first value fits
            field = panel._bind(name, Field(widget, f"azimage-{name.replace('_', '-')}", look=look),
                                to_widget=to_w, from_widget=from_w)
            self.fields.append(field)
        # size and n may change with the version (the activity resets them): the choices must
        # be the new version's before those bindings push the value to their widgets
        for name in ("size", "n"):
            binding = panel.bindings.get(name)
            if binding is not None:
                binding._to_widget = self.through
        self.activity.observe(lambda _c: self.refresh(), names="api_version")
        self.activity.observe(lambda _c: self._show_compression(), names="output_format")
        self._version = None
        self.refresh()

    def through(self, value: Any) -> Any:
        """A binding's to_widget hook: bring the choices up to date, pass the value on."""
        self.refresh()
        return value

    def refresh(self) -> None:
        """Set sizes, n max, prompt cap and the option fields for the activity's version."""
        version = self.activity.api_version
        if version == self._version:
            return
        self._version = version
        spec = version_spec(version)
        a = self.activity
        # the activity holds only sizes its rules allow: a custom one (v1, gpt-image-2) is kept
        keep = a.size  # a new list selects its first entry (and the binding passes it on)
        sizes = list(spec.sizes) + ([keep] if keep not in spec.sizes else [])
        self.size_input.options = sizes
        self.size_input.value = keep
        self.n_input.max = spec.n_max
        self.n_input.disabled = spec.n_max == 1
        self.prompt_input.max_chars = spec.prompt_max
        for name, widget in self.inputs.items():
            opt = spec.option(name)
            show(widget, opt is not None)
            if opt is None or opt.is_int:
                continue
            current = getattr(a, name) or ""
            options = [(f"default ({opt.default})", "")] + [(c, c) for c in opt.choices]
            widget.options = options
            widget.value = current if current in opt.choices else ""
        self._show_compression()

    def _show_compression(self) -> None:
        """Output compression only where it applies: a version that has it, with jpeg output."""
        widget = self.inputs.get("output_compression")
        if widget is not None:
            has = version_spec(self.activity.api_version).option("output_compression") is not None
            show(widget, has and self.activity.output_format == "jpeg")

    def visible(self) -> list[str]:
        """Names of the option fields shown for the current version."""
        return [n for n, w in self.inputs.items() if w.layout.display != "none"]


__all__ = ["VersionFields"]
