"""Unit tests of the client's single functions: validation, parsing, backoff, origins.

No emulator here: MockTransport stands in for the network where one function
needs an answer. The behaviours end to end are in test_client.py and
test_client_faults.py against the real emulator.
"""
from __future__ import annotations

import copy
import io
import pickle
import random
from datetime import datetime, timezone
from email.utils import format_datetime

import httpx
import pytest
from PIL import Image

import azimage_widgets as aw
from azimage_widgets.client import BatchError, Connection, ImageClient
from azimage_widgets.client.batch import run_batch
from azimage_widgets.client.fetch import check_image_bytes, check_image_url, fetch_image_bytes
from azimage_widgets.client.image_client import check_terminal
from azimage_widgets.client.poll import DurationEstimate, PollSchedule, poll_until_terminal
from azimage_widgets.client.retry import (
    MAX_RETRY_AFTER,
    RetryPolicy,
    is_retryable,
    parse_retry_after,
    parse_retry_after_value,
)
from azimage_widgets.contract import ImageItem, ImageResult

KEY = "unit-fake-key-QWERTY-9876"
EP = "https://res.openai.azure.com"


def png_bytes(w: int = 8, h: int = 8) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (w, h), (200, 10, 10)).save(buf, "PNG")
    return buf.getvalue()


# -- Connection: validation -------------------------------------------------------

@pytest.mark.parametrize("endpoint", [
    "http://127.0.0.1:8080", "http://127.9.9.9", "http://localhost:1234/", "http://[::1]:99",
    "https://res.openai.azure.com/", "https://example.com:8443",
])
def test_accepted_endpoints_strip_trailing_slash(endpoint):
    c = Connection(endpoint, api_key=KEY)
    assert c.endpoint == endpoint.rstrip("/")
    assert not c.endpoint.endswith("/")


@pytest.mark.parametrize("endpoint", [
    "http://res.openai.azure.com", "http://10.0.0.5:8080", "http://[2001:db8::1]",
    "http://localhost.evil.com",
])
def test_plain_http_refused_unless_loopback(endpoint):
    with pytest.raises(aw.ValidationError) as ei:
        Connection(endpoint, api_key=KEY)
    assert ei.value.field == "endpoint"
    assert "loopback" in str(ei.value) and "https://" in str(ei.value)


@pytest.mark.parametrize("endpoint", [
    "", "   ", "res.openai.azure.com", "ftp://res.example.com", "file:///etc/passwd",
    "https://", "https://user:pw@res.openai.azure.com", "https://res.example.com/?x=1",
    "https://res.example.com:99999", None, 42,
])
def test_bad_endpoints_refused(endpoint):
    with pytest.raises(aw.ValidationError) as ei:
        Connection(endpoint, api_key=KEY)
    assert ei.value.field == "endpoint"


def test_credentials_required_and_named():
    with pytest.raises(aw.ValidationError) as ei:
        Connection(EP)
    assert ei.value.field == "api_key" and "token_provider" in str(ei.value)
    with pytest.raises(aw.ValidationError):
        Connection(EP, api_key="   ")
    with pytest.raises(aw.ValidationError) as ei:
        Connection(EP, token_provider="not callable")  # type: ignore[arg-type]
    assert ei.value.field == "token_provider"


def test_unknown_api_version_refused():
    with pytest.raises(aw.ValidationError) as ei:
        Connection(EP, api_key=KEY, api_version="2099-01-01")
    assert ei.value.field == "api_version" and "2023-06-01-preview" in str(ei.value)


@pytest.mark.parametrize("kw", [{"timeout": 0}, {"timeout": -1}, {"poll_timeout": float("nan")},
                                {"max_retries": -1}, {"max_retries": True}, {"deployment": ""}])
def test_bad_settings_refused(kw):
    with pytest.raises(aw.ValidationError):
        Connection(EP, api_key=KEY, **kw)


# -- Connection: the key stays hidden ------------------------------------------------

def test_repr_str_dict_never_show_key():
    c = Connection(EP, api_key=KEY, deployment="dalle")
    for text in (repr(c), str(c), f"{c}", f"{c!r}", str(c.to_dict()), repr(ImageClient(c))):
        assert KEY not in text
    assert "api_key=***" in repr(c)
    assert c.to_dict()["auth"] == "api-key"
    with pytest.raises(TypeError):
        vars(c)  # no __dict__ to dump
    assert KEY not in repr(c.auth) + str(c.auth) + repr(vars(c.auth))


def test_pickle_drops_the_key_and_copy_is_identity():
    c = Connection(EP, api_key=KEY)
    blob = pickle.dumps(c)
    assert KEY.encode() not in blob
    restored = pickle.loads(blob)
    assert restored.endpoint == EP and restored.auth_kind is None
    assert copy.copy(c) is c and copy.deepcopy(c) is c
    with pytest.raises(TypeError):
        pickle.dumps(c.auth)


async def test_restored_connection_asks_for_credentials():
    restored = pickle.loads(pickle.dumps(Connection(EP, api_key=KEY)))
    with pytest.raises(aw.ValidationError, match="credentials"):
        await restored.auth_headers(EP + "/openai/x")


def test_token_provider_repr():
    c = Connection(EP, token_provider=lambda: "tok")
    assert "token_provider=<callable>" in repr(c) and c.auth_kind == "token"


# -- Connection: the origin rule -----------------------------------------------------

@pytest.mark.parametrize("url,same", [
    (EP + "/openai/operations/images/1?api-version=x", True),
    ("https://res.openai.azure.com:443/openai/x", True),
    ("https://RES.openai.azure.com/x", True),
    ("http://res.openai.azure.com/x", False),       # scheme differs
    ("https://res.openai.azure.com:444/x", False),  # port differs
    ("https://res.blob.core.windows.net/private/x.png?sig=1", False),
    ("https://res.openai.azure.com.evil.com/x", False),
    ("ftp://res.openai.azure.com/x", False),
    ("not a url", False),
])
async def test_auth_headers_only_for_the_endpoint_origin(url, same):
    c = Connection(EP, api_key=KEY)
    headers = await c.auth_headers(url)
    if same:
        assert headers == {"api-key": KEY}
    else:
        assert headers == {}


async def test_loopback_origin_includes_port():
    c = Connection("http://127.0.0.1:5000", api_key=KEY)
    assert await c.auth_headers("http://127.0.0.1:5000/openai/x") == {"api-key": KEY}
    assert await c.auth_headers("http://127.0.0.1:5001/images/x.png") == {}
    assert await c.auth_headers("http://localhost:5000/openai/x") == {}  # another host name


async def test_token_providers_sync_and_async():
    calls = []

    def sync_provider() -> str:
        calls.append("sync")
        return "tok-sync"

    async def async_provider() -> str:
        calls.append("async")
        return "tok-async"

    c1 = Connection(EP, token_provider=sync_provider)
    c2 = Connection(EP, token_provider=async_provider)
    assert await c1.auth_headers(EP + "/x") == {"Authorization": "Bearer tok-sync"}
    assert await c2.auth_headers(EP + "/x") == {"Authorization": "Bearer tok-async"}
    assert await c2.auth_headers("https://blob.example.com/x") == {}
    assert calls == ["sync", "async"]  # no token fetched for another origin
    bad = Connection(EP, token_provider=lambda: "")
    with pytest.raises(aw.ValidationError):
        await bad.auth_headers(EP + "/x")


def test_redact():
    c = Connection(EP, api_key=KEY)
    assert c.redact(f"bad key {KEY}!") == "bad key ***!"


# -- Retry-After ---------------------------------------------------------------------

@pytest.mark.parametrize("value,expected", [
    ("3", 3.0), (" 2 ", 2.0), ("0", 0.0), ("1.5", 1.5), ("100000", MAX_RETRY_AFTER),
    ("-1", None), ("nan", None), ("inf", None), ("soon", None), ("", None),
])
def test_retry_after_seconds(value, expected):
    assert parse_retry_after({"retry-after": value}) == expected


def test_retry_after_http_date():
    now = 1_700_000_000.0
    future = format_datetime(datetime.fromtimestamp(now + 10, tz=timezone.utc), usegmt=True)
    past = format_datetime(datetime.fromtimestamp(now - 10, tz=timezone.utc), usegmt=True)
    assert parse_retry_after_value(future, now=now) == pytest.approx(10.0)
    assert parse_retry_after_value(past, now=now) == 0.0
    far = format_datetime(datetime.fromtimestamp(now + 3600, tz=timezone.utc), usegmt=True)
    assert parse_retry_after_value(far, now=now) == MAX_RETRY_AFTER


def test_retry_after_ms_wins_and_absent_is_none():
    assert parse_retry_after({"retry-after-ms": "250", "retry-after": "9"}) == 0.25
    assert parse_retry_after({"retry-after-ms": "junk", "retry-after": "9"}) == 9.0
    assert parse_retry_after({}) is None
    assert parse_retry_after(None) is None
    assert parse_retry_after(httpx.Headers({"Retry-After": "4"})) == 4.0


# -- the retry policy ---------------------------------------------------------------------

_req = httpx.Request("POST", EP)


@pytest.mark.parametrize("error,submit,idempotent", [
    (httpx.ConnectError("refused", request=_req), True, True),
    (httpx.ConnectTimeout("t", request=_req), True, True),
    (httpx.PoolTimeout("t", request=_req), True, True),
    (httpx.ReadTimeout("t", request=_req), False, True),
    (httpx.WriteTimeout("t", request=_req), False, True),
    (httpx.ReadError("reset", request=_req), False, True),
    (httpx.RemoteProtocolError("dropped", request=_req), False, True),
    (ValueError("not http"), False, False),
])
def test_retryable_errors(error, submit, idempotent):
    assert is_retryable("submit", error=error) is submit
    assert is_retryable("idempotent", error=error) is idempotent


@pytest.mark.parametrize("status,submit,idempotent", [
    (429, True, True), (503, True, True), (500, False, True), (502, False, True),
    (504, False, True), (400, False, False), (401, False, False), (404, False, False),
    (409, False, False), (200, False, False),
])
def test_retryable_statuses(status, submit, idempotent):
    assert is_retryable("submit", status=status) is submit
    assert is_retryable("idempotent", status=status) is idempotent


def test_backoff_grows_with_jitter_and_is_bounded():
    policy = RetryPolicy(max_retries=3, rng=random.Random(7))
    for attempt in range(8):
        ceiling = min(8.0, 0.5 * 2 ** attempt)
        values = [policy.backoff(attempt) for _ in range(50)]
        assert all(ceiling / 2 <= v <= ceiling for v in values)
        assert len(set(values)) > 1  # jittered
    assert policy.delay(0, 3.0) == 3.0
    assert [policy.can_retry(a) for a in range(5)] == [True, True, True, False, False]


# -- the poll schedule and loop ---------------------------------------------------------------

def test_poll_schedule_default_sequence():
    s = PollSchedule()
    gaps = [s.next_delay(0, a) for a in range(7)]
    assert gaps[:4] == pytest.approx([0.2, 0.3, 0.45, 0.675])
    assert gaps[4:] == [0.8, 0.8, 0.8]
    assert gaps[0] < 1.0


def test_poll_schedule_lands_on_expected_finish():
    s = PollSchedule(expected=1.0)
    assert s.next_delay(0.0, 0) == pytest.approx(0.2)
    assert s.next_delay(0.9, 3) == pytest.approx(0.1)   # not past the expected finish
    assert s.next_delay(1.0, 4) == pytest.approx(0.1)   # fine steps around it
    assert s.next_delay(1.4, 5) == pytest.approx(0.1)
    assert s.next_delay(2.0, 6) == pytest.approx(0.8)   # then back to the backoff


def test_duration_estimate_converges():
    est = DurationEstimate()
    assert est.value is None
    est.observe(0.5, 1.6)
    assert est.value == pytest.approx(1.05)
    for _ in range(30):
        est.observe(0.95, 1.05)
    assert est.value == pytest.approx(1.0, abs=0.01)
    est.observe(2.0, 1.0)  # nonsense ignored
    assert est.value == pytest.approx(1.0, abs=0.01)


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def job(duration: float, clock: FakeClock, *, final: str = "succeeded", retry_after=None):
    calls = []

    async def poll():
        calls.append(clock.now)
        status = final if clock.now >= duration else "running"
        return ImageResult(id="op1", status=status), retry_after

    return poll, calls


async def test_two_second_job_seen_within_half_a_second():
    clock = FakeClock()
    poll, calls = job(2.0, clock)
    out = await poll_until_terminal(poll, operation_id="op1", timeout=60, submitted_at=0.0,
                                    clock=clock, sleep=clock.sleep)
    assert out.result.status == "succeeded"
    assert 2.0 <= calls[-1] <= 2.5
    assert len(calls) <= 7
    assert calls[0] > 0  # the submit counts as the first look


async def test_learned_duration_brings_poll_close_to_finish():
    clock = FakeClock()
    poll, calls = job(1.0, clock)
    out = await poll_until_terminal(poll, operation_id="op1", timeout=60, submitted_at=0.0,
                                    schedule=PollSchedule(expected=1.02), clock=clock,
                                    sleep=clock.sleep)
    assert calls[-1] - 1.0 <= 0.15
    assert out.first_done >= out.last_pending


async def test_retry_after_on_polls_is_honoured():
    clock = FakeClock()
    poll, calls = job(5.0, clock, retry_after=2.5)
    await poll_until_terminal(poll, operation_id="op1", timeout=60, clock=clock, sleep=clock.sleep)
    assert calls == [0.0, 2.5, 5.0]


async def test_retry_after_zero_does_not_spin():
    clock = FakeClock()
    poll, calls = job(1.0, clock, retry_after=0.0)
    await poll_until_terminal(poll, operation_id="op1", timeout=60, clock=clock, sleep=clock.sleep)
    assert len(calls) <= 21


@pytest.mark.parametrize("final", ["succeeded", "failed", "canceled", "deleted"])
async def test_every_terminal_status_stops_at_once(final):
    clock = FakeClock()
    poll, calls = job(0.0, clock, final=final)
    out = await poll_until_terminal(poll, operation_id="op1", timeout=600, clock=clock,
                                    sleep=clock.sleep)
    assert out.result.status == final and len(calls) == 1 and clock.now == 0.0


async def test_poll_timeout_raises_operation_timeout():
    clock = FakeClock()
    poll, calls = job(1e9, clock)
    with pytest.raises(aw.OperationTimeout) as ei:
        await poll_until_terminal(poll, operation_id="op1", timeout=5, clock=clock,
                                  sleep=clock.sleep)
    assert ei.value.last_status == "running" and ei.value.operation_id == "op1"
    assert clock.now == pytest.approx(5.0)  # one last look at the deadline, no later


async def test_on_status_sync_and_async_called_per_poll():
    seen = []
    for cb in (lambda r: seen.append(r.status), None):
        clock = FakeClock()
        poll, calls = job(0.5, clock)

        async def acb(r):
            seen.append("a:" + r.status)

        await poll_until_terminal(poll, operation_id="op1", timeout=60, clock=clock,
                                  sleep=clock.sleep, on_status=cb or acb)
    assert seen.count("succeeded") == 1 and seen.count("a:succeeded") == 1
    assert "running" in seen and "a:running" in seen


# -- terminal results -> errors ----------------------------------------------------------------

def test_check_terminal_maps_statuses():
    ok = ImageResult("o", "succeeded", items=(ImageItem(0, url="https://b/x.png"),
                                              ImageItem(1, error_code="contentFilter",
                                                        error_message="filtered")))
    assert check_terminal(ok) is ok and ok.urls == ["https://b/x.png"] and len(ok.errors) == 1
    with pytest.raises(aw.ContentFilterError):
        check_terminal(ImageResult("o", "succeeded",
                                   items=(ImageItem(0, error_code="contentFilter"),)))
    with pytest.raises(aw.ContentFilterError) as ei:
        check_terminal(ImageResult("o", "failed", error_code="contentFilter", error_message="no"))
    assert ei.value.operation_id == "o"
    with pytest.raises(aw.ApiError) as ei:
        check_terminal(ImageResult("o", "failed", error_code="InternalError"))
    assert not isinstance(ei.value, aw.ContentFilterError) and ei.value.code == "InternalError"
    for status in ("canceled", "deleted"):
        with pytest.raises(aw.ApiError) as ei:
            check_terminal(ImageResult("o", status))
        assert ei.value.code == status


# -- fetch helpers ------------------------------------------------------------------------

@pytest.mark.parametrize("url", ["ftp://x/y.png", "file:///etc/passwd", "/relative.png",
                                 "data:image/png;base64,AAAA", "", None])
def test_fetch_only_http(url):
    with pytest.raises(aw.ValidationError):
        check_image_url(url)


def test_check_image_bytes():
    good = png_bytes()
    check_image_bytes("https://b/x.png", good)
    for bad in (b"", b"not an image at all", good[: len(good) // 2],
                good[:40] + bytes(len(good) - 40)):
        with pytest.raises(aw.ImageFetchError):
            check_image_bytes("https://b/x.png?sig=SECRET", bad)


def test_decompression_bomb_guard(monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)
    with pytest.raises(aw.ImageFetchError) as ei:
        check_image_bytes("https://b/x.png", png_bytes(64, 64))
    assert "large" in str(ei.value) or "bomb" in str(ei.value)


async def test_fetch_byte_cap_and_refusals():
    big = png_bytes(256, 256)
    seen_headers = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen_headers.append(dict(request.headers))
        if request.url.path == "/big.png":
            async def body():
                for start in range(0, len(big), 1000):
                    yield big[start:start + 1000]
            return httpx.Response(200, content=body())  # streamed, no content-length
        if request.url.path == "/gone.png":
            return httpx.Response(403, text="AuthenticationFailed")
        return httpx.Response(200, content=png_bytes())

    conn = Connection(EP, api_key=KEY)
    policy = RetryPolicy(max_retries=0)
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        with pytest.raises(aw.ImageFetchError, match="cap"):
            await fetch_image_bytes(http, conn, "https://blob.example/big.png?sig=S",
                                    policy=policy, max_bytes=len(big) - 1)
        with pytest.raises(aw.ImageFetchError) as ei:
            await fetch_image_bytes(http, conn, "https://blob.example/gone.png?se=1&sig=SECRETSIG",
                                    policy=policy)
        assert ei.value.status_code == 403 and "expired" in str(ei.value)
        assert "SECRETSIG" not in str(ei.value)
        data = await fetch_image_bytes(http, conn, "https://blob.example/ok.png", policy=policy)
        assert data.startswith(b"\x89PNG")
    assert all("api-key" not in h for h in seen_headers)


# -- errors from answers (one function at a time, through a MockTransport) -------------------

def mock_client(handler) -> ImageClient:
    conn = Connection(EP, api_key=KEY, max_retries=0)
    return ImageClient(conn, transport=httpx.MockTransport(handler))


@pytest.mark.parametrize("response", [
    httpx.Response(202, text="<html>not json</html>"),
    httpx.Response(202, json=["a", "list"]),
    httpx.Response(202, json={"status": "notRunning"}),
])
async def test_malformed_submit_answer_is_api_error(response):
    async with mock_client(lambda r: response) as client:
        with pytest.raises(aw.ApiError) as ei:
            await client.request_image("a fox")
    assert ei.value.code == "invalidResponse"


@pytest.mark.parametrize("body", [
    {"id": "op1"}, {"id": "op1", "status": "bogus"}, {"status": "succeeded"}, [],
    {"id": "op1", "status": "succeeded", "result": {"data": "oops"}},
    {"id": "op1", "status": "succeeded", "result": {"data": [{"nothing": 1}]}},
])
async def test_malformed_poll_answer_is_api_error_not_keyerror(body):
    async with mock_client(lambda r: httpx.Response(200, json=body)) as client:
        with pytest.raises(aw.ApiError) as ei:
            await client.get_operation("op1")
    assert ei.value.code == "invalidResponse"


async def test_top_level_data_variant_is_read():
    body = {"id": "op1", "status": "succeeded", "data": [{"url": "https://b/1.png"}]}
    async with mock_client(lambda r: httpx.Response(200, json=body)) as client:
        res = await client.download_image("op1")
    assert res.urls == ["https://b/1.png"]


async def test_error_bodies_map_to_error_classes():
    answers = {
        "/openai/operations/images/throttled": httpx.Response(
            429, headers={"Retry-After": "7"},
            json={"error": {"code": "429", "message": "Please retry after 7 seconds."}}),
        "/openai/operations/images/filtered": httpx.Response(
            400, json={"error": {"code": "content_policy_violation", "message": "refused"}}),
        "/openai/operations/images/echo": httpx.Response(
            401, json={"error": {"code": "401", "message": f"bad key {KEY}"}}),
        "/openai/operations/images/html": httpx.Response(502, text="<html>bad gateway</html>",
                                                         headers={"x-ms-error-code": "Gateway"}),
    }
    async with mock_client(lambda r: answers[r.url.path]) as client:
        with pytest.raises(aw.ThrottledError) as ei:
            await client.get_operation("throttled")
        assert ei.value.retry_after == 7.0 and ei.value.status_code == 429
        with pytest.raises(aw.ContentFilterError):
            await client.get_operation("filtered")
        with pytest.raises(aw.ApiError) as ei:
            await client.get_operation("echo")
        assert KEY not in str(ei.value) and ei.value.status_code == 401
        with pytest.raises(aw.ApiError) as ei:
            await client.get_operation("html")
        assert ei.value.code == "Gateway" and ei.value.status_code == 502


async def test_operation_location_on_another_origin_is_not_followed():
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append((request.url.host, request.headers.get("api-key")))
        if request.method == "POST":
            return httpx.Response(202, json={"id": "op9", "status": "notRunning"}, headers={
                "operation-location": "https://attacker.example/openai/operations/images/op9"})
        return httpx.Response(200, json={"id": "op9", "status": "succeeded",
                                         "result": {"data": [{"url": "https://b/1.png"}]}})

    async with mock_client(handler) as client:
        op = await client.request_image("a fox")
        assert op.location.startswith(EP + "/openai/operations/images/op9?api-version=")
        await client.download_image(op.id)
    assert seen and all(host == "res.openai.azure.com" and key == KEY for host, key in seen)


async def test_image_client_refuses_other_loop_and_closed_use():
    client = mock_client(lambda r: httpx.Response(404))
    await client.aclose()
    with pytest.raises(RuntimeError, match="closed"):
        await client.get_operation("x")
    with pytest.raises(aw.ValidationError):
        ImageClient("not a connection")  # type: ignore[arg-type]


# -- the batch runner --------------------------------------------------------------------

async def test_run_batch_keeps_order_and_failures():
    import asyncio

    async def ok(i, delay):
        await asyncio.sleep(delay)
        return i

    async def bad():
        raise ValueError("boom")

    jobs = [lambda: ok(0, 0.03), bad, lambda: ok(2, 0.0)]
    progress = []
    out = await run_batch(jobs, concurrency=2, on_progress=lambda *a: progress.append(a[:3]))
    assert out[0] == 0 and isinstance(out[1], ValueError) and out[2] == 2
    assert sorted(p[2] for p in progress) == [0, 1, 2] and progress[-1][0] == 3

    with pytest.raises(BatchError) as ei:
        await run_batch([lambda: ok(0, 0.0), bad, lambda: ok(2, 1.0), lambda: ok(3, 1.0)],
                        concurrency=2, continue_on_error=False)
    assert ei.value.index == 1 and ei.value.results[0] == 0
    assert ei.value.results[2] is None and ei.value.results[3] is None
    assert "item 1" in str(ei.value)


# -- learning job durations across operations (bench row 2) ----------------------------------------

def test_phase_zero_is_the_default_sequence_and_phases_interpolate():
    from azimage_widgets.client.poll import phase_of
    assert phase_of(0) == 0.0
    assert len({round(phase_of(i), 3) for i in range(10)}) == 10
    assert all(0 <= phase_of(i) < 1 for i in range(50))
    base, half = PollSchedule(), PollSchedule(phase=0.5)
    for a in range(6):
        lo, hi = sorted((base.next_delay(0, a), base.next_delay(0, a + 1)))
        assert lo <= half.next_delay(0, a) <= hi <= base.cap


def test_bracket_schedule_polls_middle_then_upper_then_small_growing_gaps():
    s = PollSchedule(lower=0.9, expected=1.1)
    assert s.next_delay(0.0, 0) == pytest.approx(1.0)    # straight to the middle
    assert s.next_delay(1.0, 1) == pytest.approx(0.1)    # then the upper end
    gaps = [s.next_delay(e, 2) for e in (1.1, 1.2, 1.5, 3.0, 10.0)]
    assert gaps == sorted(gaps) and gaps[0] >= 0.03 and gaps[-1] == s.cap
    narrow = PollSchedule(lower=0.99, expected=1.01)
    assert narrow.next_delay(0.0, 0) == pytest.approx(1.01)  # too narrow for a middle poll
    assert PollSchedule(lower=1.2, expected=1.0).bracket is None  # nonsense: ignored


def test_duration_bracket_tightens_and_follows_changes():
    est = DurationEstimate()
    est.observe(0.95, 1.63)
    assert (est.lower, est.upper) == (0.95, 1.63)
    est.observe(1.0, 1.2)
    assert (est.lower, est.upper) == (1.0, 1.2)
    est.observe(2.0, 2.1)  # running past the bracket: slower jobs, start again from this one
    assert (est.lower, est.upper) == (2.0, 2.1)
    est.observe(0.5, 0.7)  # done before it: faster
    assert (est.lower, est.upper) == (0.5, 0.7)
    est.observe(0.0, 0.6)  # done at its first look: a narrower bracket
    assert (est.lower, est.upper) == (0.5, 0.6)
    est.observe(0.58, 0.6)  # too narrow for a poll in its middle
    est.observe(0.0, 0.6)  # done at its first look again: it reopens downwards
    assert est.upper == 0.6 and est.lower < 0.5


def _fake_job(clock, start, duration, calls):
    """A poll function for one operation that finishes ``duration`` after ``start``."""
    async def poll():
        calls.append(clock.now)
        done = clock.now - start >= duration
        return ImageResult(id="op", status="succeeded" if done else "running"), None
    return poll


async def run_jobs(durations, clock, est, schedule=None):
    """Operations one after the other against a fake clock; (polls, detection delay) of each."""
    schedule = schedule or PollSchedule()
    out = []
    for d in durations:
        start = clock.now
        calls = []
        poll = _fake_job(clock, start, d, calls)

        res = await poll_until_terminal(poll, operation_id="op", timeout=60, submitted_at=start,
                                        schedule=schedule, clock=clock, sleep=clock.sleep, estimate=est)
        est.observe(res.last_pending, res.first_done)
        out.append((len(calls), calls[-1] - start - d))
    return out


async def test_learned_bracket_brings_similar_jobs_close_with_few_polls():
    clock, est = FakeClock(), DurationEstimate()
    out = await run_jobs([1.0] * 12, clock, est)
    assert out[0][1] <= 0.65  # the default sequence: seen at 1.625
    for polls, late in out[4:]:
        assert polls <= 3 and 0 <= late <= 0.1


async def test_learned_bracket_follows_faster_and_slower_jobs():
    clock, est = FakeClock(), DurationEstimate()
    await run_jobs([1.0] * 6, clock, est)
    faster = await run_jobs([0.3] * 10, clock, est)
    assert all(p <= 8 for p, _ in faster) and faster[-1][1] <= 0.15
    slower = await run_jobs([2.0] * 8, clock, est)
    assert all(p <= 8 for p, _ in slower) and slower[-1][1] <= 0.15
    assert all(late <= 0.8 for _, late in faster + slower)  # never worse than the capped backoff


async def test_two_second_job_seen_within_half_a_second_with_any_phase():
    from azimage_widgets.client.poll import phase_of
    for i in range(10):
        clock = FakeClock()
        poll, calls = job(2.0, clock)
        await poll_until_terminal(poll, operation_id="op1", timeout=60, submitted_at=0.0,
                                  schedule=PollSchedule(phase=phase_of(i)), clock=clock,
                                  sleep=clock.sleep)
        assert 2.0 <= calls[-1] <= 2.0 + 0.8 and len(calls) <= 8


async def test_a_sleeping_poll_wakes_when_another_operation_finishes():
    """The first of a batch to see its job done tells the others, who look at once."""
    import asyncio
    import time
    est = DurationEstimate()
    polls = []

    async def poll():
        polls.append(asyncio.get_running_loop().time())
        return ImageResult(id="op", status="succeeded"), None

    async def other_finishes():
        await asyncio.sleep(0.05)
        est.observe(0.01, 0.02)  # jobs take ~20 ms: this one (submitted 0.05 s ago) is due

    loop = asyncio.get_running_loop()
    waker = loop.create_task(other_finishes())
    slow = PollSchedule(first=30.0, cap=30.0)  # without a wake-up: 30 s between polls
    out = await asyncio.wait_for(poll_until_terminal(
        poll, operation_id="op", timeout=60, schedule=slow, submitted_at=time.monotonic(),
        estimate=est), 10)
    await waker
    assert out.result.status == "succeeded" and out.polls == 1
