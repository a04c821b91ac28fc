"""The emulator itself: malformed requests get Azure-shaped 4xx answers, never a 500, and it
keeps serving after clients disconnect mid-request.

Hypothesis sends raw bodies, content types, headers, methods, paths and api-versions with a
plain ``httpx.Client`` (so nothing of our client's validation is in the way).
"""
from __future__ import annotations

import json
import socket
import time

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

KEY = "emulator-robustness-key-42"
VERSION = "2023-06-01-preview"
SUBMIT = "/openai/images/generations:submit"
FUZZ = settings(max_examples=1000, deadline=None, database=None, suppress_health_check=list(HealthCheck))


@pytest.fixture(scope="module")
def handle():
    from azimage_widgets import emulator

    h = emulator.start(api_key=KEY, processing_time=0.05, retry_after=None)
    yield h
    h.stop()


@pytest.fixture(scope="module")
def http(handle):
    with httpx.Client(base_url=handle.endpoint, timeout=10) as c:
        yield c


def assert_azure_error(resp: httpx.Response, statuses: set[int]) -> None:
    assert resp.status_code < 500, f"{resp.status_code}: {resp.text[:300]}"
    assert resp.status_code in statuses, f"{resp.status_code}: {resp.text[:300]}"
    body = resp.json()
    assert isinstance(body, dict) and isinstance(body.get("error"), dict), body
    assert isinstance(body["error"].get("code"), str) and body["error"]["code"], body
    assert isinstance(body["error"].get("message"), str) and body["error"]["message"], body


json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=20)),
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(st.text(max_size=8), inner, max_size=3)),
    max_leaves=8)
submit_bodies = st.one_of(
    st.binary(max_size=200),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.fixed_dictionaries({}, optional={
        "prompt": st.one_of(st.text(max_size=30), st.text(min_size=1000, max_size=1010), st.integers(),
                            st.none(), st.lists(st.text(max_size=3), max_size=2)),
        "n": st.one_of(st.integers(-2, 12), st.floats(allow_nan=False), st.text(max_size=3), st.booleans(),
                       st.none()),
        "size": st.one_of(st.sampled_from(["256x256", "512x512", "1024x1024", "1792x1024", "0x0", "x", ""]),
                          st.integers(), st.none()),
        "user": st.one_of(st.text(max_size=10), st.integers()),
        "response_format": st.one_of(st.sampled_from(["url", "b64_json", "png"]), st.integers()),
    }).map(lambda d: json.dumps(d).encode()),
    st.just(b'{"prompt": "a fox", "n": 1e400}'),  # json.loads gives inf
    st.just(b'{"prompt": "\\ud800"}'),  # a lone surrogate escaped in JSON
    st.just(b'\xff\xfe{"prompt": "bom"}'),
    st.just(b"[" * 5000 + b"]" * 5000),  # deep nesting
)
content_types = st.sampled_from(["application/json", "application/json; charset=utf-8", "text/plain",
                                 "multipart/form-data", "", "application/x-www-form-urlencoded"])


@FUZZ
@given(body=submit_bodies, ctype=content_types)
def test_malformed_submit_bodies_get_azure_400s(http, body, ctype):
    headers = {"api-key": KEY}
    if ctype:
        headers["content-type"] = ctype
    resp = http.post(SUBMIT, params={"api-version": VERSION}, content=body, headers=headers)
    assert resp.status_code < 500, f"{resp.status_code} for {body[:80]!r}: {resp.text[:300]}"
    if resp.status_code == 202:  # it was a valid request after all: check it against the contract
        from azimage_widgets.contract import ImageRequest

        data = json.loads(body)
        ImageRequest(prompt=data["prompt"], n=data.get("n", 1), size=data.get("size"), user=data.get("user"),
                     response_format=data.get("response_format"))
        assert resp.headers.get("operation-location", "").startswith(http.base_url.scheme + "://")
    else:
        assert_azure_error(resp, {400, 415})


# printable ASCII without leading/trailing blanks (httpx refuses those as header values)
header_values = st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7e),
                        min_size=1, max_size=40)


@FUZZ
@given(method=st.sampled_from(["GET", "POST", "DELETE", "PUT", "PATCH", "HEAD", "OPTIONS"]),
       path=st.one_of(st.sampled_from([SUBMIT, "/openai/operations/images/", "/openai/operations/images/x",
                                        "/openai/operations/images/../../x", "/openai/images", "/", "/openai",
                                        "/openai/deployments/d/images/generations",
                                        "/openai/operations/images/%00", SUBMIT + "/extra"]),
                      st.text(alphabet="abc/%:._-~", max_size=30).map(lambda s: "/" + s.lstrip("/"))),
       version=st.one_of(st.none(), st.sampled_from([VERSION, "2024-10-21", "", "2023-06-01"]),
                         header_values),
       key=st.one_of(st.none(), st.just(KEY), header_values),
       bearer=st.one_of(st.none(), header_values))
def test_any_method_path_version_and_auth_gets_no_500(http, method, path, version, key, bearer):
    headers = {}
    if key is not None:
        headers["api-key"] = key
    if bearer is not None:
        headers["authorization"] = "Bearer " + bearer
    params = {"api-version": version} if version is not None else {}
    body = b'{"prompt": "a fox"}' if method in ("POST", "PUT", "PATCH") else None
    resp = http.request(method, path, params=params, content=body, headers=headers)
    assert resp.status_code < 500, f"{method} {path} -> {resp.status_code}: {resp.text[:200]}"
    if resp.status_code >= 400 and method != "HEAD":
        assert_azure_error(resp, {400, 401, 403, 404, 405, 409, 415, 429})


def test_wrong_key_and_version_are_azure_shaped(http):
    assert_azure_error(http.post(SUBMIT, params={"api-version": VERSION}, json={"prompt": "x"},
                                 headers={"api-key": "nope"}), {401})
    assert_azure_error(http.post(SUBMIT, params={"api-version": "1999-01-01"}, json={"prompt": "x"},
                                 headers={"api-key": KEY}), {400, 404})
    assert_azure_error(http.post(SUBMIT, json={"prompt": "x"}, headers={"api-key": KEY}), {400, 404})
    assert_azure_error(http.get("/openai/operations/images/does-not-exist", params={"api-version": VERSION},
                                headers={"api-key": KEY}), {404})


# -- clients that disconnect mid-request ------------------------------------------------------------------

def host_port(endpoint: str) -> tuple[str, int]:
    u = httpx.URL(endpoint)
    return u.host, u.port


HALF_REQUESTS = [
    b"POST /openai/images/generations:sub",  # cut inside the request line
    b"POST " + SUBMIT.encode() + b"?api-version=" + VERSION.encode() + b" HTTP/1.1\r\nHost: x\r\napi-ke",
    (b"POST " + SUBMIT.encode() + b"?api-version=" + VERSION.encode() + b" HTTP/1.1\r\nHost: x\r\n"
     b"api-key: " + KEY.encode() + b"\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n"
     b'{"prompt": "half a bo'),  # cut inside the body
    (b"GET /openai/operations/images/x?api-version=" + VERSION.encode() + b" HTTP/1.1\r\nHost: x\r\n"
     b"api-key: " + KEY.encode() + b"\r\n"),  # headers never finished
    b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",  # a TLS hello to a plain HTTP port
    b"GARBAGE\r\n\r\n",
]


def normal_request_works(handle) -> None:
    with httpx.Client(timeout=5) as c:
        r = c.post(handle.endpoint + SUBMIT, params={"api-version": VERSION},
                   json={"prompt": "still here", "n": 1, "size": "256x256"},
                   headers={"api-key": KEY})
        assert r.status_code == 202, r.text
        op = r.headers["operation-location"]
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            body = c.get(op, headers={"api-key": KEY}).json()
            if body["status"] == "succeeded":
                url = body["result"]["data"][0]["url"]
                img = c.get(url)
                assert img.status_code == 200 and img.content.startswith(b"\x89PNG")
                return
            time.sleep(0.05)
        pytest.fail("operation did not finish")


def test_keeps_serving_after_clients_disconnect_mid_request(handle):
    host, port = host_port(handle.endpoint)
    for _ in range(10):
        for chunk in HALF_REQUESTS:
            s = socket.create_connection((host, port), timeout=2)
            s.sendall(chunk)
            s.close()
    # and some that reset the connection instead of closing it
    for chunk in HALF_REQUESTS:
        s = socket.create_connection((host, port), timeout=2)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        s.sendall(chunk)
        s.close()
    normal_request_works(handle)


def test_half_open_clients_do_not_block_others(handle):
    host, port = host_port(handle.endpoint)
    hanging = []
    try:
        for chunk in HALF_REQUESTS * 5:  # 30 connections that never finish their request
            s = socket.create_connection((host, port), timeout=2)
            s.sendall(chunk)
            hanging.append(s)
        t0 = time.monotonic()
        normal_request_works(handle)
        assert time.monotonic() - t0 < 5
    finally:
        for s in hanging:
            s.close()
    normal_request_works(handle)


def test_client_that_disconnects_while_waiting_for_latency(handle):
    """A client gives up while the emulator is sleeping its ``latency``: the answer goes nowhere, no crash."""
    host, port = host_port(handle.endpoint)
    handle.config.latency = 0.3
    try:
        for _ in range(5):
            s = socket.create_connection((host, port), timeout=2)
            s.sendall(b"POST " + SUBMIT.encode() + b"?api-version=" + VERSION.encode()
                      + b" HTTP/1.1\r\nHost: x\r\napi-key: " + KEY.encode()
                      + b"\r\nContent-Type: application/json\r\nContent-Length: 19\r\n\r\n"
                      b'{"prompt": "a fox"}')
            s.close()
        time.sleep(0.4)
    finally:
        handle.config.latency = 0.0
    normal_request_works(handle)
