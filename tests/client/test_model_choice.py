"""A call's ``model=`` chooses its rules (over the connection's model and the deployment's name),
on v1 and on the deployments path of 2025-04-01-preview, against the real emulator."""
from __future__ import annotations

import base64
import io
import json

import pytest
from fakes import FAKE_KEY
from PIL import Image

import azimage_widgets as aw
from azimage_widgets.client import ImageClient

DEP = "prod-images"  # names no model: the emulator maps it to gpt-image-2


@pytest.fixture
def emu_models():
    from azimage_widgets import emulator

    handle = emulator.start(api_key=FAKE_KEY, processing_time=0.1, retry_after=None,
                            deployments={DEP: "gpt-image-2", "my-gpt-image-2": None})
    try:
        yield handle
    finally:
        handle.stop()


def conn_of(emu, version="v1", deployment=DEP, **kw):
    return aw.Connection(emu.endpoint, api_key=FAKE_KEY, api_version=version,
                         deployment=deployment, **kw)


def hooked():
    seen: list = []

    async def hook(request):
        await request.aread()
        seen.append(request)
    return seen, {"request": [hook]}


def size_of(b64: str) -> tuple[int, int]:
    return Image.open(io.BytesIO(base64.b64decode(b64))).size


def png(width=64, height=64):
    buf = io.BytesIO()
    Image.new("RGB", (width, height), (30, 160, 30)).save(buf, "PNG")
    return buf.getvalue()


@pytest.mark.parametrize("version", ["v1", "2025-04-01-preview"])
async def test_the_calls_model_allows_a_custom_size_the_common_rules_refuse(emu_models, version):
    seen, hooks = hooked()
    async with ImageClient(conn_of(emu_models, version), event_hooks=hooks) as client:
        with pytest.raises(aw.ValidationError) as ei:  # the deployment's name names no model
            await client.generate("a red fox", size="1536x864")
        assert ei.value.field == "size" and "must be one of" in ei.value.limit
        assert seen == []  # refused before anything was sent
        res = await client.generate("a red fox", size="1536x864", model="gpt-image-2")
    assert [size_of(i.b64_json) for i in res.items] == [(1536, 864)]
    (req,) = seen
    body = json.loads(req.content)
    assert body["size"] == "1536x864"
    if version == "v1":  # the body's model is the deployment, never the rules' model
        assert req.url.path == "/openai/v1/images/generations" and body["model"] == DEP
    else:
        assert req.url.path == f"/openai/deployments/{DEP}/images/generations"
        assert "model" not in body


@pytest.mark.parametrize("version", ["v1", "2025-04-01-preview"])
async def test_an_unknown_model_is_refused_naming_model(emu_models, version):
    seen, hooks = hooked()
    async with ImageClient(conn_of(emu_models, version), event_hooks=hooks) as client:
        for call in (lambda: client.generate("fox", model="gpt-image-9"),
                     lambda: client.edit_image([png()], "fox", model="gpt-image-9"),
                     lambda: client.stream_image("fox", model="gpt-image-9").__anext__()):
            with pytest.raises(aw.ValidationError) as ei:
                await call()
            assert ei.value.field == "model" and "gpt-image-2" in ei.value.limit
    assert seen == []


async def test_the_calls_model_wins_over_the_connections(emu_models):
    conn = conn_of(emu_models, model="gpt-image-1-mini")
    async with ImageClient(conn) as client:
        with pytest.raises(aw.ValidationError) as ei:
            await client.generate("fox", size="1536x864")
        assert ei.value.field == "size" and "gpt-image-1-mini" in ei.value.limit
        res = await client.generate("fox", size="1536x864", model="gpt-image-2")
    assert size_of(res.items[0].b64_json) == (1536, 864)


async def test_2025_04_01_preview_follows_the_models_rules(emu_models):
    """A gpt-image-2 deployment on the deployments path: its custom sizes, its refusals."""
    seen, hooks = hooked()
    conn = conn_of(emu_models, "2025-04-01-preview", deployment="my-gpt-image-2")
    async with ImageClient(conn, event_hooks=hooks) as client:
        res = await client.generate("a lighthouse", size="1536x864", quality="low")
        with pytest.raises(aw.ValidationError) as ei:
            await client.generate("a lighthouse", size="1000x1000")
        assert ei.value.field == "size" and "edges must be multiples of 16" in str(ei.value)
        edit = await client.download_image(
            (await client.edit_image([png(), png(32, 32)], "on a beach", size="1536x864",
                                     input_fidelity="high")).id)
    assert size_of(res.items[0].b64_json) == (1536, 864)
    assert size_of(edit.items[0].b64_json) == (1536, 864)
    assert len(seen) == 2  # the refused size was never sent
    assert seen[1].content.count(b'name="image[]"') == 2


async def test_a_streamed_call_and_an_edit_take_model(emu_models):
    seen, hooks = hooked()
    async with ImageClient(conn_of(emu_models), event_hooks=hooks) as client:
        events = [e async for e in client.stream_image("fox", partial_images=1, size="1536x864",
                                                      model="gpt-image-2")]
        op = await client.edit_image([png()], "fox", size="1536x864", model="gpt-image-2",
                                     input_fidelity="high")
        edit = await client.download_image(op.id)
    assert isinstance(events[-1], aw.ImageResult)
    assert size_of(events[-1].items[0].b64_json) == (1536, 864)
    assert size_of(edit.items[0].b64_json) == (1536, 864)
    assert json.loads(seen[0].content)["model"] == DEP
    assert b'name="model"\r\n\r\n' + DEP.encode() in seen[1].content


async def test_generate_many_checks_each_prompt_by_the_calls_model(emu_models):
    async with ImageClient(conn_of(emu_models)) as client:
        out = await client.generate_many(["a fox", "a hare"], size="1536x864",
                                         model="gpt-image-2")
        refused = await client.generate_many(["a fox"], size="1536x864")
    assert [size_of(r.items[0].b64_json) for r in out] == [(1536, 864)] * 2
    assert isinstance(refused[0], aw.ValidationError) and refused[0].field == "prompts[0].size"


async def test_a_dall_e_version_keeps_its_own_rules_and_checks_the_name(emu_models):
    conn = aw.Connection(emu_models.endpoint, api_key=FAKE_KEY, api_version="2023-06-01-preview")
    async with ImageClient(conn) as client:
        with pytest.raises(aw.ValidationError) as ei:
            await client.request_image("fox", model="gpt-image-9")
        assert ei.value.field == "model"
        with pytest.raises(aw.ValidationError) as ei:  # dall-e-2's sizes, whatever the model
            await client.request_image("fox", size="1536x864", model="gpt-image-2")
        assert ei.value.field == "size"
