"""Sending Request Image's checked request: a generation, an edit, or a stream of previews.

``send_request`` picks the client call for what ``RequestImage.request()`` /
``edit_request()`` built; ``stream_request`` publishes each partial image in
the activity's ``partial`` trait as it arrives. ``Operations`` is what a
submit returns.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ..contract import ImageOperation, ValidationError
from .download_result import DownloadResult
from .request_body import PreparedRequest


@dataclass(frozen=True)
class ModelEdit:
    """A v1 edit as checked: its images (the mask applies to the first) and fields."""

    images: tuple[bytes, ...]
    prompt: str
    mask: bytes | None
    fields: Mapping[str, Any]


class Operations(list[ImageOperation]):
    """The operations of one run (a list of ImageOperation): ``.ids``; ``.results`` after follow-through."""

    def __init__(self, ops: Iterable[ImageOperation] = ()) -> None:
        super().__init__(ops)
        self.results: list[DownloadResult | None] = []
        self.edit = False  # an image edit's operations (RequestImage.edit_image was set)

    @property
    def ids(self) -> list[str]:
        return [op.id for op in self]

    def __repr__(self) -> str:
        return f"Operations({list.__repr__(self)})"


def renamed(exc: ValidationError) -> ValidationError:
    """A contract error about ``image``/``mask`` as one about the activity's trait."""
    field = exc.field.split("[", 1)[0]
    trait = {"image": "edit_image", "mask": "edit_mask"}.get(field)
    if trait is None:
        return exc
    return ValidationError(trait, exc.limit, exc.value)


async def stream_request(activity: Any, req: Any) -> ImageOperation:
    """A streamed request: ``previewing`` holds its image count while the stream is open,
    each partial image is published in ``partial``; returns the operation of the recorded
    result (``download_image(id)`` reads it)."""
    kwargs: dict[str, Any] = {"partial_images": activity.partial_images,
                              "api_version": activity.api_version,
                              "deployment": activity.deployment, "model": activity.model}
    if isinstance(req, ModelEdit):
        kwargs.update(image=list(req.images), mask=req.mask, **req.fields)
    elif isinstance(req, PreparedRequest):
        kwargs.update(size=req.size, n=req.n, user=req.user, **req.options)
        if req.extra:
            raise ValidationError("partial_images", "live previews send the contract's "
                                                    "fields only; the schema adds "
                                                    f"{', '.join(req.extra)}")
    kwargs = {k: v for k, v in kwargs.items() if v is not None}
    result: Any = None
    activity.previewing = int(kwargs.get("n") or 1)
    try:
        async for event in activity.client().stream_image(req.prompt, **kwargs):
            if hasattr(event, "partial_index"):
                activity.partial = event
            else:
                result = event
    finally:
        activity.previewing = 0
    if result is None:
        raise ValidationError("partial_images", "the stream ended without a result")
    return ImageOperation(id=result.id, status="succeeded")

async def send_request(activity: Any, req: Any, editing: bool) -> ImageOperation:
    """Send a checked request the way it asks: streamed, an edit (the model's rules: every
    version with edits serves GPT image models), or a generation."""
    client = activity.client()
    if activity.streams:
        return await stream_request(activity, req)
    if editing:
        op: ImageOperation = await client.edit_image(
            list(req.images), req.prompt, mask=req.mask, api_version=activity.api_version,
            deployment=activity.deployment, model=activity.model, **req.fields)
        return op
    op = await client.request_image(**req.client_kwargs())
    return op


__all__ = ["ModelEdit", "Operations", "renamed", "send_request", "stream_request"]
