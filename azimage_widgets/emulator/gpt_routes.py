"""Serving a GPT image generation or edit, on the v1 routes and the deployments path alike.

The handler (a ``sync_app.SyncHandler``) has done the checks of every API
request and found the deployment's model. Then, in this order: the model's
rules (``contract.model_rules``; 400 ``invalid_value`` with ``param``), the
content filter word (400 ``content_policy_violation``), the deployment's
image quota (429 + ``Retry-After``), and the answer: all images at once
(after ``processing_time`` on v1, at once on the deployments path, as that
path always answered), or, with ``stream: true``, server-sent events
(``streaming.py``).

One leniency the client does not have: a prompt of invisible characters only
(controls, zero-width) is accepted, as Azure documents nothing stricter than
"not empty"; an empty prompt, or one of whitespace only (``WIRE_SPACE``), is
refused.
"""
from __future__ import annotations

import asyncio
import json
import time
from typing import TYPE_CHECKING, Any

from ..contract import ValidationError
from ..contract.image_models import ImageModel
from ..contract.model_rules import form_values, validate_generation, validate_image_edit
from ..contract.text import is_blank
from . import image_jobs, streaming
from .sync_images import BadImage

if TYPE_CHECKING:
    from .sync_app import SyncHandler

#: Multipart text fields an edit reads (others are ignored, as unknown JSON fields are).
EDIT_TEXT_FIELDS = ("prompt", "model", "n", "size", "quality", "response_format", "user",
                    "output_format", "output_compression", "background", "moderation",
                    "input_fidelity", "stream", "partial_images")


#: Whitespace as JSON Schema's (ECMAScript's) ``\s`` has it: what "blank" means on the wire.
WIRE_SPACE = frozenset("\t\n\v\f\r \u00a0\u1680\u2028\u2029\u202f\u205f\u3000\ufeff"
                       + "".join(map(chr, range(0x2000, 0x200B))))


def as_checked(fields: dict[str, Any]) -> dict[str, Any]:
    """``fields`` for the model rules: a prompt of invisible characters only passes as "."."""
    prompt = fields.get("prompt")
    if isinstance(prompt, str) and is_blank(prompt) and any(c not in WIRE_SPACE for c in prompt):
        return {**fields, "prompt": "."}
    return fields


async def serve_generation(h: SyncHandler, deployment: str, body: dict[str, Any],
                           model: ImageModel) -> None:
    try:
        validate_generation(model, as_checked(body))
    except ValidationError as exc:
        return h.invalid(str(exc), exc.field)
    if h.refused(body["prompt"]):
        return
    await run(h, deployment, image_jobs.make_job("generation", model, body))


def read_edit_form(h: SyncHandler) -> tuple[dict[str, str], list[bytes], bytes | None] | None:
    """(text fields, images, mask) of a multipart edit; None when a 400 was answered."""
    ctype = h.request.headers.get("Content-Type", "")
    if not ctype.lower().startswith("multipart/form-data"):
        h.invalid("Image edits take multipart/form-data (image or image[], optional mask, "
                  "prompt and the other fields).", code="invalid_payload")
        return None
    files = h.request.files
    uploads = [f.body for f in files.get("image", []) + files.get("image[]", [])]
    if not uploads:
        h.invalid("image: is required", "image", "missing_required_parameter")
        return None
    masks = files.get("mask", [])
    form: dict[str, str] = {}
    for name in EDIT_TEXT_FIELDS:
        values = h.request.body_arguments.get(name)
        if values:
            try:
                form[name] = values[-1].decode("utf-8")
            except UnicodeDecodeError:
                h.invalid(f"{name}: not valid UTF-8", name)
                return None
    if "prompt" not in form:
        h.invalid("prompt: is required", "prompt", "missing_required_parameter")
        return None
    return form, uploads, masks[0].body if masks else None


async def serve_edit(h: SyncHandler, deployment: str, model: ImageModel, form: dict[str, str],
                     uploads: list[bytes], mask: bytes | None) -> None:
    fields = form_values(form)
    try:
        validate_image_edit(model, as_checked(fields), uploads, mask)
    except ValidationError as exc:
        return h.invalid(str(exc), exc.field.split("[", 1)[0])
    if h.refused(fields["prompt"]):
        return
    await run(h, deployment, image_jobs.make_job("edit", model, fields, tuple(uploads), mask))


def admit_images(h: SyncHandler, deployment: str, n: int) -> bool:
    """False (a 429 answered) when ``n`` more images exceed the deployment's quota."""
    limit = h.state.config.images_per_minute
    if limit is None:
        return True
    wait = h.state.quota.admit(deployment, n, limit, time.monotonic())
    if wait is None:
        return True
    h.set_header("Retry-After", str(wait))
    h.fail(429, "429", f"Requests to the Images API for deployment {deployment} have exceeded "
                       f"the emulator's quota of {limit} images per minute. Please retry after "
                       f"{wait} seconds.")
    return False


async def run(h: SyncHandler, deployment: str, job: image_jobs.ImageJob) -> None:
    """Make the job's images and answer them, at once or streamed."""
    if not admit_images(h, deployment, job.n):
        return
    if job.stream:
        return await streaming.stream(h, job)
    loop = asyncio.get_running_loop()
    started = loop.time()
    created = int(time.time())
    finals: list[bytes] = []
    try:
        for i in range(job.n):
            finals.append(await loop.run_in_executor(None, image_jobs.render, job, i))
    except BadImage as exc:
        return h.invalid(str(exc), exc.param.split("[", 1)[0], "invalid_image")
    if h.waits_processing_time:
        await asyncio.sleep(max(0.0, started + h.state.config.processing_time - loop.time()))
    size = image_jobs.actual_size(job, job.images[0] if job.images else None)
    h.set_header("Content-Type", "application/json")
    h.finish(json.dumps(image_jobs.answer(job, finals, created, size)))


__all__ = ["EDIT_TEXT_FIELDS", "admit_images", "read_edit_form", "run", "serve_edit",
           "serve_generation"]
