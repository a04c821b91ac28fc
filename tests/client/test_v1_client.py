"""The client on the v1 API and today's models, against the real emulator."""
from __future__ import annotations

import base64
import io
import json

import pytest
from fakes import FAKE_KEY
from PIL import Image

import azimage_widgets as aw
from azimage_widgets.client import ImageClient

DEP = "my-gpt-image-2"


@pytest.fixture
def emu_v1():
    from azimage_widgets import emulator

    handle = emulator.start(api_key=FAKE_KEY, processing_time=0.2, retry_after=None)
    try:
        yield handle
    finally:
        handle.stop()


def v1_conn(emu, **kw):
    kw.setdefault("deployment", DEP)
    kw.setdefault("api_version", "v1")
    return aw.Connection(endpoint=emu.endpoint, api_key=emu.api_key, **kw)


def png(width=64, height=64, mode="RGB", color=(200, 30, 30)):
    buf = io.BytesIO()
    Image.new(mode, (width, height), color).save(buf, "PNG")
    return buf.getvalue()


def sent_requests():
    seen: list = []

    async def hook(request):
        await request.aread()  # a multipart body is re-readable
        seen.append(request)
    return seen, {"request": [hook]}


def size_of(b64: str) -> tuple[int, int]:
    return Image.open(io.BytesIO(base64.b64decode(b64))).size


async def test_generate_on_v1_files_the_answer_under_an_id(emu_v1):
    seen, hooks = sent_requests()
    async with ImageClient(v1_conn(emu_v1, model="gpt-image-2"), event_hooks=hooks) as client:
        res = await client.generate("a red fox", size="1536x864", n=2, quality="low")
        same = await client.download_image(res.id)
    assert res.succeeded and len(res.items) == 2 and same == res
    assert [size_of(i.b64_json) for i in res.items] == [(1536, 864)] * 2
    assert res.usage and res.usage.get("total_tokens", 0) > 0
    (req,) = seen
    assert req.url.path == "/openai/v1/images/generations"
    assert req.url.params["api-version"] == "preview"
    body = json.loads(req.content)
    assert body["model"] == DEP and body["size"] == "1536x864" and body["quality"] == "low"
    assert req.headers["api-key"] == FAKE_KEY


async def test_model_rules_refuse_before_anything_is_sent(emu_v1):
    seen, hooks = sent_requests()
    async with ImageClient(v1_conn(emu_v1), event_hooks=hooks) as client:
        with pytest.raises(aw.ValidationError) as ei:
            await client.generate("a red fox", size="1000x1000")
        assert ei.value.field == "size" and "edges must be multiples of 16" in str(ei.value)
        with pytest.raises(aw.ValidationError) as ei:
            await client.generate("a red fox", output_format="webp")
        assert ei.value.field == "output_format"
    # a deployment whose name names no model gets the common rules: presets only
    async with ImageClient(v1_conn(emu_v1, deployment="images-prod"), event_hooks=hooks) as client:
        with pytest.raises(aw.ValidationError) as ei:
            await client.generate("a red fox", size="1536x864")
        assert ei.value.field == "size"
    assert seen == []


async def test_v1_with_an_entra_token(emu_v1):
    emu_v1.config.bearer_tokens = {"fake-entra-token"}
    conn = aw.Connection(emu_v1.endpoint + "/openai/v1/", token_provider=lambda: "fake-entra-token",
                         deployment="team-gpt-image-1-mini")
    seen, hooks = sent_requests()
    async with ImageClient(conn, event_hooks=hooks) as client:
        res = await client.generate("a lighthouse", size="1024x1024")
    assert res.succeeded and conn.api_version == "v1"
    assert seen[0].headers["authorization"] == "Bearer fake-entra-token"
    assert "api-key" not in seen[0].headers
    assert seen[0].url.path == "/openai/v1/images/generations"  # no doubled /openai/v1


@pytest.mark.parametrize("version", ["v1", "2025-04-01-preview"])
async def test_edit_several_images_with_mask_and_fidelity(emu_v1, version):
    seen, hooks = sent_requests()
    a, b = png(256, 256), png(128, 128, color=(20, 20, 220))
    mask = png(256, 256, mode="RGBA", color=(0, 0, 0, 0))
    async with ImageClient(v1_conn(emu_v1, api_version=version), event_hooks=hooks) as client:
        op = await client.edit_image([a, b], "put them on a beach", mask=mask,
                                     input_fidelity="high")
        res = await client.download_image(op.id)
    assert res.succeeded and len(res.items) == 1
    (req,) = seen
    body = req.content
    assert body.count(b'name="image[]"') == 2 and b'name="mask"' in body
    assert b'name="input_fidelity"\r\n\r\nhigh' in body
    if version == "v1":
        assert req.url.path == "/openai/v1/images/edits" and b'name="model"\r\n\r\n' + DEP.encode() in body
    else:
        assert req.url.path == f"/openai/deployments/{DEP}/images/edits"
        assert req.url.params["api-version"] == "2025-04-01-preview"


async def test_input_fidelity_refused_for_mini_before_sending(emu_v1):
    seen, hooks = sent_requests()
    async with ImageClient(v1_conn(emu_v1, deployment="my-gpt-image-1-mini"),
                           event_hooks=hooks) as client:
        with pytest.raises(aw.ValidationError) as ei:
            await client.edit_image([png()], "beach", input_fidelity="high")
    assert ei.value.field == "input_fidelity" and seen == []


async def test_not_found_on_a_retired_model_says_so(emu_v1):
    emu_v1.config.deployments = {"my-gpt-image-2": None}
    conn = v1_conn(emu_v1, deployment="old-gpt-image-1", max_retries=0)
    async with ImageClient(conn) as client:
        with pytest.raises(aw.ApiError) as ei:
            await client.generate("a fox", size="1024x1024")
    err = ei.value
    assert err.status_code == 404 and err.code == "DeploymentNotFound"
    assert "gpt-image-1 was retired on Azure on 2026-10-23" in str(err)
    assert "use gpt-image-2 instead" in str(err) and FAKE_KEY not in str(err)


async def test_not_found_on_a_current_model_has_no_note(emu_v1):
    emu_v1.config.deployments = {"something-else": "gpt-image-2"}
    async with ImageClient(v1_conn(emu_v1, max_retries=0)) as client:
        with pytest.raises(aw.ApiError) as ei:
            await client.generate("a fox", size="1024x1024")
    assert ei.value.status_code == 404 and "retired" not in str(ei.value)
