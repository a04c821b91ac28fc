"""The official openai SDK (v1-style ``AzureOpenAI``) against the emulator, unchanged.

The SDK builds ``{azure_endpoint}/openai/deployments/{model}/images/generations``
(``model`` moves into the path, see openai/lib/azure.py ``_build_request``),
adds ``?api-version=`` and sends the key in ``api-key``: the emulator must
answer exactly what the SDK parses. Fake keys only; the emulator speaks real
HTTP on loopback.
"""
from __future__ import annotations

import base64
import io

import pytest
from PIL import Image

openai = pytest.importorskip("openai")

from fakes import FAKE_KEY  # noqa: E402

from azimage_widgets import emulator  # noqa: E402


@pytest.fixture
def sdk_emu():
    handle = emulator.start(api_key=FAKE_KEY, processing_time=0.2, retry_after=None)
    try:
        yield handle
    finally:
        handle.stop()


def client(emu, version: str, **kw):
    return openai.AzureOpenAI(azure_endpoint=emu.endpoint, api_key=FAKE_KEY, api_version=version,
                              max_retries=0, **kw)


def api_records(emu, timeout: float = 5.0):
    """The API listener's records; the emulator notes a request just after answering it."""
    import time

    end = time.monotonic() + timeout
    while True:
        recs = [r for r in emu.requests if r.listener == "api"]
        if recs or time.monotonic() > end:
            return recs
        time.sleep(0.01)


def png_of(b64: str) -> Image.Image:
    img = Image.open(io.BytesIO(base64.b64decode(b64)))
    img.load()
    return img


def test_dalle3_generate_url(sdk_emu):
    c = client(sdk_emu, "2024-10-21")
    res = c.images.generate(model="my-dalle3", prompt="a lighthouse at dusk", quality="hd",
                            style="natural", size="1792x1024")
    assert len(res.data) == 1
    item = res.data[0]
    assert item.url and item.url.startswith(sdk_emu.images_endpoint)
    assert item.revised_prompt and "lighthouse" in item.revised_prompt
    # the wire: the deployments path with the model as deployment, api-version, the key header
    rec = api_records(sdk_emu)[-1]
    assert rec.path == "/openai/deployments/my-dalle3/images/generations"
    assert rec.status == 200 and rec.credentials
    # the link works without credentials and has the asked size
    import httpx

    img = Image.open(io.BytesIO(httpx.get(item.url).content))
    assert img.size == (1792, 1024)


def test_dalle3_generate_b64(sdk_emu):
    res = client(sdk_emu, "2024-10-21").images.generate(
        model="d3", prompt="a red fox", response_format="b64_json")
    assert png_of(res.data[0].b64_json).size == (1024, 1024)


def test_gpt_image_1_b64_and_usage(sdk_emu):
    c = client(sdk_emu, "2025-04-01-preview")
    res = c.images.generate(model="gpt-image-1", prompt="three apples", n=3, size="1024x1536",
                            quality="low", output_format="jpeg", background="opaque")
    assert len(res.data) == 3
    for item in res.data:
        assert item.url is None
        img = png_of(item.b64_json)
        assert (img.format, img.size) == ("JPEG", (1024, 1536))
    u = res.usage
    assert u is not None and u.total_tokens == u.input_tokens + u.output_tokens > 0
    assert u.input_tokens_details.text_tokens > 0


def test_gpt_image_1_transparent_png(sdk_emu):
    res = client(sdk_emu, "2025-04-01-preview").images.generate(
        model="gi", prompt="a sticker of a cat", background="transparent", output_format="png")
    img = png_of(res.data[0].b64_json)
    assert img.mode == "RGBA" and img.getpixel((0, 0))[3] == 0  # the corner is see-through


def test_gpt_image_1_edit_with_mask(sdk_emu):
    src = io.BytesIO()
    Image.new("RGBA", (80, 60), (0, 0, 255, 255)).save(src, "PNG")
    mask = Image.new("RGBA", (80, 60), (0, 0, 0, 255))
    mask.paste((0, 0, 0, 0), (0, 0, 40, 60))  # edit the left half only
    mbuf = io.BytesIO()
    mask.save(mbuf, "PNG")
    res = client(sdk_emu, "2025-04-01-preview").images.edit(
        model="gi", image=("in.png", src.getvalue(), "image/png"),
        mask=("mask.png", mbuf.getvalue(), "image/png"), prompt="paint a sun")
    out = png_of(res.data[0].b64_json)
    assert out.size == (80, 60)
    assert out.getpixel((70, 30))[:3] == (0, 0, 255)  # outside the mask: untouched
    assert out.getpixel((10, 30))[:3] != (0, 0, 255)  # inside: painted
    assert res.usage.input_tokens_details.image_tokens > 0


def test_content_filter_is_a_400_the_sdk_understands(sdk_emu):
    with pytest.raises(openai.BadRequestError) as info:
        client(sdk_emu, "2024-10-21").images.generate(model="d3", prompt="a CONTENT_FILTER cat")
    err = info.value
    assert err.status_code == 400
    assert err.code == "content_policy_violation"
    assert err.body["inner_error"]["code"] == "ResponsibleAIPolicyViolation"


def test_validation_errors_name_the_param(sdk_emu):
    with pytest.raises(openai.BadRequestError) as info:
        client(sdk_emu, "2024-10-21").images.generate(model="d3", prompt="fox", n=2)
    assert info.value.param == "n"
    with pytest.raises(openai.BadRequestError) as info:
        client(sdk_emu, "2025-04-01-preview").images.generate(model="gi", prompt="fox",
                                                              size="1792x1024")
    assert info.value.param == "size"


def test_wrong_key_is_401(sdk_emu):
    c = openai.AzureOpenAI(azure_endpoint=sdk_emu.endpoint, api_key="not-the-key",
                           api_version="2024-10-21", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        c.images.generate(model="d3", prompt="fox")


def test_bearer_token_provider(sdk_emu):
    sdk_emu.config.bearer_tokens = {"fake-entra-token"}
    c = openai.AzureOpenAI(azure_endpoint=sdk_emu.endpoint, api_version="2024-10-21",
                           azure_ad_token_provider=lambda: "fake-entra-token", max_retries=0)
    assert c.images.generate(model="d3", prompt="fox").data[0].url


def test_configured_deployments(sdk_emu):
    sdk_emu.config.deployments = {"only-this"}
    assert client(sdk_emu, "2024-10-21").images.generate(model="only-this", prompt="fox").data
    with pytest.raises(openai.NotFoundError) as info:
        client(sdk_emu, "2024-10-21").images.generate(model="other", prompt="fox")
    assert info.value.code == "DeploymentNotFound"


def test_async_client(sdk_emu):
    import asyncio

    async def run():
        c = openai.AsyncAzureOpenAI(azure_endpoint=sdk_emu.endpoint, api_key=FAKE_KEY,
                                    api_version="2025-04-01-preview", max_retries=0)
        try:
            return await c.images.generate(model="gi", prompt="a pear", n=2)
        finally:
            await c.close()

    res = asyncio.run(run())
    assert len(res.data) == 2 and all(d.b64_json for d in res.data)
