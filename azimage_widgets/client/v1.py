"""Requests checked by their model's rules: the v1 API, and edits of today's GPT image models.

On v1 (``POST {endpoint}/openai/v1/images/generations?api-version=preview``)
the deployment travels in the body as ``model``; an edit goes to
``/openai/v1/images/edits`` (v1) or ``/openai/deployments/{name}/images/edits``
(2025-04-01-preview), multipart with every input image as ``image[]`` and the
mask (applied to the first image). What a request may ask is the rules of
its model (``contract.model_for_version``: the call's ``model=``, else the
connection's, else the one the deployment's name names, else the rules common
to all GPT image models), checked by
``contract.validate_generation`` / ``validate_image_edit`` before anything is
sent. Answers are recorded under ids like every synchronous answer
(generations.py), so ``download_image(op.id)`` works as for every version.

Choices where the contract is silent: ``size`` left out is not sent (the
service's ``auto``); ``stream`` is refused in ``extra_body`` (a streamed
answer is ``stream_image``'s); the api-version query is ``preview``, as
Microsoft's samples send it.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ..contract import ImageOperation, ValidationError, validate_generation
from ..contract.edits import as_images, image_kind
from ..contract.image_models import ImageModel, model_for_version
from ..contract.limits import OPTION_NAMES, V1_PREVIEW_QUERY, version_spec
from ..contract.model_rules import generation_body, validate_image_edit
from ..contract.routes import V1_EDITS_PATH, V1_GENERATIONS_PATH, edits_path, generations_path
from ..contract.text import check_json_value
from .capped import MAX_B64_RESPONSE_BYTES
from .connection import Connection
from .generations import Generations, deployment_of, sync_timeout

#: Fields a caller may set on a model-checked request besides prompt, n, size and user.
MODEL_OPTIONS: tuple[str, ...] = ("quality", "style", "response_format", "output_format",
                                  "background", "output_compression", "moderation")
#: Fields only a streamed request carries (``stream_image`` sets them).
STREAM_FIELDS: tuple[str, ...] = ("stream", "partial_images")


def rules_for(conn: Connection, api_version: str, deployment: str | None,
              model: str | None = None) -> ImageModel:
    """The model whose rules a request of ``api_version`` to ``deployment`` follows:
    ``model`` (the call's) over the connection's; ValidationError("model") if unknown."""
    return model_for_version(api_version, model or conn.model, deployment or conn.deployment)


def query_version(api_version: str) -> str:
    """The ``api-version`` a request of ``api_version`` sends (v1: ``preview``)."""
    return V1_PREVIEW_QUERY if version_spec(api_version).is_v1 else api_version


def generation_fields(prompt: str, *, n: int | None, size: str | None, user: str | None,
                      options: Mapping[str, Any], extra_body: Mapping[str, Any] | None = None,
                      omit: Iterable[str] = ()) -> dict[str, Any]:
    """The JSON fields of a generation (``None`` left out); ``extra_body`` checked as JSON."""
    fields: dict[str, Any] = {"prompt": prompt, "n": n, "size": size, "user": user}
    fields.update(options)
    for key, value in (extra_body or {}).items():
        if not isinstance(key, str) or key in ("prompt", "n", "size", "user", "model") or \
                (key in fields and fields[key] is not None):
            raise ValidationError("extra_body", "must not repeat a field of the contract", key)
        if key in STREAM_FIELDS:
            raise ValidationError("extra_body", "stream and partial_images are stream_image's",
                                  key)
        check_json_value(f"extra_body.{key}", value)  # before anything is sent
        fields[key] = value
    for key in omit:
        if key not in ("n", "size"):
            raise ValidationError("omit", "only n and size can be left out", key)
        fields.pop(key, None)
    return {k: v for k, v in fields.items() if v is not None}


def check_generation(conn: Connection, prompt: str, api_version: str, *, size: str | None,
                     n: int | None, user: str | None, options: Mapping[str, Any]) -> None:
    """ValidationError as ``request_image`` would raise it for these arguments, nothing sent
    (``options``: its keyword arguments besides: quality, ..., deployment, model, extra_body)."""
    named = {k: options.get(k) for k in OPTION_NAMES}
    fields = generation_fields(prompt, n=n, size=size, user=user, options=named,
                               extra_body=options.get("extra_body"), omit=options.get("omit", ()))
    validate_generation(rules_for(conn, api_version, options.get("deployment"),
                                  options.get("model")), fields)


def generation_request(gens: Generations, fields: dict[str, Any], api_version: str,
                       deployment: str | None, model: str | None = None
                       ) -> tuple[str, dict[str, Any], str]:
    """(url, JSON body, deployment) of a model-checked generation; ValidationError first.

    ``model`` only chooses the rules: it is never sent (on v1 the body's ``model``
    is the deployment)."""
    sender = gens.sender
    rules = rules_for(sender.conn, api_version, deployment, model)  # an unknown model first
    name = deployment_of(sender.conn, deployment, api_version)
    validate_generation(rules, fields)
    body = generation_body(api_version, name, fields)
    if version_spec(api_version).is_v1:
        url = sender.url(V1_GENERATIONS_PATH, query_version(api_version))
    else:
        url = sender.url(generations_path(name), api_version)
    return url, body, name


async def generate_by_model(gens: Generations, fields: dict[str, Any], api_version: str,
                            deployment: str | None, model: str | None = None) -> ImageOperation:
    """POST a model-checked generation; the answer recorded under a new id."""
    url, body, name = generation_request(gens, fields, api_version, deployment, model)
    conn = gens.sender.conn
    answer = await gens.sender.request("POST", url, kind="submit", json=body,
                                       timeout=sync_timeout(conn),
                                       max_bytes=MAX_B64_RESPONSE_BYTES)
    asked = fields.get("n") or rules_for(conn, api_version, name, model).n_max
    return gens.record(answer, {**fields, "deployment": name}, api_version, "generations", asked)


def edit_request(gens: Generations, image: Any, prompt: str, mask: bytes | None,
                 fields: Mapping[str, Any], api_version: str, deployment: str | None,
                 model: str | None = None
                 ) -> tuple[str, dict[str, str], list[tuple[str, tuple[str, bytes, str]]], str]:
    """(url, form fields, files, deployment) of a model-checked edit; ValidationError first."""
    images = as_images(image)
    spec = version_spec(api_version)
    if not spec.edits:
        raise ValidationError("api_version", f"{api_version} has no image edits; use v1",
                              api_version)
    sender = gens.sender
    rules = rules_for(sender.conn, api_version, deployment, model)  # an unknown model first
    name = deployment_of(sender.conn, deployment, api_version)
    typed = {"prompt": prompt, **{k: v for k, v in fields.items() if v is not None}}
    validate_image_edit(rules, typed, images, mask)
    form = {k: _form_text(v) for k, v in typed.items()}
    files: list[tuple[str, tuple[str, bytes, str]]] = []
    for i, data in enumerate(images):
        kind = image_kind(data) or "png"
        files.append(("image[]", (f"image_{i}.{'jpg' if kind == 'jpeg' else 'png'}", data,
                                  f"image/{kind}")))
    if mask is not None:
        files.append(("mask", ("mask.png", mask, "image/png")))
    if spec.is_v1:
        form = {"model": name, **form}
        url = sender.url(V1_EDITS_PATH, query_version(api_version))
    else:
        url = sender.url(edits_path(name), api_version)
    return url, form, files, name


async def edit_by_model(gens: Generations, image: Any, prompt: str, *, mask: bytes | None,
                        fields: Mapping[str, Any], api_version: str,
                        deployment: str | None, model: str | None = None) -> ImageOperation:
    """POST a model-checked multipart edit; the answer recorded under a new id."""
    url, form, files, name = edit_request(gens, image, prompt, mask, fields, api_version,
                                          deployment, model)
    conn = gens.sender.conn
    answer = await gens.sender.request("POST", url, kind="submit", data=form, files=files,
                                       timeout=sync_timeout(conn),
                                       max_bytes=MAX_B64_RESPONSE_BYTES)
    noted: dict[str, Any] = {**form, "deployment": name, "edit": True,
                             "images": sum(1 for f in files if f[0] == "image[]"),
                             "mask": mask is not None}
    noted.pop("model", None)
    asked = fields.get("n") or rules_for(conn, api_version, name, model).n_max
    return gens.record(answer, noted, api_version, "edits", asked)


def _form_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


__all__ = ["MODEL_OPTIONS", "STREAM_FIELDS", "check_generation", "edit_by_model", "edit_request",
           "generate_by_model", "generation_fields", "generation_request", "query_version", "rules_for"]
