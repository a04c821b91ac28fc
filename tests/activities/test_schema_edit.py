"""Schemas: Refresh from the endpoint (shared by every panel), Edit rules, edits sent, save/discard."""
from __future__ import annotations

import json
import uuid

import httpx
import pytest

import azimage_widgets as aw
from azimage_widgets.activities import DownloadImage, RequestImage
from azimage_widgets.activities.oplog import OperationLog
from azimage_widgets.activities.schema_edit import SchemaDraft
from azimage_widgets.activities.schema_registry import (
    effective_schema,
    fetch_openapi,
    refresh_schema,
    registry,
)
from azimage_widgets.contract import ValidationError
from azimage_widgets.contract.openapi import activity_schemas, openapi_document
from azimage_widgets.contract.schemas import SchemaField, schemas_for

V = "2023-06-01-preview"


def uniq(prefix: str = "s") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture(autouse=True)
def clean_registry():
    registry().reset()
    yield
    registry().reset()


# -- the bundled document -----------------------------------------------------------------

def test_generated_openapi_reads_back_to_the_contract():
    doc = json.loads(json.dumps(openapi_document(V)))
    assert doc["openapi"].startswith("3.") and doc["info"]["version"] == V
    found = activity_schemas(doc)
    for kind in ("request_image", "download_image"):
        assert found[kind] == schemas_for(kind, V)
    with pytest.raises(ValidationError):
        activity_schemas({"paths": {}})


async def test_azure_endpoints_use_the_bundled_spec_without_a_request(monkeypatch):
    async def no_network(*a, **kw):
        raise AssertionError("no request may be sent for Azure")

    monkeypatch.setattr(httpx.AsyncClient, "send", no_network)
    conn = aw.Connection(endpoint="https://example.openai.azure.com", api_key="fake-key-1")
    doc, source = await fetch_openapi(conn, V)
    assert source == f"bundled spec {V}" and doc == openapi_document(V)


# -- edit rules (no network) -----------------------------------------------------------------

def test_draft_add_delete_rename_move_and_types():
    req = RequestImage(None, name=uniq(), namespace={})
    d = SchemaDraft.of(req)
    d.add("request", "style", "string", after="size")
    assert d.names("request") == ["prompt", "n", "size", "style", "user"]
    assert d.parts["request"][3]["required"] is False  # new fields are [0, 1]
    d.rename("request", "style", "quality")
    d.move("request", "quality", 1)
    assert d.names("request") == ["prompt", "n", "size", "user", "quality"]
    d.move("request", "quality", -4)
    assert d.names("request")[0] == "quality"
    d.delete("request", "user")
    assert "user" not in d.names("request")
    d.set_type("request", "quality", "integer")
    # nested response fields move with their parent
    d.rename("response", "id", "operation_id")
    d.add("response", "extra", "object")
    d.add("response", "extra.note", "string")
    assert d.names("response")[-2:] == ["extra", "extra.note"]
    d.rename("response", "extra", "more")
    assert d.names("response")[-2:] == ["more", "more.note"]
    d.delete("response", "more")
    assert "more.note" not in d.names("response")
    edit = d.to_edit()
    assert [f["name"] for f in edit["request"]] == ["quality", "prompt", "n", "size"]


@pytest.mark.parametrize("change, message", [
    (lambda d: d.delete("request", "prompt"), "prompt"),
    (lambda d: d.set_type("request", "n", "string"), "integer"),
    (lambda d: d.set_type("request", "prompt", "integer"), "string"),
    (lambda d: d.add("request", "bad name!", "string"), "identifiers"),
    (lambda d: d.add("request", "size", "string"), "duplicate"),
    (lambda d: d.add("request", "x", "float"), "type"),
    (lambda d: d.add("request", "obj.child", "string"), "parent"),
    (lambda d: d.rename("response", "id", "status"), "duplicate"),
    (lambda d: d.add("response", "created.part", "string"), "type object"),
])
def test_invalid_edits_are_refused_and_leave_the_draft(change, message):
    d = SchemaDraft.of(RequestImage(None, name=uniq(), namespace={}))
    before = json.dumps(d.parts)
    with pytest.raises(ValidationError, match=message):
        change(d)
    assert json.dumps(d.parts) == before


def test_download_image_request_stays_the_id():
    d = SchemaDraft.of(DownloadImage(None, name=uniq(), namespace={}))
    with pytest.raises(ValidationError, match="only the id"):
        d.add("request", "extra", "string")
    d.add("response", "note", "string")


def test_edit_is_saved_with_the_configuration_and_discard_restores_it():
    req = RequestImage(None, name=uniq(), namespace={})
    assert req.schema_edit is None and not req.dirty
    d = SchemaDraft.of(req)
    d.delete("request", "size")
    d.apply(req)
    assert req.dirty and "size" not in [f.name for f in effective_schema(req).request]
    req.save()
    assert req.saved["schema_edit"]["request"][-1]["name"] == "user"
    d2 = SchemaDraft.of(req)
    d2.add("request", "style")
    d2.apply(req)
    assert req.dirty
    req.discard()
    assert [f["name"] for f in req.schema_edit["request"]] == ["prompt", "n", "user"]
    with pytest.raises(ValidationError):
        req.schema_edit = {"request": [{"name": "n", "type": "integer", "required": False}]}


def test_editor_widget_drives_the_draft_and_apply():
    panel = aw.RequestImagePanel(name=uniq(), namespace={})
    tools = panel.schema_tools
    panel.schema.edit_button.click()
    ed = tools.editor
    assert ed is not None and ed in tools.editor_box.children
    ed.fields.value = "size"
    ed.name.value = "style"
    ed.type.value = "string"
    ed.add_button.click()
    assert "style" in [v for _l, v in ed.fields.options] and ed.error.value == ""
    ed.fields.value = "prompt"
    ed.delete_button.click()  # refused: the endpoint needs it
    assert "prompt" in ed.error.value
    ed.fields.value = "style"
    ed.up_button.click()
    assert [v for _l, v in ed.fields.options][:4] == ["prompt", "n", "style", "size"]
    ed.apply_button.click()
    assert tools.editor is None
    assert "<code>style</code>" in panel.schema.request_table.value
    assert "edited" in panel.schema.request_table.value
    assert panel.activity.dirty
    panel.frame.confirm_discard()
    assert panel.activity.schema_edit is None
    assert "<code>style</code>" not in panel.schema.request_table.value


# -- against the emulator -----------------------------------------------------------------

async def test_refresh_from_the_endpoint_updates_every_panel_sharing_the_schema(conn, emu):
    p1 = aw.RequestImagePanel(conn, name=uniq(), namespace={})
    p2 = aw.RequestImagePanel(conn, name=uniq(), namespace={})
    other = aw.DownloadImagePanel(conn, name=uniq(), namespace={})
    # make the shared schema differ from the endpoint's, as if it were stale
    stale = registry().get("request_image", V)
    registry().set(type(stale)("request_image", V, stale.request[:1], stale.response, "stale"))
    assert all("<code>size</code>" not in p.schema.request_table.value for p in (p1, p2))
    task = p1.schema_tools.refresh()
    doc = await task
    assert [f.name for f in doc.request] == ["prompt", "n", "size", "user"]
    for p in (p1, p2):
        assert "<code>size</code>" in p.schema.request_table.value
        assert [f.name for f in p.schema.request_fields] == ["prompt", "n", "size", "user"]
    assert "Refreshed from" in p1.schema_tools.status.value
    assert "result.data[].url" in other.schema.response_table.value
    expected = "endpoint" if emu_serves_openapi(emu) else "bundled"
    assert doc.source.startswith(expected)


def emu_serves_openapi(emu) -> bool:
    resp = httpx.get(f"{emu.endpoint}/openapi.json", params={"api-version": V},
                     headers={"api-key": emu.api_key})
    return resp.status_code == 200


async def test_refresh_reads_the_endpoints_document(conn, emu, monkeypatch):
    if not emu_serves_openapi(emu):
        pytest.skip("this emulator serves no /openapi.json yet")
    import azimage_widgets.emulator.openapi as emu_openapi

    real = emu_openapi.document

    def with_extra(api_version, server=None):
        doc = real(api_version, server)
        doc["components"]["schemas"]["ImageGenerationsRequest"]["properties"]["quality"] = {
            "type": "string", "description": "served by the endpoint"}
        return doc

    monkeypatch.setattr(emu_openapi, "document", with_extra)
    doc = await refresh_schema(conn, "request_image", V)
    assert doc.request[-1] == SchemaField("quality", "string", False, "served by the endpoint")


async def _submitted_bodies(monkeypatch) -> list[dict]:
    bodies: list[dict] = []
    real_send = httpx.AsyncClient.send

    async def spy(self, request, *a, **kw):
        if request.method == "POST" and request.url.path.endswith(":submit"):
            bodies.append(json.loads(request.content))
        return await real_send(self, request, *a, **kw)

    monkeypatch.setattr(httpx.AsyncClient, "send", spy)
    return bodies


async def test_edited_request_fields_are_sent_and_removed_ones_are_not(conn, monkeypatch):
    bodies = await _submitted_bodies(monkeypatch)
    req = RequestImage(conn, name=uniq(), prompt="cfg", size="256x256", n=2, namespace={},
                       continue_on_error=True)
    # the contract's schema: user is a request field, sent when a dataset gives it
    await req.run([{"prompt": "with user", "user": "student-7"}], log=OperationLog())
    assert bodies[-1] == {"prompt": "with user", "n": 2, "size": "256x256", "user": "student-7"}
    d = SchemaDraft.of(req)
    d.delete("request", "user")
    d.delete("request", "size")
    d.add("request", "style", "string")
    d.apply(req)
    log = OperationLog()
    results = await req.run([{"prompt": "edited", "style": "watercolour"},
                             {"prompt": "with user", "user": "student-7"},
                             {"prompt": "bad type", "style": 3}], log=log)
    sent = bodies[-1]
    assert sent == {"prompt": "edited", "n": 2, "style": "watercolour"}  # no size, no user
    assert results[0].images[0].size == (1024, 1024)  # the service's default size
    assert isinstance(results[1], ValidationError) and results[1].field == "user"
    assert isinstance(results[2], ValidationError) and results[2].field == "style"
    assert len(bodies) == 2  # refused datasets were never sent
    assert sorted(e.dataset for e in log.errors()) == [1, 2]


async def test_schema_document_is_asked_only_of_loopback_endpoints(conn):
    from azimage_widgets.client.schema_fetch import fetch_schema_document

    sent: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json={"openapi": "3.0.0"})

    for endpoint in ("https://127.example.com", "https://localhost.example.com",
                     "https://res.openai.azure.com"):
        lookalike = aw.Connection(endpoint, api_key="fake-key")
        assert await fetch_schema_document(lookalike, V, transport=httpx.MockTransport(record)) is None
    assert sent == []
    doc = await fetch_schema_document(conn, V)  # the emulator, over real HTTP on loopback
    assert isinstance(doc, dict) and "request_image" in activity_schemas(doc)
