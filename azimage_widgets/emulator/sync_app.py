"""The synchronous routes of the emulator (api-version 2024-10-21 and later).

``POST /openai/deployments/{deployment}/images/generations`` answers 200 with
the images at once (CONTRACT.md section 2): dall-e-3 under 2024-10-21 (one
image, ``revised_prompt``, per-image filter results, ``url`` or
``b64_json``), gpt-image-1 under 2025-04-01-preview (``b64_json`` always,
``usage`` token counts). ``POST .../images/edits`` (gpt-image-1) takes
multipart form data: ``image`` (or ``image[]``), optional ``mask``, and the
text fields.

The checks of every API request run first (authentication, rate limit,
injected failures, latency, dropped connections, api-version: see
``app.ApiHandler``). Then, choices where Azure's documents are silent:
- an api-version of the asynchronous flow on these routes, like an unknown
  path, is a 404 ``Resource not found``; so is an edit under a version
  without edits (dall-e-3);
- the deployment name: any is accepted unless ``config.deployments`` names
  the allowed ones; another gets 404 ``DeploymentNotFound``. The model is the
  api-version's, whatever the deployment is called;
- a blank prompt that is not empty is accepted on the generations route:
  the spec only sets ``minLength: 1`` (the client still refuses blank
  prompts before sending, its own choice);
- a bad field is a 400 in OpenAI's shape: ``{"error": {"code":
  "invalid_value", "message", "param": <field>, "type":
  "invalid_request_error"}}`` (``invalid_payload`` for a body that is not
  a JSON object, ``invalid_image`` for an upload that does not decode);
  unknown fields (``model``, which the openai SDK sends) are ignored; a known
  field sent as ``null`` is refused (the spec declares none nullable);
- a prompt with ``config.content_filter_word`` is refused with HTTP 400
  ``content_policy_violation`` and inner_error ``ResponsibleAIPolicyViolation``;
  the partial-filter and cancel words have no synchronous counterpart and
  are ignored here;
- ``url`` answers point at the image host with a signed link living
  ``config.image_ttl`` seconds, like the asynchronous flow's.
"""
from __future__ import annotations

import asyncio
import base64
import json
import time
from typing import Any

from ..contract import ImageRequest, ValidationError
from ..contract.edits import ImageEditRequest
from ..contract.limits import VERSIONS, VersionSpec
from ..contract.routes import DEPLOYMENTS_PREFIX, EDITS_SUFFIX, GENERATIONS_SUFFIX
from . import sync_images
from .app import IMAGE_PATH, ApiHandler, EmulatorState

FILTER_MESSAGE = ("The prompt was refused by the safety system of the emulator (it contains the "
                  "configured content-filter word).")
_SAFE = {"filtered": False, "severity": "safe"}
_FIELDS = ("prompt", "n", "size", "user", "response_format", "quality", "style", "output_format",
           "background", "output_compression")


def _filter_results(flagged: bool) -> dict[str, Any]:
    hit = {"filtered": True, "severity": "high"} if flagged else dict(_SAFE)
    return {"sexual": dict(_SAFE), "violence": hit, "hate": dict(_SAFE),
            "self_harm": dict(_SAFE), "profanity": {"filtered": False, "detected": False},
            "jailbreak": {"filtered": False, "detected": False}}


def revise(prompt: str) -> str:
    """dall-e-3's rewritten prompt, deterministically: the emulator only tidies and extends it."""
    text = " ".join(prompt.split())
    return f"{text[:1].upper()}{text[1:]}, rendered in rich detail with balanced lighting."


class SyncHandler(ApiHandler):
    """What both synchronous routes share: version, deployment, errors, the answer."""

    spec: VersionSpec

    async def prepare(self) -> None:
        await super().prepare()
        if self._finished:
            return
        spec = VERSIONS[self.api_version]
        if not spec.is_sync:
            return self.fail(404, "404", "Resource not found")
        self.spec = spec

    def check_deployment(self, deployment: str) -> bool:
        allowed = self.state.config.deployments
        if allowed is not None and deployment not in allowed:
            self.fail(404, "DeploymentNotFound",
                      "The API deployment for this resource does not exist. If you created the "
                      "deployment within the last 5 minutes, please wait a moment and try again.")
            return False
        return True

    def invalid(self, message: str, param: str | None = None, code: str = "invalid_value") -> None:
        err: dict[str, Any] = {"code": code, "message": message, "type": "invalid_request_error"}
        if param:
            err["param"] = param
        self.set_status(400)
        self.set_header("Content-Type", "application/json")
        self.set_header("x-ms-error-code", code)
        self.finish(json.dumps({"error": err}))

    def refused(self, prompt: str) -> bool:
        word = self.state.config.content_filter_word
        if not word or word.lower() not in prompt.lower():
            return False
        inner: dict[str, Any] = {"code": "ResponsibleAIPolicyViolation",
                                 "content_filter_results": _filter_results(True)}
        if self.spec.revised_prompt:
            inner["revised_prompt"] = revise(prompt)
        self.set_status(400)
        self.set_header("Content-Type", "application/json")
        self.set_header("x-ms-error-code", "content_policy_violation")
        self.finish(json.dumps({"error": {
            "code": "content_policy_violation", "type": "invalid_request_error",
            "message": FILTER_MESSAGE, "inner_error": inner}}))
        return True

    def images_base(self) -> str:
        """Where image links point (as ``OperationHandler.images_base``)."""
        return self.state.images_base

    def link(self, prompt: str, n: int, size: str, created: int) -> list[str]:
        """Signed image-host links of a finished job (kept in the operation store, as async ones)."""
        op = self.state.store.add(prompt=prompt, n=n, size=size, response_format="url",
                                  created=created, started=time.monotonic(), processing_time=0.0,
                                  outcome="succeeded")
        expires = created + int(self.state.config.image_ttl)
        out = []
        for i in range(n):
            path = IMAGE_PATH.format(op_id=op.id, index=i)
            out.append(f"{self.images_base()}{path}?{self.state.signer.query(path, expires)}")
        return out


class GenerationsHandler(SyncHandler):
    """POST /openai/deployments/{deployment}/images/generations."""

    async def post(self, deployment: str) -> None:
        if not self.check_deployment(deployment):
            return
        try:
            body = json.loads(self.request.body or b"")
        except (ValueError, UnicodeDecodeError, RecursionError):
            return self.invalid("The request body is not valid JSON.", code="invalid_payload")
        if not isinstance(body, dict):
            return self.invalid("The request body must be a JSON object.", code="invalid_payload")
        if "prompt" not in body:
            return self.invalid("prompt: is required", "prompt", "missing_required_parameter")
        spec = self.spec
        for k in _FIELDS:  # the spec declares no field nullable: null is not "left out"
            if k in body and body[k] is None:
                return self.invalid(f"{k}: must not be null; leave the field out for its default",
                                    k)
        kw = {k: body[k] for k in _FIELDS if k in body}
        kw.setdefault("n", 1)
        prompt = kw["prompt"]
        if isinstance(prompt, str) and prompt and not prompt.strip():
            kw["prompt"] = "."  # blank but not empty: the spec allows it (see the module doc)
        try:
            req = ImageRequest(api_version=spec.version, **kw)
        except ValidationError as exc:
            return self.invalid(str(exc), exc.field)
        except TypeError as exc:  # e.g. an unhashable value where a choice was expected
            return self.invalid(f"a field has the wrong type ({exc})")
        text: str = prompt  # the prompt as sent (req.prompt may be the blank's stand-in)
        if self.refused(text):
            return
        created = int(time.time())
        size = sync_images.actual_size(req.size, spec.default_size if spec.default_size != "auto"
                                       else sync_images.AUTO_SIZE)
        fmt = req.response_format or ("b64_json" if spec.model == "gpt-image-1" else "url")
        loop = asyncio.get_running_loop()
        data: list[dict[str, Any]] = []
        if fmt == "url":
            data = [{"url": u} for u in self.link(text, req.n, size, created)]
        else:
            for i in range(req.n):
                raw = await loop.run_in_executor(
                    None, sync_images.render, text, i, size, req.output_format or "png",
                    req.background or "auto", req.output_compression)
                data.append({"b64_json": base64.b64encode(raw).decode()})
        if spec.revised_prompt:
            for item in data:
                item["revised_prompt"] = revise(text)
                item["prompt_filter_results"] = _filter_results(False)
                item["content_filter_results"] = {k: v for k, v in _filter_results(False).items()
                                                  if k in ("sexual", "violence", "hate", "self_harm")}
        answer: dict[str, Any] = {"created": created, "data": data}
        if spec.usage:
            answer["usage"] = sync_images.usage(text, req.n, req.size, req.quality)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(answer))


class EditsHandler(SyncHandler):
    """POST /openai/deployments/{deployment}/images/edits (multipart)."""

    async def post(self, deployment: str) -> None:
        if not self.check_deployment(deployment):
            return
        spec = self.spec
        if not spec.edits:
            return self.fail(404, "404", "Resource not found")
        ctype = self.request.headers.get("Content-Type", "")
        if not ctype.lower().startswith("multipart/form-data"):
            return self.invalid("Image edits take multipart/form-data (image, optional mask, "
                                "prompt and the other fields).", code="invalid_payload")
        files = self.request.files
        uploads = [f.body for f in files.get("image", []) + files.get("image[]", [])]
        if not uploads:
            return self.invalid("image: is required", "image", "missing_required_parameter")
        masks = files.get("mask", [])
        form: dict[str, Any] = {}
        for name in ("prompt", "n", "size", "quality", "response_format", "user"):
            values = self.request.body_arguments.get(name)
            if values:
                try:
                    form[name] = values[-1].decode("utf-8")
                except UnicodeDecodeError:
                    return self.invalid(f"{name}: not valid UTF-8", name)
        if "prompt" not in form:
            return self.invalid("prompt: is required", "prompt", "missing_required_parameter")
        n_text = form.pop("n", "1")
        try:
            n = int(n_text)
        except ValueError:
            return self.invalid(f"n: must be a whole number from 1 to {spec.n_max}", "n")
        try:
            req = ImageEditRequest(images=tuple(uploads), mask=masks[0].body if masks else None,
                                   n=n, api_version=spec.version, **form)
        except ValidationError as exc:
            return self.invalid(str(exc), exc.field.split("[", 1)[0])
        if self.refused(req.prompt):
            return
        loop = asyncio.get_running_loop()
        data = []
        for i in range(req.n):
            try:
                raw = await loop.run_in_executor(None, sync_images.render_edit, req.images[0],
                                                 req.mask, req.prompt, i, req.size)
            except sync_images.BadImage as exc:
                return self.invalid(str(exc), exc.param, "invalid_image")
            data.append({"b64_json": base64.b64encode(raw).decode()})
        answer = {"created": int(time.time()), "data": data,
                  "usage": sync_images.usage(req.prompt, req.n, req.size, req.quality,
                                             input_images=len(req.images))}
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(answer))


def sync_routes(state: EmulatorState, prefix: str = "") -> list[tuple[str, type, dict]]:
    """The synchronous routes, optionally under a prefix (a Jupyter server's base URL)."""
    kw = {"state": state}
    name = r"([^/?]+)"
    return [
        (prefix + DEPLOYMENTS_PREFIX + name + GENERATIONS_SUFFIX, GenerationsHandler, kw),
        (prefix + DEPLOYMENTS_PREFIX + name + EDITS_SUFFIX, EditsHandler, kw),
    ]


__all__ = ["EditsHandler", "GenerationsHandler", "SyncHandler", "revise", "sync_routes"]
