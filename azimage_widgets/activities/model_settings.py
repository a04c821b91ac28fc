"""Request Image settings that follow the image model rather than the api-version.

On v1 (and the deployments path of 2025-04-01-preview: ``uses_model_rules``) one
route serves several models (gpt-image-1-mini, 1.5, 2, ...), so what
a request may carry depends on the deployment's model: its sizes (gpt-image-2
takes any ``WxH`` within its rules), n up to 10, moderation, input_fidelity for
edits (not gpt-image-1-mini) and live previews (``partial_images``). The checks
are the contract's (``model_rules``): one field at a time as it is set, the
whole request before it is sent.

The older versions keep their own rules (``VersionSpec``); there the model
fields below are not settings (moderation, input_fidelity) or fixed to the one
model the version serves.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..contract import ValidationError, version_spec
from ..contract.image_models import (
    MODELS,
    PARTIAL_IMAGES_MAX,
    ImageModel,
    model_for_version,
    retirement_label,
    uses_model_rules,
)
from ..contract.model_rules import validate_generation, validate_image_edit
from ..contract.models import check_n, check_option
from ..contract.models import check_size as check_version_size

#: Settings only model-checked requests (v1) carry, beside ``limits.OPTION_NAMES``.
MODEL_OPTION_NAMES: tuple[str, ...] = ("moderation", "input_fidelity")
#: A prompt that passes the prompt rules, so one other field can be checked alone.
_STAND_IN_PROMPT = "x"
_STAND_IN_IMAGE = b"\x89PNG\r\n\x1a\n\0"


def needs_deployment(api_version: str) -> bool:
    """Whether ``api_version`` calls a deployment (v1 and the synchronous versions)."""
    return version_spec(api_version).is_sync


def rules_of(activity: Any) -> ImageModel:
    """The model whose rules the activity's request follows."""
    return model_for_version(activity.api_version, activity.model or None,
                             activity.deployment or None)


def model_choices(api_version: str) -> list[tuple[str, str]]:
    """(label, value) pairs of the Model choice: the GPT image models the version serves, newest
    first, each retired one labelled with its date; () for a version that serves one model."""
    if not uses_model_rules(api_version):
        return []
    out = []
    for model in MODELS.values():
        if not model.is_gpt_image:
            continue
        note = retirement_label(model.name)
        shown = f"{model.name} ({note})" if note.startswith("retired") else model.name
        out.append((shown, model.name))
    return out


def version_choices(versions: tuple[str, ...]) -> list[tuple[str, str]]:
    """(label, value) pairs of the version list: v1 first, the retired ones labelled
    ("2023-06-01-preview (retired 2025-01-27)")."""
    ordered = sorted(versions, key=lambda v: (not version_spec(v).is_v1, versions.index(v)))
    out = []
    for v in ordered:
        note = retirement_label(v)
        out.append((f"{v} ({note})" if note else v, v))
    return out


def check_setting(activity: Any, name: str, value: Any) -> None:
    """ValidationError naming ``name`` when ``value`` is not allowed for the activity's
    version and model (None: left out, always allowed)."""
    if value is None:
        return
    version = activity.api_version
    spec = version_spec(version)
    if name == "partial_images":
        if isinstance(value, bool) or not isinstance(value, int) \
                or not 0 <= value <= PARTIAL_IMAGES_MAX:
            raise ValidationError(name, f"must be a whole number from 0 to {PARTIAL_IMAGES_MAX}",
                                  value)
        model = rules_of(activity)
        if value and not (spec.is_sync and model.streams):
            raise ValidationError(name, f"{model.name} on api-version {version} does not stream "
                                        "(live previews need a GPT image model)", value)
        return
    if not uses_model_rules(version):
        if name in MODEL_OPTION_NAMES:
            raise ValidationError(name, f"is not a setting of api-version {version}; use v1",
                                  value)
        if name == "size":
            check_version_size(spec, value)
        elif name == "n":
            check_n(spec, value)
        else:
            check_option(spec, name, value)
        return
    model = rules_of(activity)
    if name == "input_fidelity":
        validate_image_edit(model, {"prompt": _STAND_IN_PROMPT, name: value}, [_STAND_IN_IMAGE])
    else:
        validate_generation(model, {"prompt": _STAND_IN_PROMPT, name: value})


def allowed(activity: Any, name: str, value: Any) -> bool:
    """Whether ``value`` of setting ``name`` is still allowed (after a version or model change)."""
    try:
        check_setting(activity, name, value)
    except ValidationError:
        return False
    return True


def check_generation(activity: Any, fields: Mapping[str, Any]) -> None:
    """The whole model-checked generation (cross-field rules too: transparent needs png)."""
    validate_generation(rules_of(activity), fields)


def check_edit(activity: Any, fields: Mapping[str, Any], images: tuple[bytes, ...],
               mask: bytes | None) -> None:
    """The whole model-checked edit: images, mask and fields."""
    validate_image_edit(rules_of(activity), fields, list(images), mask)


__all__ = ["MODEL_OPTION_NAMES", "allowed", "check_edit", "check_generation", "check_setting",
           "model_choices", "needs_deployment", "rules_of", "uses_model_rules",
           "version_choices"]
