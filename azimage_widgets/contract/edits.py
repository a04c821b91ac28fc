"""Image edits (gpt-image-1, 2025-04-01-preview): one or more images, a prompt, an optional mask.

``POST /openai/deployments/{deployment}/images/edits`` takes multipart form
data (the spec excerpt declares a JSON body with binary strings; every
client sends multipart, and so does ours): ``image`` (or ``image[]`` for
several), ``mask``, and the text fields. The answer has the generations
shape (``created``, ``data[].b64_json``, ``usage``).

Limits from the spec excerpt: each image a PNG or JPEG under 25 MB; the mask
a PNG under 4 MB with the first image's dimensions (the emulator checks the
dimensions; the client checks only the type and size, without decoding).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .errors import ValidationError
from .limits import GPT_IMAGE_API_VERSION, VersionSpec, version_spec

IMAGE_MAX_BYTES = 25 * 1024 * 1024
MASK_MAX_BYTES = 4 * 1024 * 1024
#: Images of one edit request at most (the excerpt sets no number; the emulator's choice).
IMAGES_MAX = 16
#: Text fields an edit takes besides prompt.
EDIT_OPTIONS: tuple[str, ...] = ("quality", "response_format")

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
JPEG_MAGIC = b"\xff\xd8\xff"


def image_kind(data: bytes) -> str | None:
    """"png", "jpeg" or None, from the first bytes."""
    if data.startswith(PNG_MAGIC):
        return "png"
    if data.startswith(JPEG_MAGIC):
        return "jpeg"
    return None


@dataclass(frozen=True)
class ImageEditRequest:
    """One edit request, checked against its api-version (which must take edits)."""

    images: tuple[bytes, ...]
    prompt: str
    mask: bytes | None = None
    n: int = 1
    size: str | None = None
    quality: str | None = None
    response_format: str | None = None
    user: str | None = None
    api_version: str = GPT_IMAGE_API_VERSION

    def __post_init__(self) -> None:
        validate_edit(self)

    def form_fields(self) -> dict[str, str]:
        """The text parts of the multipart body (set fields only)."""
        out = {"prompt": self.prompt, "n": str(self.n)}
        for name in ("size", "quality", "response_format", "user"):
            value = getattr(self, name)
            if value is not None:
                out[name] = str(value)
        return out


def as_images(image: Any) -> tuple[bytes, ...]:
    """``image`` (bytes, or a list of bytes) as a tuple; ValidationError naming ``image``."""
    if isinstance(image, (bytes, bytearray, memoryview)):
        return (bytes(image),)
    if isinstance(image, (list, tuple)) and image and all(
            isinstance(i, (bytes, bytearray, memoryview)) for i in image):
        return tuple(bytes(i) for i in image)
    raise ValidationError("image", "must be the bytes of a PNG or JPEG file, or a list of them",
                          type(image).__name__)


def validate_edit(req: ImageEditRequest) -> None:
    """Raise ValidationError naming the first field that breaks a limit."""
    from .models import check_option, check_prompt, check_size_and_user

    spec: VersionSpec = version_spec(req.api_version)
    if not spec.edits:
        raise ValidationError(
            "api_version", f"{spec.version} ({spec.model}) has no image edits; use "
                           f"{GPT_IMAGE_API_VERSION}", req.api_version)
    if not req.images:
        raise ValidationError("image", "at least one image is required")
    if len(req.images) > IMAGES_MAX:
        raise ValidationError("image", f"at most {IMAGES_MAX} images", len(req.images))
    for i, data in enumerate(req.images):
        where = "image" if len(req.images) == 1 else f"image[{i}]"
        if not isinstance(data, bytes) or not data:
            raise ValidationError(where, "must be the non-empty bytes of a PNG or JPEG file")
        if len(data) > IMAGE_MAX_BYTES:
            raise ValidationError(where, f"at most {IMAGE_MAX_BYTES // (1024 * 1024)} MB, "
                                         f"got {len(data)} bytes")
        if image_kind(data) is None:
            raise ValidationError(where, "must be a PNG or JPEG file")
    if req.mask is not None:
        if not isinstance(req.mask, bytes) or not req.mask:
            raise ValidationError("mask", "must be the non-empty bytes of a PNG file")
        if len(req.mask) > MASK_MAX_BYTES:
            raise ValidationError("mask", f"at most {MASK_MAX_BYTES // (1024 * 1024)} MB, "
                                          f"got {len(req.mask)} bytes")
        if image_kind(req.mask) != "png":
            raise ValidationError("mask", "must be a PNG file (its transparent pixels mark "
                                          "where to edit)")
    check_prompt(spec, req.prompt)
    n = req.n
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= spec.n_max:
        raise ValidationError("n", f"must be a whole number from 1 to {spec.n_max}", n)
    check_size_and_user(spec, req.size, req.user)
    for name in EDIT_OPTIONS:
        check_option(spec, name, getattr(req, name))


__all__ = ["EDIT_OPTIONS", "IMAGE_MAX_BYTES", "IMAGES_MAX", "MASK_MAX_BYTES", "ImageEditRequest",
           "as_images", "image_kind", "validate_edit"]
