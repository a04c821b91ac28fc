"""The OpenAPI document of the v1 API (``openapi_document("v1")``).

``POST /openai/v1/images/generations`` (JSON) and ``/openai/v1/images/edits``
(multipart, several images as ``image[]``), the deployment as ``model`` in the
body, ``api-version`` optional (v1 or preview). The body follows the rules
every GPT image model shares; the size is a pattern, since gpt-image-2 takes
custom sizes (their rules are in the description and in ``model_rules``).
"""
from __future__ import annotations

from typing import Any

from .field_schema import fields_to_json_schema
from .image_models import (
    BACKGROUNDS,
    GPT_IMAGE_COMMON,
    INPUT_FIDELITIES,
    MODERATIONS,
    OUTPUT_COMPRESSION_MAX,
    OUTPUT_FORMATS,
    PARTIAL_IMAGES_MAX,
)
from .limits import V1_API_VERSION, V1_QUERY_VALUES, version_spec
from .routes import V1_EDITS_PATH, V1_GENERATIONS_PATH
from .schemas import REQUEST_IMAGE, schemas_for


def v1_document(server: str | None) -> dict[str, Any]:
    """The v1 API: ``/openai/v1/images/generations`` and ``/edits``, the deployment as
    ``model`` in the body, the rules every GPT image model shares (a model's own rules,
    custom sizes of gpt-image-2 included, are checked by ``model_rules``)."""
    spec = version_spec(V1_API_VERSION)
    model = GPT_IMAGE_COMMON
    rq_req, rq_resp = schemas_for(REQUEST_IMAGE, V1_API_VERSION)
    params = [{"name": "api-version", "in": "query", "required": False,
               "description": "Optional on v1 (Microsoft's samples send preview).",
               "schema": {"type": "string", "enum": list(V1_QUERY_VALUES)}}]
    size = {"type": "string", "pattern": "^(auto|[1-9][0-9]*x[1-9][0-9]*)$",
            "description": f"One of {', '.join(model.sizes)}; gpt-image-2 also takes any "
                           "WIDTHxHEIGHT (edges multiples of 16, ratio 1:3..3:1, long edge "
                           "<= 3840, 655,360..8,294,400 pixels)."}
    common: dict[str, Any] = {
        "model": {"type": "string", "description": "The deployment's name."},
        "prompt": {"type": "string", "minLength": 1, "maxLength": model.prompt_max},
        "n": {"type": "integer", "minimum": 1, "maximum": model.n_max},
        "size": size,
        "quality": {"type": "string", "enum": list(model.qualities)},
        "output_format": {"type": "string", "enum": list(OUTPUT_FORMATS)},
        "output_compression": {"type": "integer", "minimum": 0,
                               "maximum": OUTPUT_COMPRESSION_MAX},
        "background": {"type": "string", "enum": list(BACKGROUNDS),
                       "description": "transparent needs output_format png."},
        "moderation": {"type": "string", "enum": list(MODERATIONS)},
        "stream": {"type": "boolean", "description": "Answer with server-sent events."},
        "partial_images": {"type": "integer", "minimum": 0, "maximum": PARTIAL_IMAGES_MAX},
        "user": {"type": "string"},
    }
    request = fields_to_json_schema(rq_req)
    request["properties"] = {**{k: {**request["properties"].get(k, {}), **v}
                                for k, v in common.items()},
                             **{k: v for k, v in request["properties"].items()
                                if k not in common}}
    request["properties"]["response_format"] = {"type": "string", "enum": ["b64_json"]}
    request["required"] = ["model", "prompt"]
    edit = {"type": "object", "required": ["model", "image", "prompt"], "properties": {
        "image": {"type": "array", "items": {"type": "string", "format": "binary"},
                  "description": "One or more PNG or JPEG files (sent as image[])."},
        "mask": {"type": "string", "format": "binary",
                 "description": "A PNG of the first image's size; transparent pixels mark where "
                                "to edit."},
        "input_fidelity": {"type": "string", "enum": list(INPUT_FIDELITIES),
                           "description": "Not gpt-image-1-mini."},
        **{k: v for k, v in common.items() if k != "moderation"}}}
    answers = {
        "200": {"description": "The images (or, with stream, server-sent events).",
                "content": {"application/json": {"schema": {
                    "$ref": "#/components/schemas/ImagesResponse"}},
                    "text/event-stream": {"schema": {"type": "string"}}}},
        "default": {"description": "An error.", "content": {"application/json": {"schema": {
            "$ref": "#/components/schemas/Error"}}}}}
    error = {"type": "object", "properties": {"error": {"type": "object", "properties": {
        "code": {"type": "string"}, "message": {"type": "string"}, "param": {"type": "string"},
        "type": {"type": "string"}}}}}
    doc: dict[str, Any] = {
        "openapi": "3.0.3",
        "info": {"title": "Azure OpenAI image generation (as azimage-widgets models it)",
                 "version": spec.version,
                 "description": "Generated from azimage_widgets.contract (the v1 API: the "
                                "deployment as model in the body)."},
        "paths": {
            V1_GENERATIONS_PATH: {"post": {
                "operationId": "Images_Generate", "parameters": params,
                "requestBody": {"required": True, "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/ImageGenerationsRequest"}}}},
                "responses": answers}},
            V1_EDITS_PATH: {"post": {
                "operationId": "Images_Edit", "parameters": params,
                "requestBody": {"required": True,
                                "content": {"multipart/form-data": {"schema": edit}}},
                "responses": answers}},
        },
        "components": {"schemas": {
            "ImageGenerationsRequest": request,
            "ImagesResponse": fields_to_json_schema(rq_resp),
            "Error": error,
        }},
    }
    if server:
        doc["servers"] = [{"url": server}]
    return doc


__all__ = ["v1_document"]
