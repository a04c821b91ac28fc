"""One GPT image request as the emulator carries it out: settings resolved, images, answers.

Shared by the v1 routes and the deployments path (2025-04-01-preview): the
request's fields are checked by the contract's model rules first, then an
``ImageJob`` holds what the answer reports (``auto`` resolved: the quality to
the model's default, the background to opaque, the size to 1024x1024, or to
the first image's for an edit). Pure functions, no HTTP: the handlers call
them in an executor because rendering takes tens of milliseconds.
"""
from __future__ import annotations

import base64
import io
import math
from dataclasses import dataclass
from typing import Any

from PIL import Image

from ..contract.image_models import ImageModel
from . import sync_images

_SAFE = {"filtered": False, "severity": "safe"}
#: Output tokens per image of 1024x1024 by quality (gpt-image-1's published table).
_OUTPUT_TOKENS = {"low": 272, "medium": 1056, "high": 4160}


@dataclass(frozen=True)
class ImageJob:
    """A checked generation or edit, its ``auto`` settings resolved."""

    kind: str  # "generation" or "edit"
    model: ImageModel
    prompt: str
    n: int
    size: str  # as asked ("auto" or WxH)
    quality: str  # low | medium | high
    output_format: str  # png | jpeg
    background: str  # transparent | opaque
    compression: int | None
    stream: bool
    partial_images: int
    images: tuple[bytes, ...] = ()
    mask: bytes | None = None

    @property
    def event_prefix(self) -> str:
        """``image_generation`` or ``image_edit``: the streamed events' type prefix."""
        return "image_edit" if self.kind == "edit" else "image_generation"


def make_job(kind: str, model: ImageModel, fields: dict[str, Any], images: tuple[bytes, ...] = (),
             mask: bytes | None = None) -> ImageJob:
    """The job of fields the model rules accepted (None or left out: the default)."""
    quality = fields.get("quality")
    if quality in (None, "auto"):
        quality = model.default_quality or "high"
    background = fields.get("background")
    compression = fields.get("output_compression")
    return ImageJob(
        kind=kind, model=model, prompt=fields["prompt"], n=fields.get("n") or 1,
        size=fields.get("size") or "auto", quality=quality,
        output_format=fields.get("output_format") or "png",
        background="transparent" if background == "transparent" else "opaque",
        compression=compression if isinstance(compression, int) else None,
        stream=fields.get("stream") is True, partial_images=fields.get("partial_images") or 0,
        images=images, mask=mask)


def render(job: ImageJob, index: int) -> bytes:
    """Image ``index`` of the job, encoded as asked (BadImage for an input that does not decode)."""
    if job.kind == "edit":
        return sync_images.render_edit(job.images[0], job.mask, job.prompt, index, job.size,
                                       job.output_format, references=job.images[1:],
                                       compression=job.compression)
    return sync_images.render(job.prompt, index, sync_images.actual_size(job.size),
                              job.output_format, job.background, job.compression)


def render_partial(job: ImageJob, final: bytes, step: int) -> bytes:
    """Partial image ``step`` of one final image (0: the least formed)."""
    return sync_images.render_partial(final, step, job.partial_images, job.output_format)


def actual_size(job: ImageJob, first: bytes | None = None) -> str:
    """The WxH the answer reports: ``auto`` is 1024x1024, or an edit's input size."""
    if job.size != "auto":
        return job.size
    if job.kind == "edit" and first is not None:
        with Image.open(io.BytesIO(first)) as img:
            return f"{img.size[0]}x{img.size[1]}"
    return sync_images.AUTO_SIZE


def usage(job: ImageJob, size: str, images: int | None = None) -> dict[str, Any]:
    """Token counts of ``images`` (default: all the job's) of ``size``: text about len/4,
    65 per tile of input image, output by quality and area."""
    w, _, h = size.partition("x")
    area = int(w) * int(h) / (1024 * 1024)
    text_tokens = max(1, math.ceil(len(job.prompt) / 4))
    image_tokens = 65 * 4 * len(job.images)
    output_tokens = math.ceil(_OUTPUT_TOKENS[job.quality] * area) * (images or job.n)
    input_tokens = text_tokens + image_tokens
    return {"total_tokens": input_tokens + output_tokens, "input_tokens": input_tokens,
            "output_tokens": output_tokens,
            "input_tokens_details": {"text_tokens": text_tokens, "image_tokens": image_tokens},
            "output_tokens_details": {"image_tokens": output_tokens, "text_tokens": 0}}


def filter_results() -> tuple[dict[str, Any], dict[str, Any]]:
    """(prompt_filter_results, content_filter_results) of an image nothing was filtered from."""
    content = {k: dict(_SAFE) for k in ("sexual", "violence", "hate", "self_harm")}
    prompt = {**content, "profanity": {"filtered": False, "detected": False},
              "jailbreak": {"filtered": False, "detected": False}}
    return prompt, content


def answer(job: ImageJob, finals: list[bytes], created: int, size: str) -> dict[str, Any]:
    """The non-streamed answer: every image as ``b64_json`` and what was applied."""
    prompt_results, content_results = filter_results()
    data = [{"b64_json": base64.b64encode(raw).decode(), "prompt_filter_results": prompt_results,
             "content_filter_results": content_results} for raw in finals]
    return {"created": created, "data": data, "background": job.background,
            "output_format": job.output_format, "quality": job.quality, "size": size,
            "usage": usage(job, size)}


def event(job: ImageJob, raw: bytes, created_at: int, size: str,
          partial_index: int | None = None) -> dict[str, Any]:
    """One streamed event: a partial image (``partial_index`` set) or the completed one."""
    body: dict[str, Any] = {
        "type": f"{job.event_prefix}.{'partial_image' if partial_index is not None else 'completed'}",
        "b64_json": base64.b64encode(raw).decode(), "background": job.background,
        "created_at": created_at, "output_format": job.output_format, "quality": job.quality,
        "size": size}
    if partial_index is not None:
        body["partial_image_index"] = partial_index
    else:
        body["usage"] = usage(job, size, images=1)
    return body


__all__ = ["ImageJob", "actual_size", "answer", "event", "filter_results", "make_job", "render",
           "render_partial", "usage"]
