"""An OpenAPI 3 document of the image generation contract, and reading one back into schemas.

``openapi_document(api_version)`` is generated from ``contract.schemas`` (the
fields each activity sends and receives), so the emulator can serve it and
the activities' schema Refresh can fall back to it as "the bundled spec" of a
version when the endpoint is Azure itself. It is not a copy of Microsoft's
spec files: only the fields, types and limits of CONTRACT.md section 1.

``activity_schemas(doc)`` reads any such document (ours, or one a service
serves) into ``{kind: (request fields, response fields)}``: the submit
request body and its 202 answer for Request Image; the operation path
parameter (as ``id``) and the 200 answer of the operation GET for Download
Image. ``$ref``s into ``#/components/schemas`` are followed. Nested objects
become dotted names and list items ``[]``, as in ``contract.schemas``.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .errors import ValidationError
from .field_schema import fields_to_json_schema
from .limits import version_spec
from .openapi_v1 import v1_document
from .routes import (
    DEPLOYMENTS_PREFIX,
    EDITS_SUFFIX,
    GENERATIONS_SUFFIX,
    OPERATION_PREFIX,
    SUBMIT_PATH,
    V1_GENERATIONS_PATH,
)
from .schemas import DOWNLOAD_IMAGE, REQUEST_IMAGE, SchemaField, schemas_for

OPERATION_PATH = OPERATION_PREFIX + "{operationId}"
GENERATIONS_PATH = DEPLOYMENTS_PREFIX + "{deployment-id}" + GENERATIONS_SUFFIX
EDITS_PATH = DEPLOYMENTS_PREFIX + "{deployment-id}" + EDITS_SUFFIX
OPENAPI_PATH = "/openapi.json"


def json_schema_to_fields(schema: Mapping[str, Any], doc: Mapping[str, Any] | None = None,
                          prefix: str = "", depth: int = 0) -> list[SchemaField]:
    """The fields of an object JSON schema, depth first, in property order."""
    schema = _deref(schema, doc)
    out: list[SchemaField] = []
    if depth > 12:
        return out
    required = set(schema.get("required") or ())
    for key, sub in (schema.get("properties") or {}).items():
        sub = _deref(sub, doc)
        name = f"{prefix}{key}"
        typ = _type_of(sub)
        out.append(SchemaField(name, typ, key in required, str(sub.get("description") or "")))
        if typ == "object":
            out.extend(json_schema_to_fields(sub, doc, name + ".", depth + 1))
        elif typ == "array":
            items = _deref(sub.get("items") or {}, doc)
            if _type_of(items) == "object":
                out.extend(json_schema_to_fields(items, doc, name + "[].", depth + 1))
    return out


def _type_of(schema: Mapping[str, Any]) -> str:
    t = schema.get("type")
    if isinstance(t, list):  # OpenAPI 3.1 ["string", "null"]
        t = next((x for x in t if x != "null"), None)
    if t is None:
        if "properties" in schema:
            return "object"
        if "items" in schema:
            return "array"
        return "string"
    return str(t)


def _deref(schema: Any, doc: Mapping[str, Any] | None) -> Mapping[str, Any]:
    seen = 0
    while isinstance(schema, Mapping) and "$ref" in schema and doc is not None and seen < 20:
        ref = schema["$ref"]
        if not isinstance(ref, str) or not ref.startswith("#/"):
            return {}
        node: Any = doc
        for part in ref[2:].split("/"):
            node = node.get(part) if isinstance(node, Mapping) else None
        schema = node if isinstance(node, Mapping) else {}
        seen += 1
    if isinstance(schema, Mapping) and "allOf" in schema:  # merge simple allOf
        merged: dict[str, Any] = {"type": "object", "properties": {}, "required": []}
        for raw in schema["allOf"]:
            piece = _deref(raw, doc)
            merged["properties"].update(piece.get("properties") or {})
            merged["required"].extend(piece.get("required") or [])
        return merged
    return schema if isinstance(schema, Mapping) else {}


# -- the document ------------------------------------------------------------------
def openapi_document(api_version: str, *, server: str | None = None) -> dict[str, Any]:
    """The OpenAPI 3.0 document of one api-version, generated from ``contract.schemas``."""
    spec = version_spec(api_version)
    if spec.is_v1:
        return v1_document(server)
    if spec.is_sync:
        return _sync_document(api_version, server)
    rq_req, rq_resp = schemas_for(REQUEST_IMAGE, api_version)
    dl_req, dl_resp = schemas_for(DOWNLOAD_IMAGE, api_version)
    id_field = dl_req[0]
    version_param = {"name": "api-version", "in": "query", "required": True,
                     "schema": {"type": "string", "enum": [spec.version]}}
    error = {"type": "object", "properties": {"error": {"type": "object", "properties": {
        "code": {"type": "string"}, "message": {"type": "string"}}}}}
    doc: dict[str, Any] = {
        "openapi": "3.0.3",
        "info": {"title": "Azure OpenAI image generation (as azimage-widgets models it)",
                 "version": spec.version,
                 "description": "Generated from azimage_widgets.contract.schemas."},
        "paths": {
            SUBMIT_PATH: {"post": {
                "operationId": "ImageGenerations_Submit",
                "parameters": [version_param],
                "requestBody": {"required": True, "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/ImageGenerationsRequest"}}}},
                "responses": {
                    "202": {"description": "Accepted; poll the operation-location header.",
                            "headers": {"operation-location": {"schema": {"type": "string"}}},
                            "content": {"application/json": {"schema": {
                                "$ref": "#/components/schemas/ImageOperationSubmitted"}}}},
                    "default": {"description": "An error.", "content": {"application/json": {
                        "schema": {"$ref": "#/components/schemas/Error"}}}}}}},
            OPERATION_PATH: {
                "get": {
                    "operationId": "ImageGenerations_GetOperationStatus",
                    "parameters": [
                        {"name": "operationId", "in": "path", "required": True,
                         "description": id_field.description, "schema": {"type": id_field.type}},
                        version_param],
                    "responses": {
                        "200": {"description": "The operation as it is now.",
                                "content": {"application/json": {"schema": {
                                    "$ref": "#/components/schemas/ImageOperation"}}}},
                        "default": {"description": "An error.", "content": {"application/json": {
                            "schema": {"$ref": "#/components/schemas/Error"}}}}}},
                "delete": {
                    "operationId": "ImageGenerations_Delete",
                    "parameters": [{"name": "operationId", "in": "path", "required": True,
                                    "schema": {"type": "string"}}, version_param],
                    "responses": {"204": {"description": "Deleted."}}}},
        },
        "components": {"schemas": {
            "ImageGenerationsRequest": fields_to_json_schema(rq_req),
            "ImageOperationSubmitted": fields_to_json_schema(rq_resp),
            "ImageOperation": fields_to_json_schema(dl_resp),
            "Error": error,
        }},
    }
    if server:
        doc["servers"] = [{"url": server}]
    return doc


def _sync_document(api_version: str, server: str | None) -> dict[str, Any]:
    """The document of a synchronous version: the generations path (and edits, when it has them)."""
    spec = version_spec(api_version)
    rq_req, rq_resp = schemas_for(REQUEST_IMAGE, api_version)
    params = [{"name": "deployment-id", "in": "path", "required": True,
               "description": "The deployment's name.", "schema": {"type": "string"}},
              {"name": "api-version", "in": "query", "required": True,
               "schema": {"type": "string", "enum": [spec.version]}}]
    error = {"type": "object", "properties": {"error": {"type": "object", "properties": {
        "code": {"type": "string"}, "message": {"type": "string"}, "param": {"type": "string"},
        "type": {"type": "string"}, "inner_error": {"type": "object"}}}}}
    request = fields_to_json_schema(rq_req)
    for opt in spec.options:  # the choices as enums, for a client or a validator
        prop = request["properties"][opt.name]
        if opt.is_int:
            prop.update(minimum=opt.minimum, maximum=opt.maximum)
        else:
            prop["enum"] = list(opt.choices)
    request["properties"]["size"]["enum"] = list(spec.sizes)
    request["properties"]["n"].update(minimum=1, maximum=spec.n_max)
    request["properties"]["prompt"].update(minLength=1, maxLength=spec.prompt_max)
    answers = {
        "200": {"description": "The images.", "content": {"application/json": {"schema": {
            "$ref": "#/components/schemas/ImagesResponse"}}}},
        "default": {"description": "An error.", "content": {"application/json": {"schema": {
            "$ref": "#/components/schemas/Error"}}}}}
    paths: dict[str, Any] = {GENERATIONS_PATH: {"post": {
        "operationId": "ImageGenerations_Create", "parameters": params,
        "requestBody": {"required": True, "content": {"application/json": {
            "schema": {"$ref": "#/components/schemas/ImageGenerationsRequest"}}}},
        "responses": answers}}}
    if spec.edits:
        edit = {"type": "object", "required": ["image", "prompt"], "properties": {
            "image": {"type": "string", "format": "binary",
                      "description": "The PNG or JPEG to edit (image[] for several)."},
            "mask": {"type": "string", "format": "binary",
                     "description": "A PNG of the image's size; transparent pixels mark where to edit."},
            "prompt": {"type": "string", "minLength": 1, "maxLength": spec.prompt_max},
            "n": {"type": "integer", "minimum": 1, "maximum": spec.n_max},
            "size": {"type": "string", "enum": list(spec.sizes)},
            "quality": {"type": "string", "enum": list(spec.choices("quality"))},
            "user": {"type": "string"}}}
        paths[EDITS_PATH] = {"post": {
            "operationId": "ImageGenerations_Edit", "parameters": params,
            "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": edit}}},
            "responses": answers}}
    doc: dict[str, Any] = {
        "openapi": "3.0.3",
        "info": {"title": "Azure OpenAI image generation (as azimage-widgets models it)",
                 "version": spec.version,
                 "description": f"Generated from azimage_widgets.contract.schemas ({spec.model}, "
                                "the synchronous deployments flow)."},
        "paths": paths,
        "components": {"schemas": {
            "ImageGenerationsRequest": request,
            "ImagesResponse": fields_to_json_schema(rq_resp),
            "Error": error,
        }},
    }
    if server:
        doc["servers"] = [{"url": server}]
    return doc


#: Request fields of the v1 document that are no Request Image field: the deployment is its
#: own setting (sent as ``model``), streaming is the Live previews setting.
V1_ROUTE_FIELDS: tuple[str, ...] = ("model", "stream", "partial_images")


def activity_schemas(doc: Mapping[str, Any]) -> dict[str, tuple[tuple[SchemaField, ...],
                                                                 tuple[SchemaField, ...]]]:
    """``{kind: (request, response)}`` read from an OpenAPI document; ValidationError if it lacks them."""
    if not isinstance(doc, Mapping) or not isinstance(doc.get("paths"), Mapping):
        raise ValidationError("openapi", "not an OpenAPI document (no 'paths')")
    paths = doc["paths"]
    out: dict[str, tuple[tuple[SchemaField, ...], tuple[SchemaField, ...]]] = {}
    submit = (paths.get(SUBMIT_PATH) or {}).get("post")
    if isinstance(submit, Mapping):
        body = _json_content(submit.get("requestBody"), doc)
        answer = _response_schema(submit.get("responses"), ("202", "200", "201"), doc)
        out[REQUEST_IMAGE] = (tuple(json_schema_to_fields(body, doc)),
                              tuple(json_schema_to_fields(answer, doc)))
    gen_path = V1_GENERATIONS_PATH if V1_GENERATIONS_PATH in paths else next(
        (p for p in paths if isinstance(p, str) and p.startswith(DEPLOYMENTS_PREFIX)
         and p.endswith(GENERATIONS_SUFFIX)), None)
    gen = (paths.get(gen_path) or {}).get("post") if gen_path else None
    if isinstance(gen, Mapping) and not isinstance(submit, Mapping):
        # the synchronous flow: Download Image reads the answer the client recorded under an id
        body = _json_content(gen.get("requestBody"), doc)
        if gen_path == V1_GENERATIONS_PATH:  # the deployment and streaming are settings
            body = {**body, "properties": {k: v for k, v in (body.get("properties") or {}).items()
                                           if k not in V1_ROUTE_FIELDS}}
        sync_answer = tuple(json_schema_to_fields(_response_schema(gen.get("responses"), ("200",), doc),
                                                  doc))
        out[REQUEST_IMAGE] = (tuple(json_schema_to_fields(body, doc)), sync_answer)
        out[DOWNLOAD_IMAGE] = (
            (SchemaField("id", "string", True,
                         "The id Request Image returned (the client recorded the answer under it)."),),
            (SchemaField("id", "string", True, "The id that was asked for."),
             SchemaField("status", "string", True, "Always succeeded."), *sync_answer))
    op_path = next((p for p in paths if isinstance(p, str) and p.startswith(OPERATION_PREFIX)), None)
    get = (paths.get(op_path) or {}).get("get") if op_path else None
    if isinstance(get, Mapping):
        request = []
        for raw_param in get.get("parameters") or ():
            param = _deref(raw_param, doc)
            if param.get("in") == "path":
                request.append(SchemaField("id", _type_of(param.get("schema") or {}), True,
                                           str(param.get("description") or "")))
        op_answer = _response_schema(get.get("responses"), ("200",), doc)
        out[DOWNLOAD_IMAGE] = (tuple(request), tuple(json_schema_to_fields(op_answer, doc)))
    if not out:
        raise ValidationError("openapi", "the document has neither the submit nor the operation path")
    return out


def _json_content(holder: Any, doc: Mapping[str, Any]) -> Mapping[str, Any]:
    holder = _deref(holder or {}, doc)
    content = holder.get("content") or {}
    for ctype, media in content.items():
        if "json" in str(ctype) and isinstance(media, Mapping):
            return _deref(media.get("schema") or {}, doc)
    return {}


def _response_schema(responses: Any, codes: tuple[str, ...], doc: Mapping[str, Any]) -> Mapping[str, Any]:
    if not isinstance(responses, Mapping):
        return {}
    for code in codes:
        if code in responses:
            return _json_content(responses[code], doc)
    return {}


__all__ = ["EDITS_PATH", "GENERATIONS_PATH", "OPENAPI_PATH", "OPERATION_PATH", "V1_ROUTE_FIELDS",
           "activity_schemas",
           "fields_to_json_schema", "json_schema_to_fields", "openapi_document"]
