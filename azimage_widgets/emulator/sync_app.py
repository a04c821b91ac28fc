"""The synchronous routes of the emulator (api-version 2024-10-21 and later).

``POST /openai/deployments/{deployment}/images/generations`` answers 200 with
the images (CONTRACT.md section 2): dall-e-3 under 2024-10-21 (one image,
``revised_prompt``, per-image filter results, ``url`` or ``b64_json``); under
2025-04-01-preview the deployment's GPT image model (gpt-image-1 when its
name names none), served like the v1 routes by ``gpt_routes`` (``b64_json``
always, ``usage``, ``stream: true``). ``POST .../images/edits`` takes
multipart form data: ``image`` (or ``image[]``, several), optional ``mask``,
and the text fields.

The checks of every API request run first (authentication, rate limit,
injected failures, latency, dropped connections, api-version: see
``handlers.ApiHandler``). Then, choices where Azure's documents are silent:
- an api-version of the asynchronous flow on these routes, like an unknown
  path, is a 404 ``Resource not found``; so is an edit under a version
  without edits (dall-e-3);
- the deployment name: any is accepted unless ``config.deployments`` names
  the allowed ones; another gets 404 ``DeploymentNotFound``. Under
  2024-10-21 the model is dall-e-3 whatever the deployment is; a deployment
  whose model is a DALL-E one answers other versions 400 ``OperationNotSupported``;
- a blank prompt that is not empty is accepted on the dall-e-3 route: the
  spec only sets ``minLength: 1`` (the client still refuses blank prompts
  before sending, its own choice);
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
from ..contract.image_models import (
    ImageModel,
    model_for_version,
    model_spec,
    retirement_note,
    uses_model_rules,
)
from ..contract.limits import VERSIONS, VersionSpec
from ..contract.routes import DEPLOYMENTS_PREFIX, EDITS_SUFFIX, GENERATIONS_SUFFIX
from ..contract.text import is_blank
from . import gpt_routes, sync_images
from .handlers import IMAGE_PATH, ApiHandler
from .state import EmulatorState

FILTER_MESSAGE = ("The prompt was refused by the safety system of the emulator (it contains the "
                  "configured content-filter word).")
_SAFE = {"filtered": False, "severity": "safe"}
_FIELDS = ("prompt", "n", "size", "user", "response_format", "quality", "style", "output_format",
           "background", "output_compression", "moderation", "stream", "partial_images",
           "input_fidelity")


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
    """What the synchronous and v1 routes share: version, deployment, errors, the answer."""

    spec: VersionSpec
    #: This route is a v1 one (``/openai/v1/...``); the deployments path refuses api-version v1.
    v1_route = False
    #: The ``type`` of a 400's error (the v1 spec allows only "error": v1 leaves it out).
    error_type: str | None = "invalid_request_error"
    #: A non-streamed answer waits ``processing_time`` (v1), or comes at once (as it always has).
    waits_processing_time = False

    async def prepare(self) -> None:
        await super().prepare()
        if self._finished:
            return
        spec = VERSIONS[self.api_version]
        if not spec.is_sync or spec.is_v1 != self.v1_route:
            return self.fail(404, "404", "Resource not found")
        self.spec = spec

    def model_of(self, deployment: str) -> ImageModel | None:
        """The model ``deployment`` answers as; None when a 404 or 400 was answered.

        A configured model first, else the one its name names (``model_for_version``);
        the dall-e-3 version answers as dall-e-3 whatever the deployment is.
        """
        known, mapped = self.state.config.deployment_model(deployment)
        if not known:
            self.fail(404, "DeploymentNotFound",
                      "The API deployment for this resource does not exist. If you created the "
                      "deployment within the last 5 minutes, please wait a moment and try again.")
            return None
        if not uses_model_rules(self.spec.version):  # a DALL-E version: its one model
            return model_for_version(self.spec.version)
        model = model_spec(mapped) if mapped else model_for_version(self.spec.version,
                                                                     deployment=deployment)
        if not model.is_gpt_image:
            self.invalid(f"The deployment's model {model.name} does not serve api-version "
                         f"{self.spec.version}. {retirement_note(model.name) or ''}".strip(),
                         "model", "OperationNotSupported")
            return None
        return model

    def invalid(self, message: str, param: str | None = None, code: str = "invalid_value") -> None:
        err: dict[str, Any] = {"code": code, "message": message}
        if self.error_type:
            err["type"] = self.error_type
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
        err = {"code": "content_policy_violation", "message": FILTER_MESSAGE, "inner_error": inner}
        if self.error_type:
            err["type"] = self.error_type
        self.finish(json.dumps({"error": err}))
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
        model = self.model_of(deployment)
        if model is None:
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
        if model.is_gpt_image:
            return await gpt_routes.serve_generation(self, deployment, body, model)
        kw = {k: body[k] for k in _FIELDS if k in body}
        kw.setdefault("n", 1)
        prompt = kw["prompt"]
        if isinstance(prompt, str) and prompt and is_blank(prompt):
            kw["prompt"] = "."  # blank but not empty: the spec allows it (see the module doc)
        try:
            req = ImageRequest(api_version=spec.version, **kw)
        except ValidationError as exc:
            return self.invalid(str(exc), exc.field)
        except TypeError as exc:  # e.g. an unhashable value where a choice was expected
            return self.invalid(f"a field has the wrong type ({exc})")
        text: str = prompt  # the prompt as sent (req.prompt may be the blank's stand-in)
        if self.refused(text) or not gpt_routes.admit_images(self, deployment, req.n):
            return
        created = int(time.time())
        size = sync_images.actual_size(req.size, spec.default_size if spec.default_size != "auto"
                                       else sync_images.AUTO_SIZE)
        fmt = req.response_format or "url"
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
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(answer))


class EditsHandler(SyncHandler):
    """POST /openai/deployments/{deployment}/images/edits (multipart)."""

    async def post(self, deployment: str) -> None:
        model = self.model_of(deployment)
        if model is None:
            return
        if not self.spec.edits or not model.edits:
            return self.fail(404, "404", "Resource not found")
        read = gpt_routes.read_edit_form(self)
        if read is not None:
            await gpt_routes.serve_edit(self, deployment, model, *read)


def sync_routes(state: EmulatorState, prefix: str = "") -> list[tuple[str, type, dict[str, Any]]]:
    """The synchronous routes, optionally under a prefix (a Jupyter server's base URL)."""
    kw = {"state": state}
    name = r"([^/?]+)"
    return [
        (prefix + DEPLOYMENTS_PREFIX + name + GENERATIONS_SUFFIX, GenerationsHandler, kw),
        (prefix + DEPLOYMENTS_PREFIX + name + EDITS_SUFFIX, EditsHandler, kw),
    ]


__all__ = ["EditsHandler", "GenerationsHandler", "SyncHandler", "revise", "sync_routes"]
