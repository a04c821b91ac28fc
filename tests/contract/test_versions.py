"""Versions 2024-10-21 (dall-e-3) and 2025-04-01-preview (gpt-image-1): contract, client,
emulator over real HTTP, activities and panels. Fake keys only.
"""
from __future__ import annotations

import base64
import io
import json
import sys
import time
import types

import httpx
import pytest
from fakes import FAKE_KEY
from PIL import Image

import azimage_widgets as aw
from azimage_widgets.client import Connection, ImageClient
from azimage_widgets.client.pacing import forget_paces
from azimage_widgets.contract import (
    API_VERSIONS,
    DEFAULT_API_VERSION,
    LEGACY_API_VERSION,
    ImageRequest,
    ValidationError,
    version_spec,
)
from azimage_widgets.contract.edits import ImageEditRequest

D3 = "2024-10-21"
GI = "2025-04-01-preview"


def png(w: int = 64, h: int = 48, colour=(0, 0, 255, 255)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGBA", (w, h), colour).save(buf, "PNG")
    return buf.getvalue()


def decode(b64: str) -> Image.Image:
    img = Image.open(io.BytesIO(base64.b64decode(b64)))
    img.load()
    return img


def sync_conn(emu, version: str, deployment: str | None = "dep") -> Connection:
    return Connection(emu.endpoint, api_key=FAKE_KEY, api_version=version, deployment=deployment,
                      max_retries=0)


def recording(conn: Connection) -> tuple[ImageClient, list[httpx.Request]]:
    sent: list[httpx.Request] = []

    async def hook(request: httpx.Request) -> None:
        sent.append(request)

    return ImageClient(conn, event_hooks={"request": [hook]}), sent


# -- contract ---------------------------------------------------------------------------------

def test_versions_and_default():
    assert DEFAULT_API_VERSION == LEGACY_API_VERSION == API_VERSIONS[0]
    assert set(API_VERSIONS) == {LEGACY_API_VERSION, D3, GI, "v1"}
    d3, gi = version_spec(D3), version_spec(GI)
    assert (d3.flow, d3.model, d3.n_max, d3.prompt_max) == ("sync", "dall-e-3", 1, 4000)
    assert d3.sizes == ("1024x1024", "1792x1024", "1024x1792")
    assert d3.choices("quality") == ("standard", "hd") and d3.choices("style") == ("vivid", "natural")
    assert set(d3.choices("response_format")) == {"url", "b64_json"}
    assert (gi.flow, gi.model, gi.n_max, gi.prompt_max) == ("sync", "gpt-image-1", 10, 32000)
    assert gi.sizes == ("auto", "1024x1024", "1024x1536", "1536x1024")
    assert set(gi.choices("quality")) == {"low", "medium", "high", "auto"}
    assert gi.choices("output_format") == ("png", "jpeg")
    assert set(gi.choices("background")) == {"transparent", "opaque", "auto"}
    assert gi.edits and gi.usage and not d3.edits and d3.revised_prompt
    assert version_spec(LEGACY_API_VERSION).flow == "async"


@pytest.mark.parametrize("version,kw,field,limit", [
    (D3, {"n": 2}, "n", "must be 1"),
    (D3, {"size": "512x512"}, "size", "1792x1024"),
    (D3, {"prompt": "x" * 4001}, "prompt", "at most 4000"),
    (D3, {"quality": "high"}, "quality", "standard, hd"),
    (D3, {"style": "anime"}, "style", "vivid, natural"),
    (D3, {"background": "opaque"}, "background", "not a setting of api-version 2024-10-21"),
    (GI, {"n": 11}, "n", "from 1 to 10"),
    (GI, {"size": "1792x1024"}, "size", "auto, 1024x1024"),
    (GI, {"prompt": "x" * 32001}, "prompt", "at most 32000"),
    (GI, {"style": "vivid"}, "style", "not a setting"),
    (GI, {"output_format": "webp"}, "output_format", "png, jpeg"),
    (GI, {"output_compression": 101}, "output_compression", "0 to 100"),
    (GI, {"response_format": "url"}, "response_format", "b64_json"),
    (LEGACY_API_VERSION, {"quality": "hd"}, "quality", "not a setting"),
])
def test_validation_names_field_and_limit(version, kw, field, limit):
    args = {"prompt": "a fox", **kw}
    with pytest.raises(ValidationError) as ei:
        ImageRequest(api_version=version, **args)
    assert ei.value.field == field and limit in str(ei.value)


def test_limits_accepted_at_the_edge():
    ImageRequest("x" * 4000, api_version=D3, size="1024x1792", quality="hd", style="natural")
    ImageRequest("x" * 32000, api_version=GI, n=10, size="auto", output_compression=0)
    with pytest.raises(ValidationError) as ei:
        ImageEditRequest(images=(png(),), prompt="p", api_version=D3)
    assert ei.value.field == "api_version"
    with pytest.raises(ValidationError) as ei:
        ImageEditRequest(images=(b"GIF89a...",), prompt="p")
    assert ei.value.field == "image"
    with pytest.raises(ValidationError) as ei:
        ImageEditRequest(images=(png(),), prompt="p", mask=b"\xff\xd8\xff jpeg")
    assert ei.value.field == "mask"


def test_deployment_from_env():
    env = {"AZURE_OPENAI_ENDPOINT": "https://res.openai.azure.com", "AZURE_OPENAI_API_KEY": "k",
           "AZURE_OPENAI_API_VERSION": D3, "AZURE_OPENAI_DEPLOYMENT": "my-dalle3"}
    c = aw.Connection.from_env(env)
    assert (c.deployment, c.api_version) == ("my-dalle3", D3)


async def test_sync_version_needs_a_deployment(emu):
    async with ImageClient(sync_conn(emu, D3, deployment=None)) as client:
        with pytest.raises(ValidationError) as ei:
            await client.request_image("a fox")
    assert ei.value.field == "deployment" and "AZURE_OPENAI_DEPLOYMENT" in str(ei.value)
    assert not [r for r in emu.requests if r.listener == "api"]  # nothing was sent


# -- client and emulator over HTTP -----------------------------------------------------------------

async def test_dalle3_request_then_download_by_id(emu):
    client, sent = recording(sync_conn(emu, D3, "dalle3"))
    async with client:
        op = await client.request_image("a red fox", size="1792x1024", quality="hd", style="natural")
        assert op.status == "succeeded" and op.id.startswith("sync-")
        req = sent[-1]
        assert req.url.path == "/openai/deployments/dalle3/images/generations"
        assert req.url.params["api-version"] == D3 and req.headers["api-key"] == FAKE_KEY
        assert json.loads(req.content) == {"prompt": "a red fox", "n": 1, "size": "1792x1024",
                                           "quality": "hd", "style": "natural"}
        res = await client.download_image(op.id)  # by id, as for the asynchronous flow
        assert res.succeeded and res.id == op.id and len(res.urls) == 1
        assert res.items[0].revised_prompt and "red fox" in res.items[0].revised_prompt.lower()
        assert res.expires == res.created + 24 * 3600
        seen = []
        assert (await client.download_image(op.id, on_status=seen.append)).id == op.id
        assert [r.status for r in seen] == ["succeeded"]
        data = await client.fetch_image(res.urls[0])
        assert Image.open(io.BytesIO(data)).size == (1792, 1024)
        assert (await client.get_operation(op)).id == op.id
        assert client.request_of(op.id)["quality"] == "hd"
        await client.delete_operation(op.id)  # forgets the record; no request is sent
        n_sent = len(sent)
        with pytest.raises(aw.ApiError):
            await client.get_operation(op.id)  # unknown now: asked as an operation, 404
        assert len(sent) == n_sent + 1
    assert not any(k.lower() == "api-key" for r in sent if r.url.port != httpx.URL(emu.endpoint).port
                   for k in r.headers)


async def test_dalle3_b64(emu):
    async with ImageClient(sync_conn(emu, D3)) as client:
        res = await client.generate("a fox", response_format="b64_json", size="1024x1792")
    assert res.urls == [] and decode(res.items[0].b64_json).size == (1024, 1792)


async def test_gpt_image_1_many_b64_usage(emu):
    client, sent = recording(sync_conn(emu, GI, "gi"))
    async with client:
        op = await client.request_image("three pears", n=3, size="1536x1024", quality="high",
                                        output_format="jpeg", background="opaque",
                                        output_compression=60)
        res = await client.download_image(op.id)
    body = json.loads(sent[-1].content)
    assert body == {"prompt": "three pears", "n": 3, "size": "1536x1024", "quality": "high",
                    "output_format": "jpeg", "background": "opaque", "output_compression": 60}
    assert len(res.items) == 3 and all(i.url is None for i in res.items)
    imgs = [decode(i.b64_json) for i in res.items]
    assert {(im.format, im.size) for im in imgs} == {("JPEG", (1536, 1024))}
    assert len({i.b64_json for i in res.items}) == 3  # three different pictures
    u = res.usage
    assert u["total_tokens"] == u["input_tokens"] + u["output_tokens"] and u["output_tokens"] > 0


async def test_gpt_image_1_auto_size_and_transparent(emu):
    async with ImageClient(sync_conn(emu, GI)) as client:
        res = await client.generate("a sticker", background="transparent")
    img = decode(res.items[0].b64_json)
    assert img.format == "PNG" and img.size == (1024, 1024) and img.getpixel((0, 0))[3] == 0


async def test_edit_image_with_mask(emu):
    mask = Image.new("RGBA", (64, 48), (0, 0, 0, 255))
    mask.paste((0, 0, 0, 0), (0, 0, 32, 48))
    buf = io.BytesIO()
    mask.save(buf, "PNG")
    client, sent = recording(sync_conn(emu, GI, "gi"))
    async with client:
        op = await client.edit_image(png(), "paint a sun", mask=buf.getvalue(), n=2, quality="low")
        res = await client.download_image(op.id)
        req = sent[-1]
        assert req.url.path == "/openai/deployments/gi/images/edits"
        assert req.headers["content-type"].startswith("multipart/form-data")
        out = decode(res.items[0].b64_json)
        assert out.size == (64, 48) and len(res.items) == 2
        assert out.getpixel((60, 20))[:3] == (0, 0, 255)  # outside the mask: kept
        assert out.getpixel((5, 20))[:3] != (0, 0, 255)  # inside: painted
        assert res.usage["input_tokens_details"]["image_tokens"] > 0
        # several images, no mask
        op = await client.edit_image([png(), png(colour=(255, 0, 0, 255))], "blend")
        assert (await client.download_image(op.id)).items[0].b64_json
        # the emulator checks what the client cannot without decoding: the mask's size
        with pytest.raises(aw.ApiError) as ei:
            await client.edit_image(png(), "p", mask=png(10, 10))
        assert ei.value.status_code == 400 and ei.value.code == "invalid_image"
        with pytest.raises(ValidationError) as vi:
            await client.edit_image(png(), "p", api_version=D3)
        assert vi.value.field == "api_version"


async def test_content_filter_sync(emu):
    async with ImageClient(sync_conn(emu, D3)) as client:
        with pytest.raises(aw.ContentFilterError) as ei:
            await client.request_image("a CONTENT_FILTER thing")
    assert ei.value.status_code == 400 and ei.value.code == "content_policy_violation"
    r = httpx.post(f"{emu.endpoint}/openai/deployments/x/images/generations",
                   params={"api-version": GI}, headers={"api-key": FAKE_KEY},
                   json={"prompt": "content_filter please"})
    err = r.json()["error"]
    assert r.status_code == 400 and err["code"] == "content_policy_violation"
    assert err["type"] == "invalid_request_error"
    assert err["inner_error"]["code"] == "ResponsibleAIPolicyViolation"
    assert err["inner_error"]["content_filter_results"]["violence"]["filtered"] is True


@pytest.mark.parametrize("version,body,param", [
    (D3, {"prompt": "p", "n": 2}, "n"),
    (D3, {"prompt": "p", "size": "256x256"}, "size"),
    (D3, {"prompt": "x" * 4001}, "prompt"),
    (D3, {"prompt": "p", "quality": "low"}, "quality"),
    (D3, {"prompt": "p", "style": None}, "style"),
    (D3, {"n": 1}, "prompt"),
    (GI, {"prompt": "p", "n": 11}, "n"),
    (GI, {"prompt": "p", "output_format": "gif"}, "output_format"),
    (GI, {"prompt": "p", "background": ["auto"]}, "background"),
    (GI, {"prompt": ""}, "prompt"),
])
def test_emulator_validation_400_names_param(emu, version, body, param):
    r = httpx.post(f"{emu.endpoint}/openai/deployments/d/images/generations",
                   params={"api-version": version}, headers={"api-key": FAKE_KEY}, json=body)
    assert r.status_code == 400, r.text
    err = r.json()["error"]
    assert err["param"] == param and err["type"] == "invalid_request_error" and err["message"]


def test_blank_prompt_accepted_by_emulator_refused_by_client(emu):
    """The spec sets only minLength 1; the client refuses blank prompts before sending."""
    r = httpx.post(f"{emu.endpoint}/openai/deployments/d/images/generations",
                   params={"api-version": D3}, headers={"api-key": FAKE_KEY}, json={"prompt": " \t"})
    assert r.status_code == 200 and len(r.json()["data"]) == 1
    with pytest.raises(ValidationError) as ei:
        ImageRequest(" \t", api_version=D3)
    assert ei.value.field == "prompt"


def test_emulator_routes_by_version(emu):
    h = {"api-key": FAKE_KEY}
    # a synchronous version has no submit route; the seeds' version no deployments route
    r = httpx.post(f"{emu.endpoint}/openai/images/generations:submit", params={"api-version": D3},
                   headers=h, json={"prompt": "p"})
    assert r.status_code == 404
    r = httpx.post(f"{emu.endpoint}/openai/deployments/d/images/generations",
                   params={"api-version": LEGACY_API_VERSION}, headers=h, json={"prompt": "p"})
    assert r.status_code == 404
    r = httpx.post(f"{emu.endpoint}/openai/deployments/d/images/edits", params={"api-version": D3},
                   headers=h, files={"image": ("a.png", png(), "image/png")}, data={"prompt": "p"})
    assert r.status_code == 404  # dall-e-3 has no edits
    r = httpx.post(f"{emu.endpoint}/openai/deployments/d/images/generations",
                   params={"api-version": D3}, json={"prompt": "p"})
    assert r.status_code == 401
    r = httpx.get(f"{emu.endpoint}/openai/deployments/d/images/generations",
                  params={"api-version": D3}, headers=h)
    assert r.status_code == 405 and r.headers["allow"] == "POST"
    r = httpx.post(f"{emu.endpoint}/openai/deployments/d/images/edits", params={"api-version": GI},
                   headers=h, json={"prompt": "p"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_payload"


async def test_configured_deployments(emu):
    emu.config.update(deployments={"prod-dalle3"})
    async with ImageClient(sync_conn(emu, D3, "prod-dalle3")) as client:
        assert (await client.generate("ok")).succeeded
        with pytest.raises(aw.ApiError) as ei:
            await client.request_image("no", deployment="other")
    assert ei.value.status_code == 404 and ei.value.code == "DeploymentNotFound"


async def test_fault_knobs_apply_to_sync_routes(emu):
    async with ImageClient(sync_conn(emu, D3)) as client:
        emu.config.latency = 0.3
        t0 = time.monotonic()
        await client.request_image("slow")
        assert time.monotonic() - t0 >= 0.3  # a lower bound only
        emu.config.update(latency=0.0, rpm_limit=1)
        await client.request_image("the one of this minute")
        with pytest.raises(aw.ThrottledError) as ei:
            await client.request_image("too many")
        assert ei.value.status_code == 429 and ei.value.retry_after and ei.value.retry_after >= 1
        # the quota is lifted: drop the pause the client's pace took from that 429
        forget_paces()
        emu.config.update(rpm_limit=None, failure_rate=1.0, failure_statuses=(503,))
        with pytest.raises(aw.ApiError) as ei:
            await client.request_image("unlucky")
        assert ei.value.status_code == 503
        emu.config.update(failure_rate=0.0)
        assert (await client.request_image("fine again")).status == "succeeded"


async def test_openapi_of_sync_versions_served(emu):
    from azimage_widgets.contract.openapi import activity_schemas

    r = httpx.get(f"{emu.endpoint}/openapi.json", params={"api-version": GI},
                  headers={"api-key": FAKE_KEY})
    found = activity_schemas(r.json())
    names = [f.name for f in found["request_image"][0]]
    assert {"quality", "output_format", "background"} <= set(names) and "style" not in names
    assert "usage" in [f.name for f in found["request_image"][1]]


# -- activities and panels ---------------------------------------------------------------------

async def test_request_then_download_activities_by_id(emu):
    conn = sync_conn(emu, GI, "gi")
    ns: dict = {}
    req = aw.RequestImage(conn, name="v-req", api_version=GI, prompt="a pear", n=2,
                          quality="low", output="ops", namespace=ns)
    ops = await req.generate(follow=True)
    assert req.status == "succeeded" and len(req.results[0].images) == 2
    dl = aw.DownloadImage(conn, name="v-dl", api_version=GI, image_id=ops.ids[0], namespace=ns)
    res = await dl.download()
    assert dl.status == "succeeded" and [im.size for im in res.images] == [(1024, 1024)] * 2
    dl2 = aw.DownloadImage(conn, name="v-dl2", api_version=GI, image_id="[ops][0]", namespace=ns)
    assert len((await dl2.download()).images) == 2


async def test_dalle3_activity_url_images(emu):
    conn = sync_conn(emu, D3)
    req = aw.RequestImage(conn, name="v-d3", api_version=D3, prompt="a lake", size="1024x1792",
                          style="natural")
    await req.generate(follow=True)
    assert req.results[0].images[0].size == (1024, 1792)


def test_activity_settings_follow_the_version():
    a = aw.RequestImage(None, name="v-follow", prompt="p", size="512x512", n=4)
    a.api_version = D3
    assert (a.size, a.n) == ("1024x1024", 1)
    a.quality, a.style = "hd", "vivid"
    a.api_version = GI
    assert (a.size, a.quality, a.style) == ("1024x1024", None, None)
    with pytest.raises(ValidationError) as ei:
        a.quality = "hd"
    assert ei.value.field == "quality"
    with pytest.raises(ValidationError):
        a.n = 11
    a.n = 10


def test_panel_fields_follow_the_version():
    p = aw.RequestImagePanel(name="v-panel", prompt="p", namespace={})
    vf = p.version_fields
    version = p.fields["api_version"].input
    assert (tuple(p.size_input.options), p.n_input.max, p.prompt_input.max_chars, vf.visible()) == (
        version_spec(LEGACY_API_VERSION).sizes, 5, 1000, [])
    version.value = D3
    assert tuple(p.size_input.options) == version_spec(D3).sizes
    assert (p.n_input.max, p.prompt_input.max_chars) == (1, 4000)
    assert vf.visible() == ["quality", "style", "response_format"]
    assert [v for _, v in vf.inputs["quality"].options] == ["", "standard", "hd"]
    assert p.prompt_counter.endswith("/ 4000")
    p.size_input.value = "1792x1024"
    vf.inputs["style"].value = "natural"
    assert (p.activity.size, p.activity.style) == ("1792x1024", "natural")
    version.value = GI
    assert p.size_input.value == p.activity.size == "auto"  # 1792x1024 is no gpt-image-1 size
    assert (p.n_input.max, p.prompt_input.max_chars) == (10, 32000)
    assert vf.visible() == ["quality", "response_format", "output_format", "background"]
    vf.inputs["output_format"].value = "jpeg"  # compression applies to jpeg only
    assert vf.visible()[-1] == "output_compression"
    vf.inputs["output_format"].value = ""
    assert "output_compression" not in vf.visible()
    assert p.activity.style is None and vf.inputs["style"].layout.display == "none"
    p.n_input.value = 8
    vf.inputs["background"].value = "transparent"
    assert p.activity.request().to_json()["background"] == "transparent"
    assert not p.field_errors()
    version.value = LEGACY_API_VERSION
    assert (p.activity.n, p.activity.background, vf.visible()) == (5, None, [])
    p.close()


# -- Entra ID (Bearer) with the synchronous flow -------------------------------------------------------

async def test_token_provider_bearer_mode_sync(emu):
    emu.config.bearer_tokens = {"fake-entra-token"}
    calls = []

    def provider() -> str:
        calls.append(1)
        return "fake-entra-token"

    conn = Connection(emu.endpoint, token_provider=provider, api_version=D3, deployment="d3")
    client, sent = recording(conn)
    async with client:
        res = await client.generate("entra fox")
        await client.fetch_image(res.urls[0])
    api = [r for r in sent if r.url.port == httpx.URL(emu.endpoint).port]
    assert api and all(r.headers["authorization"] == "Bearer fake-entra-token" for r in api)
    assert all("authorization" not in r.headers and "api-key" not in r.headers
               for r in sent if r not in api)  # the image host gets no credentials
    assert calls
    bad = Connection(emu.endpoint, token_provider=lambda: "not-a-known-token", api_version=D3,
                     deployment="d3", max_retries=0)
    async with ImageClient(bad) as client:
        with pytest.raises(aw.ApiError) as ei:
            await client.request_image("refused")
    assert ei.value.status_code == 401


async def test_from_env_default_azure_credential_against_emulator(emu, monkeypatch):
    """End to end: no key in the environment -> azure-identity (faked) -> Bearer to the emulator."""
    seen = {}
    fake = types.ModuleType("azure.identity")

    class DefaultAzureCredential:
        def get_token(self, *scopes):  # what a real provider would call; not used by the fake
            raise AssertionError("not called")

    def get_bearer_token_provider(cred, *scopes):
        seen["cred"], seen["scopes"] = type(cred).__name__, scopes
        return lambda: "fake-entra-token"

    fake.DefaultAzureCredential = DefaultAzureCredential
    fake.get_bearer_token_provider = get_bearer_token_provider
    monkeypatch.setitem(sys.modules, "azure", types.ModuleType("azure"))
    monkeypatch.setitem(sys.modules, "azure.identity", fake)
    emu.config.bearer_tokens = {"fake-entra-token"}
    conn = aw.Connection.from_env({"AZURE_OPENAI_ENDPOINT": emu.endpoint, "AZURE_OPENAI_API_VERSION": GI,
                                "AZURE_OPENAI_DEPLOYMENT": "gi"})
    assert conn.auth_kind == "token" and conn.deployment == "gi"
    assert seen == {"cred": "DefaultAzureCredential",
                    "scopes": ("https://cognitiveservices.azure.com/.default",)}
    async with ImageClient(conn) as client:
        res = await client.generate("entra pear")
    assert res.succeeded and res.items[0].b64_json
    emu.config.bearer_tokens = set()  # Bearer refused again: the same connection gets 401
    async with ImageClient(conn) as client:
        with pytest.raises(aw.ApiError) as ei:
            await client.request_image("refused")
    assert ei.value.status_code == 401
