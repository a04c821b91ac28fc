"""The generated OpenAPI document of api-version v1 describes the v1 routes, and a schema
refresh for v1 against the emulator reads it back."""
from __future__ import annotations

import pytest

from azimage_widgets.activities.schema_registry import SchemaRegistry, refresh_schema
from azimage_widgets.contract.openapi import activity_schemas, openapi_document
from azimage_widgets.contract.routes import V1_EDITS_PATH, V1_GENERATIONS_PATH


def test_v1_document_has_the_v1_routes_not_the_deployments_path() -> None:
    doc = openapi_document("v1")
    assert set(doc["paths"]) == {V1_GENERATIONS_PATH, V1_EDITS_PATH}
    gen = doc["paths"][V1_GENERATIONS_PATH]["post"]
    version = gen["parameters"][0]
    assert version["in"] == "query" and not version["required"]
    assert version["schema"]["enum"] == ["v1", "preview"]
    body = doc["components"]["schemas"]["ImageGenerationsRequest"]
    assert body["required"] == ["model", "prompt"]
    props = body["properties"]
    assert props["n"]["maximum"] == 10 and props["prompt"]["maxLength"] == 32000
    assert props["output_format"]["enum"] == ["png", "jpeg"]  # no webp on Azure
    assert props["partial_images"]["maximum"] == 3 and props["moderation"]["enum"] == ["low", "auto"]
    assert "enum" not in props["size"] and "WIDTHxHEIGHT" in props["size"]["description"]
    edit = doc["paths"][V1_EDITS_PATH]["post"]["requestBody"]["content"]["multipart/form-data"]
    assert edit["schema"]["properties"]["image"]["type"] == "array"
    assert "input_fidelity" in edit["schema"]["properties"]


def test_v1_document_reads_back_as_activity_schemas() -> None:
    found = activity_schemas(openapi_document("v1"))
    request = [f.name for f in found["request_image"][0]]
    assert "prompt" in request and "moderation" in request
    assert not {"model", "stream", "partial_images"} & set(request)  # settings of their own
    assert [f.name for f in found["download_image"][0]] == ["id"]


@pytest.mark.parametrize("version", ["v1"])
async def test_schema_refresh_for_v1_on_the_emulator(conn, version: str) -> None:
    reg = SchemaRegistry()
    doc = await refresh_schema(conn, "request_image", version, reg)
    assert doc.source.startswith("endpoint ")
    names = [f.name for f in doc.request]
    assert names[:3] == ["prompt", "n", "size"] and "moderation" in names
    assert reg.get("download_image", version).request[0].name == "id"
