"""Request Image fields of today's models: Deployment, Model, custom size, moderation,
input fidelity and Live previews.

Each is shown only where it applies: Deployment for the versions that call a
deployment (v1 and the synchronous ones), the others on v1 (Live previews
wherever the model streams). The Model choice's first entry leaves the model
to the deployment's name and says which model that is. The Size dropdown
offers the model's presets plus the custom size in use; "Custom size" takes
any ``WxH`` a model with custom sizes (gpt-image-2) allows, checked by the
contract as it is typed (the error names the field and the rule).
"""
from __future__ import annotations

from typing import Any

from ipywidgets import Dropdown, IntSlider, Text, VBox

from ..activities.model_settings import model_choices, needs_deployment, uses_model_rules
from ..contract import version_spec
from ..contract.image_models import INPUT_FIDELITIES, MODERATIONS, PARTIAL_IMAGES_MAX, model_for_version
from .widget_fields import Field, FieldBinding
from .widget_style import INITIAL
from .widget_tree import show

#: The size dropdown's entry that stands for the custom size typed below it.
CUSTOM = "custom"
CUSTOM_LABEL = "custom (WxH below)"


def _text_or_none(value: Any) -> Any:
    return value or None


class ModelFields:
    """The model-following fields of a RequestImagePanel, in ``root`` (step 1).

    They are made the first time the version calls a deployment: a panel of the
    seeds' version carries none of their widgets.
    """

    def __init__(self, panel: Any, size: Dropdown) -> None:
        self.panel = panel
        self.activity = a = panel.activity
        self.size_input = size
        self._updating = False
        self.fields: list[Field] = []
        self.root = VBox([], **panel.look(VBox))
        size_binding = panel.bindings.get("size")
        if size_binding is not None:  # a custom size shows as "custom" in the size dropdown
            before = size_binding._to_widget
            size_binding._to_widget = lambda v: self._size_shown(before(v))
            size_binding._from_widget = self._size_taken
        a.observe(lambda _c: self.refresh(), names=["api_version", "model", "deployment"])
        self.refresh()

    def _build(self) -> None:
        panel, a, look = self.panel, self.activity, self.panel.look
        self.deployment_input = Text(description="Deployment", placeholder="e.g. my-gpt-image-2",
                                     continuous_update=False, **look(Text, style=INITIAL))
        self.model_input = Dropdown(options=self._model_options(), description="Model",
                                    **look(Dropdown, style=INITIAL))
        self.custom_size_input = Text(description="Custom size", placeholder="WIDTHxHEIGHT, "
                                      "e.g. 1536x864", continuous_update=True,
                                      **look(Text, style=INITIAL))
        self.moderation_input = Dropdown(options=self._choices("moderation", MODERATIONS),
                                         description="Moderation", **look(Dropdown, style=INITIAL))
        self.fidelity_input = Dropdown(options=self._choices("input_fidelity", INPUT_FIDELITIES),
                                       description="Input fidelity (edits)",
                                       **look(Dropdown, style=INITIAL))
        self.previews_input = IntSlider(min=0, max=PARTIAL_IMAGES_MAX, step=1,
                                        description="Live previews",
                                        tooltip="Partial images streamed while each image forms",
                                        **look(IntSlider, style=INITIAL))
        bind = panel._bind
        self.deployment_field = bind("deployment", panel._field(
            self.deployment_input, "azimage-deployment"), to_widget=lambda v: v or "",
            from_widget=_text_or_none)
        self.model_field = bind("model", panel._field(self.model_input, "azimage-model"),
                                to_widget=lambda v: v or "", from_widget=self._model_taken)
        self.custom_size_field = panel._field(self.custom_size_input, "azimage-custom-size")
        # a second view of ``size``: its own binding, its errors counted like any field's
        panel.fields["custom_size"] = self.custom_size_field
        panel.bindings["custom_size"] = FieldBinding(
            a, "size", self.custom_size_field, on_change=panel._field_changed,
            to_widget=self._custom_shown, from_widget=self._custom_size)
        self.moderation_field = bind("moderation", panel._field(
            self.moderation_input, "azimage-moderation"), to_widget=lambda v: v or "",
            from_widget=_text_or_none)
        self.fidelity_field = bind("input_fidelity", panel._field(
            self.fidelity_input, "azimage-input-fidelity"), to_widget=lambda v: v or "",
            from_widget=_text_or_none)
        self.previews_field = bind("partial_images", panel._field(
            self.previews_input, "azimage-live-previews"))
        self.fields = [self.deployment_field, self.model_field, self.custom_size_field,
                       self.moderation_field, self.fidelity_field, self.previews_field]
        self.root.children = tuple(self.fields)

    # -- choices -------------------------------------------------------------------
    def _choices(self, name: str, values: tuple[str, ...]) -> list[tuple[str, str]]:
        return [("default", "")] + [(v, v) for v in values]

    def _model_options(self) -> list[tuple[str, str]]:
        a = self.activity
        version = a.api_version if uses_model_rules(a.api_version) else "v1"
        found = model_for_version(version, None, a.deployment).name
        return [(f"from the deployment's name ({found})", "")] + model_choices(version)

    def _model_taken(self, value: Any) -> Any:
        return self.activity.model if self._updating else (value or None)

    def _model_list(self) -> None:
        """The Model choices (the first names the model the deployment's name gives)."""
        wanted = self._model_options()
        if list(self.model_input.options) != wanted:
            self._updating = True  # a new list selects its first entry: not a user's choice
            try:
                self.model_input.options = wanted
                self.model_input.value = self.activity.model or ""
            finally:
                self._updating = False

    def _size_options(self) -> None:
        """The rules' presets, plus "custom" for a model that takes any WxH (gpt-image-2)."""
        a = self.activity
        v1 = uses_model_rules(a.api_version)
        presets = list(a.image_model.sizes if v1 else version_spec(a.api_version).sizes)
        wanted: list[Any] = [(p, p) for p in presets]
        if v1 and a.image_model.custom_sizes is not None:
            wanted.append((CUSTOM_LABEL, CUSTOM))
        have = [o if isinstance(o, tuple) else (o, o) for o in self.size_input.options]
        if have != wanted:
            self._updating = True  # a changed list may move the selection: not a user's choice
            try:
                self.size_input.options = wanted
            finally:
                self._updating = False

    def _size_shown(self, value: Any) -> Any:
        self._size_options()
        values = [o[1] if isinstance(o, tuple) else o for o in self.size_input.options]
        return value if value in values or CUSTOM not in values else CUSTOM

    def _size_taken(self, value: Any) -> Any:
        """The size a dropdown choice means: "custom" (or a list update) keeps the size set."""
        return self.activity.size if self._updating or value == CUSTOM else value

    def _custom_shown(self, value: Any) -> str:
        return "" if value is None or value in self.activity.image_model.sizes else str(value)

    def _custom_size(self, text: Any) -> Any:
        text = str(text).strip().lower().replace(" ", "")
        if not text:  # cleared: back to the chosen preset
            presets = self.activity.image_model.sizes
            return self.activity.size if self.activity.size in presets else presets[0]
        return text

    # -- showing -------------------------------------------------------------------
    def refresh(self) -> None:
        a = self.activity
        version = a.api_version
        if not self.fields:
            if not needs_deployment(version):
                self._size_options()
                return
            self._build()
        v1 = uses_model_rules(version)
        model = a.image_model
        show(self.deployment_field, needs_deployment(version))
        show(self.model_field, v1)
        custom = v1 and model.custom_sizes is not None
        show(self.custom_size_field, custom)
        typed = self.panel.bindings["custom_size"]
        # a size typed for other rules: checked again by these, or dropped with the field
        # (a hidden field's error would hold Generate back with nothing to show why)
        if custom:
            typed.retry()
        elif typed.error:
            typed.reset()
        show(self.moderation_field, v1)
        show(self.fidelity_field, v1 and model.input_fidelity)
        show(self.previews_field, version_spec(version).is_sync and model.streams)
        self._model_list()
        shown = self._size_shown(a.size)
        if self.size_input.value != shown:
            self._updating = True
            try:
                self.size_input.value = shown
            finally:
                self._updating = False

    def visible(self) -> list[str]:
        """CSS names of the fields shown now."""
        names = ["deployment", "model", "custom-size", "moderation", "input-fidelity",
                 "live-previews"]
        return [n for n, f in zip(names, self.fields, strict=False) if f.layout.display != "none"]


__all__ = ["ModelFields"]
