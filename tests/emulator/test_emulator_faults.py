"""The emulator's fault knobs and body validation, over real HTTP, no mocks.

Every knob of EmulatorConfig that makes something go wrong: latency, the
requests-per-minute limit, injected 5xx, the three prompt words, dropped
connections and corrupt image bytes; seeded dice repeat; a knob changed while
the emulator runs applies to the next request. Latency is checked as a lower
bound only.
"""
from __future__ import annotations

import io
import time

import httpx
import pytest
from fakes import FAKE_KEY
from PIL import Image, UnidentifiedImageError
from test_emulator import (
    SUBMIT,
    VERSION,
    assert_azure_error,
    generate,
    png_size,
    poll,
    submit,
)

from azimage_widgets import emulator


@pytest.fixture
def http(emu):
    with httpx.Client(base_url=emu.endpoint, headers={"api-key": FAKE_KEY}, timeout=10) as c:
        yield c


# ---------------------------------------------------------------- latency

def test_latency_is_a_lower_bound_on_api_answers(emu, http):
    op_id = submit(http, size="256x256").json()["id"]
    emu.config.latency = 0.3
    for call in (lambda: submit(http), lambda: poll(http, op_id),
                 lambda: http.get("/nope", params={"api-version": VERSION}),
                 lambda: httpx.post(emu.endpoint + SUBMIT, json={"prompt": "x"})):  # even 401s
        t0 = time.monotonic()
        call()
        assert time.monotonic() - t0 >= 0.3
    # Back to none: the next request is not held (only checked against the old latency).
    emu.config.latency = 0
    body = poll(http, op_id).json()
    assert body["status"] in ("notRunning", "running", "succeeded")


def test_latency_does_not_apply_to_the_image_host(emu, http):
    url = generate(http, "a quick image", size="256x256")["result"]["data"][0]["url"]
    emu.config.latency = 5
    # A generous bound that still tells 5 s of latency from none.
    r = httpx.get(url, timeout=4)
    assert r.status_code == 200


# ---------------------------------------------------------------- rate limit

def test_rpm_limit_answers_429_with_retry_after(emu, http):
    emu.config.rpm_limit = 3
    codes = [submit(http).status_code for _ in range(3)]
    assert codes == [202, 202, 202]
    r = submit(http)
    err = assert_azure_error(r, 429, "429")
    wait = int(r.headers["retry-after"])
    assert 1 <= wait <= 60
    assert f"retry after {wait} seconds" in err["message"]
    # Polls count against the same limit.
    assert poll(http, "00000000-0000-0000-0000-000000000000").status_code == 429
    # Unauthenticated requests are 401 first, and do not use up the budget.
    assert httpx.post(emu.endpoint + SUBMIT, params={"api-version": VERSION},
                      json={"prompt": "x"}).status_code == 401
    # Changed at runtime: the next request obeys.
    emu.config.rpm_limit = None
    assert submit(http).status_code == 202
    emu.config.rpm_limit = 100
    assert submit(http).status_code == 202


# ---------------------------------------------------------------- injected failures

def test_failure_rate_one_gives_azure_5xx(emu, http):
    emu.config.update(failure_rate=1.0, seed=None)
    for _ in range(12):
        r = submit(http)
        assert r.status_code in (500, 503)
        err = assert_azure_error(r, r.status_code)
        assert err["code"] == ("ServiceUnavailable" if r.status_code == 503
                               else "InternalServerError")
        assert r.headers["x-ms-error-code"] == err["code"]
    assert len(emu.requests) >= 12
    emu.config.failure_statuses = (503,)
    assert {submit(http).status_code for _ in range(5)} == {503}
    emu.config.failure_statuses = (500,)
    assert {poll(http, "x").status_code for _ in range(5)} == {500}
    # Off again at runtime: the very next request goes through.
    emu.config.failure_rate = 0.0
    assert submit(http).status_code == 202


def test_failures_come_after_auth(emu):
    emu.config.failure_rate = 1.0
    r = httpx.post(emu.endpoint + SUBMIT, params={"api-version": VERSION}, json={"prompt": "x"})
    assert r.status_code == 401


def _dice(seed: int) -> list[int]:
    h = emulator.start(api_key=FAKE_KEY, processing_time=0.1, failure_rate=0.5, seed=seed)
    try:
        with httpx.Client(base_url=h.endpoint, headers={"api-key": FAKE_KEY}) as c:
            return [submit(c, f"p{i}").status_code for i in range(24)]
    finally:
        h.stop()


def test_seeded_rates_repeat():
    a, b = _dice(1234), _dice(1234)
    assert a == b
    assert 202 in a and ({500, 503} & set(a))  # a 0.5 rate gives both over 24 draws
    assert _dice(99) != a  # another seed, other dice (fixed seeds: deterministic)


# ---------------------------------------------------------------- prompt words

def test_content_filter_word_fails_operation(emu, http):
    body = generate(http, "a fox with content_filter inside", n=2, size="256x256")
    assert body["status"] == "failed"
    assert body["error"]["code"] == "contentFilter"
    assert "safety system" in body["error"]["message"]
    assert "result" not in body


def test_partial_filter_word_filters_last_image(emu, http):
    body = generate(http, "a PARTIAL_FILTER parade", n=3, size="256x256")
    assert body["status"] == "succeeded"
    data = body["result"]["data"]
    assert [("url" in d) for d in data] == [True, True, False]
    assert data[2]["error"]["code"] == "contentFilter"
    assert "url" not in data[2]
    for d in data[:2]:
        assert png_size(httpx.get(d["url"]).content) == (256, 256)


def test_cancel_word_ends_canceled(emu, http):
    body = generate(http, "cancel_task now", size="256x256")
    assert body["status"] == "canceled"
    assert "result" not in body


def test_prompt_words_are_knobs(emu, http):
    emu.config.update(content_filter_word="forbidden", partial_filter_word=None, cancel_word=None)
    assert generate(http, "FORBIDDEN fruit", size="256x256")["status"] == "failed"
    assert generate(http, "CONTENT_FILTER is just text now", size="256x256")["status"] == \
        "succeeded"
    body = generate(http, "PARTIAL_FILTER CANCEL_TASK", n=2, size="256x256")
    assert body["status"] == "succeeded"
    assert all("url" in d for d in body["result"]["data"])


# ---------------------------------------------------------------- dropped connections

def test_drop_rate_one_closes_without_answer(emu, http):
    op_id = submit(http).json()["id"]
    emu.config.drop_rate = 1.0
    for call in (lambda c: submit(c), lambda c: poll(c, op_id)):
        with httpx.Client(base_url=emu.endpoint, headers={"api-key": FAKE_KEY},
                          timeout=10) as fresh:
            with pytest.raises(httpx.TransportError) as info:
                call(fresh)
        assert not isinstance(info.value, httpx.TimeoutException), info.value
        assert isinstance(info.value, (httpx.RemoteProtocolError, httpx.ReadError,
                                       httpx.ConnectError, httpx.WriteError))
    dropped = [r for r in emu.requests if r.status == 0]
    assert len(dropped) >= 2 and all(r.listener == "api" and r.credentials for r in dropped)
    # A dropped request records the credentials it actually came with.
    with pytest.raises(httpx.TransportError):
        httpx.get(emu.endpoint + "/no-key-here", timeout=10)
    last = emu.requests[-1]
    assert (last.path, last.status, last.credentials) == ("/no-key-here", 0, False)
    emu.config.drop_rate = 0.0
    with httpx.Client(base_url=emu.endpoint, headers={"api-key": FAKE_KEY}) as fresh:
        assert poll(fresh, op_id).status_code == 200


# ---------------------------------------------------------------- corrupt images

def test_corrupt_rate_one_gives_undecodable_bytes(emu, http):
    url = generate(http, "a fragile vase", size="256x256")["result"]["data"][0]["url"]
    good = httpx.get(url).content
    emu.config.corrupt_rate = 1.0
    r = httpx.get(url)
    assert r.status_code == 200
    assert r.content != good and r.content[:8] != good[:8]
    with pytest.raises((UnidentifiedImageError, OSError, SyntaxError)):
        with Image.open(io.BytesIO(r.content)) as img:
            img.load()
    emu.config.corrupt_rate = 0.0
    assert httpx.get(url).content == good


# ---------------------------------------------------------------- malformed bodies

@pytest.mark.parametrize("body, target", [
    ({"n": 1}, "prompt"),
    ({"prompt": ""}, "prompt"),
    ({"prompt": "   "}, "prompt"),
    ({"prompt": "x" * 1001}, "prompt"),
    ({"prompt": 42}, "prompt"),
    ({"prompt": None}, "prompt"),
    ({"prompt": "ok", "n": 0}, "n"),
    ({"prompt": "ok", "n": 6}, "n"),
    ({"prompt": "ok", "n": "2"}, "n"),
    ({"prompt": "ok", "n": 1.5}, "n"),
    ({"prompt": "ok", "n": True}, "n"),
    ({"prompt": "ok", "size": "300x300"}, "size"),
    ({"prompt": "ok", "size": 512}, "size"),
    ({"prompt": "ok", "response_format": "png"}, "response_format"),
    ({"prompt": "ok", "user": 7}, "user"),
])
def test_malformed_submit_bodies_name_the_field(http, body, target):
    r = http.post(SUBMIT, params={"api-version": VERSION}, json=body)
    err = assert_azure_error(r, 400, "InvalidPayload")
    assert err["target"] == target, err


@pytest.mark.parametrize("content", [b"", b"not json", b"[1, 2]", b'"a string"', b"{",
                                     b"\xff\xfe\x00", b"[" * 100_000])
def test_unparseable_submit_bodies_are_400(http, content):
    r = http.post(SUBMIT, params={"api-version": VERSION}, content=content,
                  headers={"content-type": "application/json"})
    assert_azure_error(r, 400, "InvalidPayload")


def test_valid_edges_and_unknown_fields_are_accepted(http):
    assert submit(http, "x" * 1000, n=5, size="256x256").status_code == 202
    assert submit(http, "ok", n=1, user="someone", response_format="url",
                  extra_field={"ignored": True}).status_code == 202


# ---------------------------------------------------------------- load

async def test_200_concurrent_submits_all_accepted(emu):
    import asyncio

    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
    async with httpx.AsyncClient(base_url=emu.endpoint, headers={"api-key": FAKE_KEY},
                                 limits=limits, timeout=30) as c:
        rs = await asyncio.gather(*(
            c.post(SUBMIT, params={"api-version": VERSION},
                   json={"prompt": f"concurrent {i}", "size": "256x256"})
            for i in range(200)))
    assert [r.status_code for r in rs] == [202] * 200
    ids = {r.json()["id"] for r in rs}
    assert len(ids) == 200
    submits = [r for r in emu.requests if r.method == "POST" and r.status == 202]
    assert len(submits) == 200


def test_rpm_limit_zero_admits_nothing_and_says_wait_a_minute(emu, http):
    emu.config.rpm_limit = 0
    resp = http.post(f"{emu.endpoint}/openai/images/generations:submit",
                     params={"api-version": "2023-06-01-preview"},
                     headers={"api-key": emu.api_key}, json={"prompt": "a fox"})
    assert resp.status_code == 429
    assert resp.headers["retry-after"] == "60"
    assert resp.json()["error"]["code"] == "429"
