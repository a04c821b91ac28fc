"""The newest official openai SDK against the emulator, unchanged: the v1 API and today's models.

``OpenAI(base_url=<emulator>/openai/v1/, api_key=key)`` is how Microsoft
documents key-based v1 use: the SDK posts to ``/openai/v1/images/...`` with the
deployment as ``model`` in the body and the key as ``Authorization: Bearer``.
``AzureOpenAI(azure_endpoint=..., api_version="2025-04-01-preview")`` moves
``model`` into the deployments path and sends ``api-key``. Fake keys only; the
emulator speaks real HTTP on loopback.
"""
from __future__ import annotations

import base64
import io
import time

import pytest
from PIL import Image

openai = pytest.importorskip("openai")

from fakes import FAKE_KEY  # noqa: E402

from azimage_widgets import emulator  # noqa: E402


@pytest.fixture
def sdk_emu():
    handle = emulator.start(api_key=FAKE_KEY, processing_time=0.0, retry_after=None,
                            deployments={"my-gpt-image-2": None, "prod": "gpt-image-2",
                                         "cheap": "gpt-image-1-mini"})
    try:
        yield handle
    finally:
        handle.stop()


def v1_client(emu, **kw):
    return openai.OpenAI(base_url=emu.endpoint + "/openai/v1/", api_key=FAKE_KEY, max_retries=0,
                         **kw)


def azure_client(emu):
    return openai.AzureOpenAI(azure_endpoint=emu.endpoint, api_key=FAKE_KEY,
                              api_version="2025-04-01-preview", max_retries=0)


def decode(b64: str) -> Image.Image:
    img = Image.open(io.BytesIO(base64.b64decode(b64)))
    img.load()
    return img


def png(colour=(0, 0, 255, 255), w: int = 64, h: int = 48) -> bytes:
    buf = io.BytesIO()
    Image.new("RGBA", (w, h), colour).save(buf, "PNG")
    return buf.getvalue()


def last_api_record(emu, timeout: float = 5.0):
    end = time.monotonic() + timeout
    while True:
        recs = [r for r in emu.requests if r.listener == "api"]
        if recs or time.monotonic() > end:
            return recs[-1]
        time.sleep(0.01)


def test_sdk_version_is_the_newest_installed():
    major = int(openai.__version__.split(".")[0])
    assert major >= 2, openai.__version__  # the v1-style SDK with image streaming


def test_v1_generate(sdk_emu):
    res = v1_client(sdk_emu).images.generate(model="prod", prompt="a red fox", size="1536x864",
                                             n=2, quality="low", output_format="jpeg")
    assert [decode(d.b64_json).size for d in res.data] == [(1536, 864)] * 2
    assert decode(res.data[0].b64_json).format == "JPEG"
    assert (res.size, res.quality, res.output_format) == ("1536x864", "low", "jpeg")
    assert res.usage.total_tokens == res.usage.input_tokens + res.usage.output_tokens
    rec = last_api_record(sdk_emu)
    assert rec.path == "/openai/v1/images/generations" and rec.status == 200 and rec.credentials


def test_v1_stream_partials_before_completed(sdk_emu):
    sdk_emu.config.processing_time = 0.9
    stream = v1_client(sdk_emu).images.generate(model="my-gpt-image-2", prompt="a red fox",
                                                stream=True, partial_images=2, quality="low")
    seen = []
    for event in stream:
        done = [e for e in sdk_emu.stream_events if e.type.endswith(".completed")]
        seen.append((event.type, getattr(event, "partial_image_index", None), len(done)))
        if event.type == "image_generation.completed":
            assert event.usage.total_tokens > 0 and decode(event.b64_json).size == (1024, 1024)
    assert [(t, i) for t, i, _ in seen] == [("image_generation.partial_image", 0),
                                            ("image_generation.partial_image", 1),
                                            ("image_generation.completed", None)]
    assert [d for _, _, d in seen[:2]] == [0, 0]  # partials arrive before completed is sent


async def test_v1_stream_async_client(sdk_emu):
    client = openai.AsyncOpenAI(base_url=sdk_emu.endpoint + "/openai/v1/", api_key=FAKE_KEY,
                                max_retries=0)
    async with client:
        stream = await client.images.generate(model="cheap", prompt="p", stream=True,
                                              partial_images=1)
        types = [event.type async for event in stream]
    assert types == ["image_generation.partial_image", "image_generation.completed"]


def test_v1_edit_several_images_mask_fidelity(sdk_emu):
    mask = Image.new("RGBA", (64, 48), (0, 0, 0, 255))
    mask.paste((0, 0, 0, 0), (0, 0, 32, 48))
    buf = io.BytesIO()
    mask.save(buf, "PNG")
    client = v1_client(sdk_emu)
    res = client.images.edit(model="prod", image=[("a.png", png(), "image/png"),
                                                  ("b.png", png((255, 0, 0, 255)), "image/png")],
                             mask=("m.png", buf.getvalue(), "image/png"), prompt="on a beach",
                             input_fidelity="high")
    out = decode(res.data[0].b64_json).convert("RGB")
    assert out.size == (64, 48) and out.getpixel((60, 24)) == (0, 0, 255)
    assert out.getpixel((8, 24)) != (0, 0, 255)
    assert last_api_record(sdk_emu).path == "/openai/v1/images/edits"
    events = list(client.images.edit(model="prod", image=[("a.png", png(), "image/png")],
                                     prompt="p", stream=True, partial_images=1))
    assert [e.type for e in events] == ["image_edit.partial_image", "image_edit.completed"]
    with pytest.raises(openai.BadRequestError) as ei:
        client.images.edit(model="cheap", image=[("a.png", png(), "image/png")], prompt="p",
                           input_fidelity="high")
    assert ei.value.status_code == 400 and ei.value.body["param"] == "input_fidelity"


def test_v1_errors_surface_as_sdk_errors(sdk_emu):
    client = v1_client(sdk_emu)
    with pytest.raises(openai.BadRequestError) as ei:
        client.images.generate(model="prod", prompt="p", size="1000x1000")
    assert ei.value.body["param"] == "size" and "multiples of 16" in ei.value.body["message"]
    with pytest.raises(openai.NotFoundError):
        client.images.generate(model="unknown-deployment", prompt="p")
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=sdk_emu.endpoint + "/openai/v1/", api_key="wrong",
                      max_retries=0).images.generate(model="prod", prompt="p")
    sdk_emu.config.images_per_minute = 1
    client.images.generate(model="prod", prompt="p")
    with pytest.raises(openai.RateLimitError) as ri:
        client.images.generate(model="prod", prompt="p")
    assert int(ri.value.response.headers["retry-after"]) >= 1


def test_azure_client_deployments_path_gpt_image_2(sdk_emu):
    client = azure_client(sdk_emu)
    res = client.images.generate(model="my-gpt-image-2", prompt="a fox", size="1536x864",
                                 quality="medium")
    assert decode(res.data[0].b64_json).size == (1536, 864) and res.quality == "medium"
    rec = last_api_record(sdk_emu)
    assert rec.path == "/openai/deployments/my-gpt-image-2/images/generations"
    types = [e.type for e in client.images.generate(model="my-gpt-image-2", prompt="a fox",
                                                    stream=True, partial_images=2)]
    assert types == ["image_generation.partial_image"] * 2 + ["image_generation.completed"]
    res = client.images.edit(model="my-gpt-image-2", image=[("a.png", png(), "image/png"),
                                                            ("b.png", png(), "image/png")],
                             prompt="p", input_fidelity="low")
    assert decode(res.data[0].b64_json).size == (64, 48)
    assert last_api_record(sdk_emu).path == "/openai/deployments/my-gpt-image-2/images/edits"
