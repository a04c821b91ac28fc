"""The v1 routes of the emulator (CONTRACT.md section 4).

``POST /openai/v1/images/generations`` (JSON) and ``POST /openai/v1/images/edits``
(multipart: ``image`` or ``image[]``, one or more; ``mask`` applied to the
first), the deployment named by ``model`` in the body. What differs from the
deployments path (``sync_app``), each a choice where Azure's documents are
silent or a fact they state:
- ``api-version`` may be left out, or be ``v1`` or ``preview``; any other
  value is a 404, like an unknown version elsewhere;
- the api key is accepted as ``api-key`` and as ``Authorization: Bearer <key>``
  (what ``OpenAI(base_url=.../openai/v1/, api_key=key)`` sends);
- ``n`` and ``output_compression`` take ``null`` as "left out" (the v1 spec
  declares them nullable); every other field refuses it: the spec's nullable
  fields with an ``enum`` do not list null, which OpenAPI 3.0.3 reads as "not
  null", and ``prompt``, ``model`` and ``user`` are not nullable at all;
- ``model`` missing is a 400 ``missing_required_parameter``; an unknown
  deployment (when ``config.deployments`` names them) a 404 ``DeploymentNotFound``;
- errors carry ``code``, ``message`` and ``param``, no ``type`` (the v1 spec
  allows only ``"error"`` there, which no client reads);
- a non-streamed answer comes after ``processing_time``, like a streamed one's
  last event, so the two can be compared.
"""
from __future__ import annotations

import json
from typing import Any

from ..contract.limits import V1_API_VERSION, V1_QUERY_VALUES
from ..contract.routes import V1_EDITS_PATH, V1_GENERATIONS_PATH
from . import gpt_routes
from .state import EmulatorState
from .sync_app import SyncHandler

#: Fields whose ``null`` is refused rather than read as "left out" (see the module docstring).
NOT_NULLABLE = ("prompt", "model", "user", "size", "quality", "response_format", "output_format",
                "background", "moderation", "style", "stream", "partial_images", "input_fidelity")


class V1Handler(SyncHandler):
    """The checks of every v1 request (see ``handlers.ApiHandler``), with v1's api-version and auth."""

    v1_route = True
    key_as_bearer = True
    error_type = None
    waits_processing_time = True

    def check_api_version(self, version: str | None) -> None:
        if version is not None and version not in V1_QUERY_VALUES:
            return self.fail(404, "404", "Resource not found")
        self.api_version = V1_API_VERSION

    def deployment(self, value: Any) -> str | None:
        """The deployment named by ``model``; None when a 400 was answered."""
        if value is None or value == "":
            self.invalid("model: is required (the name of a deployment)", "model",
                         "missing_required_parameter")
            return None
        if not isinstance(value, str):
            self.invalid("model: must be a string (the name of a deployment)", "model")
            return None
        return value


class V1GenerationsHandler(V1Handler):
    """POST /openai/v1/images/generations."""

    async def post(self) -> None:
        try:
            body = json.loads(self.request.body or b"")
        except (ValueError, UnicodeDecodeError, RecursionError):
            return self.invalid("The request body is not valid JSON.", code="invalid_payload")
        if not isinstance(body, dict):
            return self.invalid("The request body must be a JSON object.", code="invalid_payload")
        for name in NOT_NULLABLE:
            if name in body and body[name] is None:
                return self.invalid(f"{name}: must not be null; leave it out for its default",
                                    name)
        fields = {k: v for k, v in body.items() if v is not None}
        if "prompt" not in fields:
            return self.invalid("prompt: is required", "prompt", "missing_required_parameter")
        deployment = self.deployment(fields.get("model"))
        if deployment is None:
            return
        model = self.model_of(deployment)
        if model is not None:
            await gpt_routes.serve_generation(self, deployment, fields, model)


class V1EditsHandler(V1Handler):
    """POST /openai/v1/images/edits (multipart)."""

    async def post(self) -> None:
        read = gpt_routes.read_edit_form(self)
        if read is None:
            return
        form, uploads, mask = read
        deployment = self.deployment(form.get("model"))
        if deployment is None:
            return
        model = self.model_of(deployment)
        if model is not None:
            await gpt_routes.serve_edit(self, deployment, model, form, uploads, mask)


def v1_routes(state: EmulatorState, prefix: str = "") -> list[tuple[str, type, dict[str, Any]]]:
    """The v1 routes, optionally under a prefix (a Jupyter server's base URL)."""
    kw = {"state": state}
    return [
        (prefix + V1_GENERATIONS_PATH, V1GenerationsHandler, kw),
        (prefix + V1_EDITS_PATH, V1EditsHandler, kw),
    ]


__all__ = ["V1EditsHandler", "V1GenerationsHandler", "V1Handler", "v1_routes"]
