"""The v1 routes, deployments as models, streaming and the image quota, over real HTTP.

httpx against a running emulator, no mocks. Server-sent events are read line
by line as they arrive, so a test sees when each one came. Times are lower
bounds only (a sleep guarantees them), never "fast enough".
"""
from __future__ import annotations

import base64
import io
import json
import time
from typing import Any

import httpx
import pytest
from fakes import FAKE_KEY
from PIL import Image, ImageChops, ImageStat

from azimage_widgets import emulator
from azimage_widgets.contract import parse_images_response
from azimage_widgets.emulator.__main__ import parse_args

GEN = "/openai/v1/images/generations"
EDIT = "/openai/v1/images/edits"
GI = "2025-04-01-preview"


@pytest.fixture
def v1emu():
    handle = emulator.start(api_key=FAKE_KEY, processing_time=0.0, retry_after=None,
                            deployments={"prod": "gpt-image-2", "cheap": "gpt-image-1-mini",
                                         "my-gpt-image-1.5": None, "plain": None,
                                         "old": "dall-e-3"})
    try:
        yield handle
    finally:
        handle.stop()


@pytest.fixture
def http(v1emu):
    with httpx.Client(base_url=v1emu.endpoint, headers={"api-key": FAKE_KEY}, timeout=30) as c:
        yield c


def png(colour=(0, 0, 255, 255), w: int = 64, h: int = 48) -> bytes:
    buf = io.BytesIO()
    Image.new("RGBA", (w, h), colour).save(buf, "PNG")
    return buf.getvalue()


def decode(b64: str) -> Image.Image:
    img = Image.open(io.BytesIO(base64.b64decode(b64)))
    img.load()
    return img


def error_of(r: httpx.Response, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    return r.json()["error"]


def read_events(resp: httpx.Response, emu=None) -> list[tuple[float, dict[str, Any], int]]:
    """(arrival time, event JSON, completed events the emulator had sent by then) per event."""
    out = []
    event_type = None
    for line in resp.iter_lines():
        if line.startswith("event: "):
            event_type = line[len("event: "):]
        elif line.startswith("data: "):
            body = json.loads(line[len("data: "):])
            assert body["type"] == event_type
            done = sum(e.type.endswith(".completed") for e in emu.stream_events) if emu else -1
            out.append((time.monotonic(), body, done))
    return out


# -- addressing, auth, api-version ------------------------------------------------------------

@pytest.mark.parametrize("params", [{}, {"api-version": "v1"}, {"api-version": "preview"}])
def test_v1_generation_any_accepted_api_version(http, params):
    r = http.post(GEN, params=params, json={"model": "prod", "prompt": "a red fox",
                                            "size": "1536x864", "quality": "low", "n": 2})
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["size"], body["quality"], body["background"], body["output_format"]) == \
        ("1536x864", "low", "opaque", "png")
    assert [decode(d["b64_json"]).size for d in body["data"]] == [(1536, 864)] * 2
    assert body["usage"]["total_tokens"] == body["usage"]["input_tokens"] + \
        body["usage"]["output_tokens"] > 0
    assert all("content_filter_results" in d and "prompt_filter_results" in d
               for d in body["data"])
    res = parse_images_response(body, "id-1")  # the shape the client files under an id
    assert res.succeeded and len(res.items) == 2 and res.usage["output_tokens"] > 0


def test_v1_auth_key_header_or_bearer(v1emu):
    body = {"model": "prod", "prompt": "p"}
    url = v1emu.endpoint + GEN
    assert httpx.post(url, json=body, headers={"Authorization": f"Bearer {FAKE_KEY}"}) \
        .status_code == 200
    assert httpx.post(url, json=body, headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert httpx.post(url, json=body).status_code == 401
    assert httpx.post(url, json=body, headers={"api-key": "wrong"}).status_code == 401
    # the deployments path keeps its own rule: the key as a Bearer token is not accepted there
    r = httpx.post(f"{v1emu.endpoint}/openai/deployments/prod/images/generations",
                   params={"api-version": GI}, json={"prompt": "p"},
                   headers={"Authorization": f"Bearer {FAKE_KEY}"})
    assert r.status_code == 401


def test_v1_versions_and_routes_kept_apart(http):
    r = http.post(GEN, params={"api-version": "2024-10-21"}, json={"model": "prod", "prompt": "p"})
    assert error_of(r, 404)["code"] == "404"
    r = http.post("/openai/deployments/prod/images/generations", params={"api-version": "v1"},
                  json={"prompt": "p"})
    assert r.status_code == 404
    r = http.post("/openai/images/generations:submit", params={"api-version": "v1"},
                  json={"prompt": "p"})
    assert r.status_code == 404
    r = http.get(GEN)
    assert r.status_code == 405 and r.headers["allow"] == "POST"


# -- deployments answer as models ---------------------------------------------------------------

def test_deployment_models_and_their_rules(http):
    ok = {"prompt": "p", "size": "1536x864"}
    assert http.post(GEN, json={"model": "prod", **ok}).status_code == 200
    for dep in ("cheap", "my-gpt-image-1.5", "plain"):  # presets only for these
        err = error_of(http.post(GEN, json={"model": dep, **ok}), 400)
        assert err["param"] == "size" and err["code"] == "invalid_value"
    # the mapped mini answers with its default quality; an unnamed deployment with high
    assert http.post(GEN, json={"model": "cheap", "prompt": "p"}).json()["quality"] == "medium"
    assert http.post(GEN, json={"model": "plain", "prompt": "p"}).json()["quality"] == "high"
    err = error_of(http.post(GEN, json={"model": "nope", "prompt": "p"}), 404)
    assert err["code"] == "DeploymentNotFound"
    err = error_of(http.post(GEN, json={"model": "old", "prompt": "p"}), 400)
    assert err["param"] == "model" and "2026-03-04" in err["message"]


def test_deployment_named_after_a_model_when_any_name_is_accepted():
    with emulator.start(api_key=FAKE_KEY, processing_time=0) as emu:
        url = emu.endpoint + GEN
        h = {"api-key": FAKE_KEY}
        r = httpx.post(url, headers=h, json={"model": "team-gpt-image-2", "prompt": "p",
                                             "size": "2048x1152"})
        assert r.status_code == 200 and r.json()["size"] == "2048x1152"
        r = httpx.post(url, headers=h, json={"model": "my-gpt-image-1-mini", "prompt": "p"})
        assert r.json()["quality"] == "medium"


@pytest.mark.parametrize("body,param,words", [
    ({"model": "prod", "prompt": "p", "size": "1000x1000"}, "size", "multiples of 16"),
    ({"model": "prod", "prompt": "p", "size": "4096x1024"}, "size", "at most 3840"),
    ({"model": "prod", "prompt": "p", "output_format": "webp"}, "output_format", "webp"),
    ({"model": "prod", "prompt": "p", "background": "transparent", "output_format": "jpeg"},
     "background", "needs output_format png"),
    ({"model": "prod", "prompt": "p", "n": 11}, "n", "1 to 10"),
    ({"model": "prod", "prompt": "p", "quality": "hd"}, "quality", "low"),
    ({"model": "prod", "prompt": "p", "partial_images": 4, "stream": True}, "partial_images",
     "0 to 3"),
    ({"model": "prod", "prompt": "p", "input_fidelity": "high"}, "input_fidelity", "edits"),
    ({"model": "prod", "prompt": "x" * 32001}, "prompt", "32000"),
    ({"model": "prod", "prompt": " "}, "prompt", "blank"),
    ({"prompt": "p"}, "model", "deployment"),
    ({"model": 3, "prompt": "p"}, "model", "string"),
    ({"model": "prod"}, "prompt", "required"),
])
def test_model_rules_answered_400_with_code_and_param(http, body, param, words):
    err = error_of(http.post(GEN, json=body), 400)
    assert err["param"] == param and words in err["message"] and err["code"]


def test_null_is_left_out_only_where_the_v1_spec_allows_it(http):
    r = http.post(GEN, json={"model": "prod", "prompt": "p", "n": None,
                             "output_compression": None})
    assert r.status_code == 200 and len(r.json()["data"]) == 1
    for name in ("size", "quality", "background", "user", "model", "prompt"):
        err = error_of(http.post(GEN, json={"model": "prod", "prompt": "p", name: None}), 400)
        assert err["param"] == name


def test_prompt_of_invisible_characters_is_accepted_whitespace_is_not(http):
    assert http.post(GEN, json={"model": "prod", "prompt": "\u200b\x1d"}).status_code == 200
    assert error_of(http.post(GEN, json={"model": "prod", "prompt": " \t\n"}), 400)["param"] \
        == "prompt"


def test_jpeg_and_transparent_outputs(http):
    body = http.post(GEN, json={"model": "prod", "prompt": "p", "output_format": "jpeg",
                                "output_compression": 40}).json()
    assert decode(body["data"][0]["b64_json"]).format == "JPEG" and body["output_format"] == "jpeg"
    body = http.post(GEN, json={"model": "prod", "prompt": "p", "background": "transparent"}).json()
    img = decode(body["data"][0]["b64_json"])
    assert body["background"] == "transparent" and img.getpixel((0, 0))[3] == 0


def test_content_filter_on_v1(http):
    err = error_of(http.post(GEN, json={"model": "prod", "prompt": "a CONTENT_FILTER x"}), 400)
    assert err["code"] == "content_policy_violation"
    assert err["inner_error"]["code"] == "ResponsibleAIPolicyViolation"


# -- edits ----------------------------------------------------------------------------------

def half_mask() -> bytes:
    """Transparent (edit here) on the left half of a 64x48 image, opaque on the right."""
    mask = Image.new("RGBA", (64, 48), (0, 0, 0, 255))
    mask.paste((0, 0, 0, 0), (0, 0, 32, 48))
    buf = io.BytesIO()
    mask.save(buf, "PNG")
    return buf.getvalue()


@pytest.mark.parametrize("path,params,extra", [
    (EDIT, {}, {"model": "prod"}),
    ("/openai/deployments/prod/images/edits", {"api-version": GI}, {}),
])
def test_edit_uses_every_image_and_the_mask(http, path, params, extra):
    files = [("image[]", ("a.png", png((0, 0, 255, 255)), "image/png")),
             ("image[]", ("b.png", png((255, 0, 0, 255)), "image/png")),
             ("mask", ("m.png", half_mask(), "image/png"))]
    r = http.post(path, params=params, files=files,
                  data={"prompt": "on a beach", "input_fidelity": "high", "n": "2", **extra})
    assert r.status_code == 200, r.text
    body = r.json()
    assert len(body["data"]) == 2 and body["usage"]["input_tokens_details"]["image_tokens"] > 0
    out = decode(body["data"][0]["b64_json"]).convert("RGB")
    assert out.size == (64, 48)
    assert out.getpixel((60, 24)) == (0, 0, 255)  # outside the mask: the first image, kept
    assert out.getpixel((8, 24)) != (0, 0, 255)   # inside: painted
    # the second image shows in the painted part: the same edit without it is far less red
    alone = http.post(path, params=params, files=files[:1] + files[2:],
                      data={"prompt": "on a beach", "n": "1", **extra})
    out_alone = decode(alone.json()["data"][0]["b64_json"]).convert("RGB")
    red = ImageStat.Stat(out.crop((0, 0, 32, 48))).mean[0]
    red_alone = ImageStat.Stat(out_alone.crop((0, 0, 32, 48))).mean[0]
    assert red > red_alone + 40


def test_edit_rules(http):
    one = [("image[]", ("a.png", png(), "image/png"))]
    err = error_of(http.post(EDIT, files=one, data={"model": "cheap", "prompt": "p",
                                                    "input_fidelity": "high"}), 400)
    assert err["param"] == "input_fidelity" and "gpt-image-1-mini" in err["message"]
    err = error_of(http.post(EDIT, files=one, data={"prompt": "p"}), 400)
    assert err["param"] == "model"
    err = error_of(http.post(EDIT, files=[("mask", ("m.png", png(), "image/png"))],
                             data={"model": "prod", "prompt": "p"}), 400)
    assert err["param"] == "image"
    err = error_of(http.post(EDIT, files=one + [("mask", ("m.png", png(w=10, h=10), "image/png"))],
                             data={"model": "prod", "prompt": "p"}), 400)
    assert err["code"] == "invalid_image" and err["param"] == "mask"
    err = error_of(http.post(EDIT, json={"model": "prod", "prompt": "p"}), 400)
    assert err["code"] == "invalid_payload"


# -- streaming -------------------------------------------------------------------------------

def test_stream_partials_then_completed_spaced_and_flushed(v1emu, http):
    v1emu.config.processing_time = 1.5
    started = time.monotonic()
    with http.stream("POST", GEN, json={"model": "prod", "prompt": "a fox", "stream": True,
                                        "partial_images": 2, "quality": "low"}) as resp:
        assert resp.status_code == 200
        assert resp.headers["content-type"].startswith("text/event-stream")
        events = read_events(resp, v1emu)
    types = [e["type"] for _, e, _ in events]
    assert types == ["image_generation.partial_image"] * 2 + ["image_generation.completed"]
    assert [e.get("partial_image_index") for _, e, _ in events] == [0, 1, None]
    # each partial reached the client before the emulator had sent the completed event
    assert [done for _, _, done in events[:2]] == [0, 0]
    # spaced over the processing time: event j of 3 leaves no earlier than j/3 of it
    arrived = [t - started for t, _, _ in events]
    assert arrived[0] >= 0.5 - 0.05 and arrived[1] >= 1.0 - 0.05 and arrived[2] >= 1.5 - 0.05
    completed = events[-1][1]
    assert completed["usage"]["total_tokens"] > 0 and completed["size"] == "1024x1024"
    assert {k for k in ("background", "created_at", "output_format", "quality")} <= set(completed)
    # the partials form progressively: each is closer to the final image than the one before
    final = decode(completed["b64_json"]).convert("RGB")
    diffs = [sum(ImageStat.Stat(ImageChops.difference(decode(e["b64_json"]).convert("RGB"),
                                                      final)).mean) for _, e, _ in events[:2]]
    assert diffs[0] > diffs[1] > 0
    recs = [r for r in v1emu.stream_events if r.path == GEN]
    assert [r.type for r in recs] == types and recs[0].sent_at < recs[-1].sent_at


def test_stream_several_images_and_zero_partials(http):
    with http.stream("POST", GEN, json={"model": "prod", "prompt": "p", "stream": True,
                                        "n": 2, "partial_images": 1}) as resp:
        types = [e["type"].split(".")[1] for _, e, _ in read_events(resp)]
    assert types == ["partial_image", "completed", "partial_image", "completed"]
    with http.stream("POST", GEN, json={"model": "prod", "prompt": "p", "stream": True}) as resp:
        assert [e["type"] for _, e, _ in read_events(resp)] == ["image_generation.completed"]


def test_stream_edit_events_on_both_paths(http):
    files = [("image[]", ("a.png", png(), "image/png"))]
    with http.stream("POST", EDIT, files=files, data={"model": "prod", "prompt": "p",
                                                      "stream": "true", "partial_images": "2"}) \
            as resp:
        events = read_events(resp)
    assert [e["type"] for _, e, _ in events] == ["image_edit.partial_image"] * 2 + \
        ["image_edit.completed"]
    assert decode(events[-1][1]["b64_json"]).size == (64, 48)
    with http.stream("POST", "/openai/deployments/prod/images/generations",
                     params={"api-version": GI},
                     json={"prompt": "p", "stream": True, "partial_images": 1}) as resp:
        assert [e["type"] for _, e, _ in read_events(resp)] == [
            "image_generation.partial_image", "image_generation.completed"]


def test_stream_refusals_are_plain_json_400(http):
    r = http.post(GEN, json={"model": "prod", "prompt": "p", "stream": True, "size": "1000x1000"})
    assert error_of(r, 400)["param"] == "size"
    assert r.headers["content-type"].startswith("application/json")


def test_client_leaving_a_stream_does_not_break_the_emulator(v1emu, http):
    v1emu.config.processing_time = 1.0
    with http.stream("POST", GEN, json={"model": "prod", "prompt": "p", "stream": True,
                                        "partial_images": 3}) as resp:
        for line in resp.iter_lines():
            if line.startswith("data: "):
                break  # leave after the first event
    time.sleep(1.2)
    assert http.post(GEN, json={"model": "prod", "prompt": "p"}).status_code == 200


# -- quota ------------------------------------------------------------------------------------

def test_images_per_minute_per_deployment(v1emu, http):
    v1emu.config.images_per_minute = 3
    assert http.post(GEN, json={"model": "prod", "prompt": "p", "n": 2}).status_code == 200
    r = http.post(GEN, json={"model": "prod", "prompt": "p", "n": 2})
    err = error_of(r, 429)
    assert err["code"] == "429" and 1 <= int(r.headers["retry-after"]) <= 60
    assert http.post(GEN, json={"model": "prod", "prompt": "p"}).status_code == 200  # fits: 3
    assert http.post(GEN, json={"model": "cheap", "prompt": "p", "n": 3}).status_code == 200
    r = http.post("/openai/deployments/cheap/images/generations", params={"api-version": GI},
                  json={"prompt": "p"})
    assert r.status_code == 429 and "retry-after" in r.headers
    v1emu.config.images_per_minute = None
    assert http.post(GEN, json={"model": "prod", "prompt": "p"}).status_code == 200


def test_quota_window_slides():
    from azimage_widgets.emulator.quota import ImageQuota

    q = ImageQuota()
    assert q.admit("d", 2, 3, now=0.0) is None
    assert q.admit("d", 1, 3, now=10.0) is None
    assert q.admit("d", 2, 3, now=20.0) == 40  # the first two images leave at 60 s
    assert q.admit("d", 2, 3, now=60.5) is None
    assert q.admit("d", 5, 3, now=200.0) is None  # more than the quota: admitted when idle
    assert q.admit("d", 1, 0, now=300.0) == 60


# -- configuration ----------------------------------------------------------------------------

def test_cli_deployments_and_quota():
    args = parse_args(["--deployment", "prod=gpt-image-2", "--deployment", "my-gpt-image-1-mini",
                       "--images-per-minute", "5"])
    assert dict(args.deployments) == {"prod": "gpt-image-2", "my-gpt-image-1-mini": None}
    assert args.images_per_minute == 5
    with pytest.raises(SystemExit):
        parse_args(["--deployment", "prod=midjourney"])


def test_config_checks_models_and_reads_plain_sets():
    with pytest.raises(ValueError):
        emulator.EmulatorConfig(deployments={"x": "gpt-image-9"})
    cfg = emulator.EmulatorConfig(deployments={"a", "b"})
    assert cfg.deployment_model("a") == (True, None) and cfg.deployment_model("c") == (False, None)
    cfg.deployments = {"z"}  # assigned while running, not through update()
    assert cfg.deployment_model("z") == (True, None)
    assert emulator.EmulatorConfig().deployment_model("any") == (True, None)


async def test_download_by_id_of_a_gpt_image_2_answer():
    """The client files a deployments-path answer under an id, as for every synchronous version."""
    import azimage_widgets as aw

    with emulator.start(api_key=FAKE_KEY, processing_time=0) as emu:
        conn = aw.Connection(emu.endpoint, api_key=FAKE_KEY, api_version=GI,
                             deployment="my-gpt-image-2", max_retries=0)
        async with aw.ImageClient(conn) as client:
            op = await client.request_image("a fox", size="1536x1024", quality="low")
            res = await client.download_image(op.id)
        assert res.succeeded and decode(res.items[0].b64_json).size == (1536, 1024)
        assert res.raw["quality"] == "low"
