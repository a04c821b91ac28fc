"""The checks of a request against its model (``image_models``): one function per kind.

``validate_generation(model, fields)`` and ``validate_image_edit(model, fields,
images, mask)`` take the request's fields as the wire carries them (a JSON
body, or multipart text read by ``form_values``) and raise ValidationError
naming the field and the rule broken, first field first. A field left out or
``None`` is not checked (the service applies its default); fields the
contract does not know (``model``, ``safety_identifier``, ...) are ignored,
as the service does. The client checks before sending, the emulator answers
the same rules with a 400.

Choices where Azure's documents are silent: ``output_compression`` is
accepted with png (it only matters for jpeg); ``partial_images`` without
``stream`` is accepted and has no effect; ``response_format`` ``b64_json`` is
accepted for GPT image models (they always answer so), ``url`` is not.
"""
from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from .edits import IMAGES_MAX, MASK_MAX_BYTES, image_kind
from .errors import ValidationError
from .image_models import (
    GPT_IMAGE_COMMON,
    INPUT_FIDELITIES,
    OUTPUT_COMPRESSION_MAX,
    PARTIAL_IMAGES_MAX,
    CustomSizeRule,
    ImageModel,
)
from .limits import version_spec
from .text import check_text, is_blank

#: Each input image of a GPT image model's edit (CONTRACT.md section 4: under 50 MB).
EDIT_IMAGE_MAX_BYTES = 50 * 1024 * 1024
#: Multipart fields read as whole numbers, and as booleans.
INT_FIELDS: tuple[str, ...] = ("n", "output_compression", "partial_images")
BOOL_FIELDS: tuple[str, ...] = ("stream",)

_SIZE = re.compile(r"([1-9][0-9]{0,5})x([1-9][0-9]{0,5})")


def parse_size(size: str) -> tuple[int, int] | None:
    """``"1536x864"`` -> (1536, 864); None for text that is not ``WxH``."""
    m = _SIZE.fullmatch(size) if isinstance(size, str) else None
    return (int(m.group(1)), int(m.group(2))) if m else None


def check_size(model: ImageModel, size: Any) -> None:
    """ValidationError("size") unless ``size`` is a preset of ``model`` or a custom size it takes."""
    if size is None or (isinstance(size, str) and size in model.sizes):
        return
    rule = model.custom_sizes
    if rule is None:
        raise ValidationError("size", f"must be one of {', '.join(model.sizes)} for {model.name}",
                              size)
    wh = parse_size(size)
    if wh is None:
        raise ValidationError("size", f"must be one of {', '.join(model.sizes)} or WIDTHxHEIGHT "
                                      f"in pixels (like 1536x864) for {model.name}", size)
    check_custom_size(rule, *wh, value=size)


def check_custom_size(rule: CustomSizeRule, width: int, height: int, value: Any = None) -> None:
    """The rules of a ``WxH`` size, each with its own message."""
    if width % rule.multiple or height % rule.multiple:
        raise ValidationError("size", f"edges must be multiples of {rule.multiple}", value)
    if max(width, height) > rule.max_edge:
        raise ValidationError("size", f"the long edge must be at most {rule.max_edge} pixels",
                              value)
    if max(width, height) > rule.max_ratio * min(width, height):
        raise ValidationError("size", "the aspect ratio must be between 1:3 and 3:1", value)
    pixels = width * height
    if not rule.min_pixels <= pixels <= rule.max_pixels:
        raise ValidationError("size", f"must have from {rule.min_pixels:,} to "
                                      f"{rule.max_pixels:,} pixels (got {pixels:,})", value)


def _int(name: str, value: Any, low: int, high: int, rule: str = "") -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValidationError(name, rule or f"must be a whole number from {low} to {high}", value)


def _choice(model: ImageModel, name: str, value: Any, choices: tuple[str, ...],
            missing: str = "") -> None:
    if not choices:
        raise ValidationError(name, missing or f"is not a setting of {model.name}", value)
    if not isinstance(value, str) or value not in choices:
        raise ValidationError(name, f"must be one of {', '.join(choices)} for {model.name}", value)


def _check_common(model: ImageModel, fields: Mapping[str, Any]) -> None:
    """prompt, n, size and every setting generations and edits share."""
    prompt = fields.get("prompt")
    if prompt is None:
        raise ValidationError("prompt", "is required")
    if not isinstance(prompt, str):
        raise ValidationError("prompt", "must be a string", type(prompt).__name__)
    if is_blank(prompt):
        raise ValidationError("prompt", "must not be empty or blank")
    check_text("prompt", prompt)
    if len(prompt) > model.prompt_max:
        raise ValidationError("prompt", f"at most {model.prompt_max} characters for "
                                        f"{model.name}, got {len(prompt)}")
    get = fields.get
    if get("n") is not None:
        one = f"must be 1 ({model.name} makes one image per request)" if model.n_max == 1 else ""
        _int("n", get("n"), 1, model.n_max, one)
    check_size(model, get("size"))
    if get("quality") is not None:
        _choice(model, "quality", get("quality"), model.qualities)
    fmt_asked = get("response_format")
    if fmt_asked is not None:
        if model.is_gpt_image and fmt_asked != "b64_json":
            raise ValidationError("response_format", "GPT image models always answer b64_json",
                                  fmt_asked)
        _choice(model, "response_format", fmt_asked, model.response_formats)
    if get("style") is not None:
        _choice(model, "style", get("style"), model.styles, "is a dall-e-3 setting; "
                f"{model.name} does not take it")
    fmt = get("output_format")
    if fmt is not None:
        if fmt == "webp" and model.output_formats:
            raise ValidationError("output_format", "webp is not supported on Azure OpenAI; "
                                                   "use png or jpeg", fmt)
        _choice(model, "output_format", fmt, model.output_formats)
    if get("output_compression") is not None:
        if not model.output_formats:
            raise ValidationError("output_compression", f"is not a setting of {model.name}")
        _int("output_compression", get("output_compression"), 0, OUTPUT_COMPRESSION_MAX)
    background = get("background")
    if background is not None:
        _choice(model, "background", background, model.backgrounds)
        if background == "transparent" and fmt not in (None, "png"):
            raise ValidationError("background", "transparent needs output_format png", fmt)
    if get("moderation") is not None:
        _choice(model, "moderation", get("moderation"), model.moderations)
    stream = get("stream")
    if stream is not None:
        if not isinstance(stream, bool):
            raise ValidationError("stream", "must be true or false", stream)
        if stream and not model.streams:
            raise ValidationError("stream", f"{model.name} does not stream")
    if get("partial_images") is not None:
        if not model.streams:
            raise ValidationError("partial_images", f"{model.name} does not stream")
        _int("partial_images", get("partial_images"), 0, PARTIAL_IMAGES_MAX)
    user = get("user")
    if user is not None:
        if not isinstance(user, str):
            raise ValidationError("user", "must be a string", type(user).__name__)
        check_text("user", user)


def validate_generation(model: ImageModel, fields: Mapping[str, Any]) -> None:
    """Raise ValidationError naming the first field of a generation that ``model`` refuses."""
    _check_common(model, fields)
    if fields.get("input_fidelity") is not None:
        raise ValidationError("input_fidelity", "only image edits take it",
                              fields.get("input_fidelity"))


def validate_image_edit(model: ImageModel, fields: Mapping[str, Any], images: Sequence[bytes],
                        mask: bytes | None = None) -> None:
    """Raise ValidationError naming the first field (or image) of an edit ``model`` refuses.

    ``images``: the input files (the mask applies to the first); each a PNG or JPEG.
    """
    if not model.edits:
        raise ValidationError("model", f"{model.name} has no image edits", model.name)
    if not images:
        raise ValidationError("image", "at least one image is required")
    if len(images) > IMAGES_MAX:
        raise ValidationError("image", f"at most {IMAGES_MAX} images", len(images))
    for i, data in enumerate(images):
        where = "image" if len(images) == 1 else f"image[{i}]"
        if not isinstance(data, bytes) or not data:
            raise ValidationError(where, "must be the non-empty bytes of a PNG or JPEG file")
        if len(data) > EDIT_IMAGE_MAX_BYTES:
            raise ValidationError(where, f"under {EDIT_IMAGE_MAX_BYTES // (1024 * 1024)} MB, got "
                                         f"{len(data)} bytes")
        if image_kind(data) is None:
            raise ValidationError(where, "must be a PNG or JPEG file")
    if mask is not None:
        if not isinstance(mask, bytes) or not mask:
            raise ValidationError("mask", "must be the non-empty bytes of a PNG file")
        if len(mask) > MASK_MAX_BYTES:
            raise ValidationError("mask", f"at most {MASK_MAX_BYTES // (1024 * 1024)} MB, got "
                                          f"{len(mask)} bytes")
        if image_kind(mask) != "png":
            raise ValidationError("mask", "must be a PNG file (its transparent pixels mark where "
                                          "to edit the first image)")
    _check_common(model, fields)
    fidelity = fields.get("input_fidelity")
    if fidelity is not None:
        if not model.input_fidelity:
            rule = ("not every GPT image model takes it (gpt-image-1-mini does not): name the "
                    "model to use it") if model is GPT_IMAGE_COMMON else \
                f"{model.name} does not take it"
            raise ValidationError("input_fidelity", rule, fidelity)
        if not isinstance(fidelity, str) or fidelity not in INPUT_FIDELITIES:
            raise ValidationError("input_fidelity", f"must be one of {', '.join(INPUT_FIDELITIES)}",
                                  fidelity)


def form_values(form: Mapping[str, str]) -> dict[str, Any]:
    """Multipart text fields as the typed values the validators check.

    Whole-number fields become ints and ``stream`` a bool when they read as
    such; text that does not stays text, so the validator names the field.
    """
    out: dict[str, Any] = dict(form)
    for name in INT_FIELDS:
        text = out.get(name)
        if isinstance(text, str) and re.fullmatch(r"[+-]?[0-9]{1,9}", text.strip()):
            out[name] = int(text)
    for name in BOOL_FIELDS:
        text = out.get(name)
        if isinstance(text, str) and text.strip().lower() in ("true", "false"):
            out[name] = text.strip().lower() == "true"
    return out


def generation_body(api_version: str, deployment: str | None,
                    fields: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON body of a model-checked generation: on v1 the deployment travels in it as
    ``model``; on a deployments path it is in the URL, and the body holds the fields only."""
    if deployment and version_spec(api_version).is_v1:
        return {"model": deployment, **fields}
    return dict(fields)


__all__ = ["BOOL_FIELDS", "EDIT_IMAGE_MAX_BYTES", "INT_FIELDS", "check_custom_size", "check_size",
           "form_values", "generation_body", "parse_size", "validate_generation",
           "validate_image_edit"]
