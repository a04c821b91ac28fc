"""The emulator over real HTTP (httpx against the ``emu`` fixture), no mocks.

The lifecycle, the poll body, DELETE, api-version, auth, errors and Retry-After
of CONTRACT.md section 1, and the image host: deterministic PNGs, signed links,
no key wanted there. Fault knobs, load, binding, the handle, ``embedded()`` and
the CLI are in test_emulator_faults.py / test_emulator_server.py.

Times are only lower bounds or generous deadlines: nothing here asserts that
something was fast.
"""
from __future__ import annotations

import base64
import io
import time
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import httpx
import pytest
from fakes import FAKE_KEY
from PIL import Image

VERSION = "2023-06-01-preview"
SUBMIT = "/openai/images/generations:submit"
TERMINAL = {"succeeded", "failed", "canceled", "deleted"}
ORDER = ["notRunning", "running", "succeeded"]


# ---------------------------------------------------------------- helpers

@pytest.fixture
def http(emu):
    """A plain httpx client on the emulator's API origin, with the key."""
    with httpx.Client(base_url=emu.endpoint, headers={"api-key": FAKE_KEY}, timeout=10) as c:
        yield c


def submit(http: httpx.Client, prompt: str = "a red fox", **body: Any) -> httpx.Response:
    return http.post(SUBMIT, params={"api-version": VERSION}, json={"prompt": prompt, **body})


def op_path(op_id: str) -> str:
    return f"/openai/operations/images/{op_id}"


def poll(http: httpx.Client, op_id: str) -> httpx.Response:
    return http.get(op_path(op_id), params={"api-version": VERSION})


def wait_terminal(http: httpx.Client, op_id: str, deadline: float = 15.0) -> dict:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        r = poll(http, op_id)
        assert r.status_code == 200, r.text
        body = r.json()
        if body["status"] in TERMINAL:
            return body
        time.sleep(0.03)
    raise AssertionError(f"operation {op_id} not terminal after {deadline}s")


def generate(http: httpx.Client, prompt: str = "a red fox", **body: Any) -> dict:
    r = submit(http, prompt, **body)
    assert r.status_code == 202, r.text
    return wait_terminal(http, r.json()["id"])


def assert_azure_error(r: httpx.Response, status: int, code: str | None = None) -> dict:
    """Status, JSON ``{"error": {"code", "message"}}`` and the apim-request-id header."""
    assert r.status_code == status, (r.status_code, r.text)
    assert r.headers.get("content-type", "").startswith("application/json")
    body = r.json()
    err = body["error"]
    assert isinstance(err["code"], str) and err["code"]
    assert isinstance(err["message"], str) and err["message"]
    if code is not None:
        assert err["code"] == code, err
    assert r.headers.get("apim-request-id")
    return err


def png_size(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as img:
        img.load()
        assert img.format == "PNG"
        return img.size


def with_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    q = {k: v[0] for k, v in parse_qs(parts.query).items()}
    q.update(changes)
    return urlunsplit(parts._replace(query=urlencode(q)))


# ---------------------------------------------------------------- lifecycle

def test_submit_poll_lifecycle_in_order(emu, http):
    emu.config.processing_time = 1.5
    t_sent = time.monotonic()
    r = submit(http, n=2, size="256x256")
    assert r.status_code == 202, r.text
    first = r.json()
    assert first["status"] == "notRunning"
    assert isinstance(first["id"], str) and first["id"]
    seen: list[str] = []
    first_poll_sent = None
    t_succeeded = None
    end = time.monotonic() + 15
    while time.monotonic() < end:
        t_poll = time.monotonic()
        first_poll_sent = first_poll_sent or t_poll
        body = poll(http, first["id"]).json()
        if not seen or seen[-1] != body["status"]:
            seen.append(body["status"])
        if body["status"] in TERMINAL:
            t_succeeded = time.monotonic()
            break
        time.sleep(0.02)
    assert seen[-1] == "succeeded", seen
    assert "running" in seen, seen
    # Each status appears once and in contract order: never back to an earlier one.
    assert seen == [s for s in ORDER if s in seen], seen
    # notRunning lasts the first tenth of the job (0.15 s); a poll sent well inside it sees it.
    if first_poll_sent - t_sent < 0.1:
        assert seen[0] == "notRunning", seen
    # Lower bound only: the job cannot finish before its processing time.
    assert t_succeeded - t_sent >= 1.5


def test_operation_location_is_absolute_on_own_host(emu, http):
    r = submit(http)
    op_id = r.json()["id"]
    loc = r.headers["operation-location"]
    parts = urlsplit(loc)
    api = urlsplit(emu.endpoint)
    assert parts.scheme == "http"
    assert parts.netloc == api.netloc  # the API listener, not the image host
    assert parts.path == op_path(op_id)
    assert parse_qs(parts.query) == {"api-version": [VERSION]}
    # The location polls as-is.
    assert http.get(loc).status_code == 200


def test_poll_body_shape(emu, http):
    r = submit(http, n=3, size="256x256")
    t_wall = time.time()
    body = wait_terminal(http, r.json()["id"])
    assert body["id"] == r.json()["id"]
    assert body["status"] == "succeeded"
    created, expires = body["created"], body["expires"]
    assert isinstance(created, int) and isinstance(expires, int)
    assert abs(created - t_wall) < 60
    assert expires == created + int(emu.config.image_ttl)
    assert abs(expires - (created + 86400)) <= 1  # 24 h by default
    assert body["result"]["created"] == created
    data = body["result"]["data"]
    assert len(data) == 3
    img_host = urlsplit(emu.images_endpoint).netloc
    for i, item in enumerate(data):
        url = urlsplit(item["url"])
        assert url.netloc == img_host
        assert url.path.endswith(f"/generated_{i:02d}.png")
        q = parse_qs(url.query)
        assert "se" in q and "sig" in q
    assert "error" not in body


def test_poll_before_done_has_no_result(emu, http):
    emu.config.processing_time = 5
    op_id = submit(http).json()["id"]
    body = poll(http, op_id).json()
    assert body["status"] in ("notRunning", "running")
    assert "result" not in body and "error" not in body


# ---------------------------------------------------------------- delete

def test_delete_rules(emu, http):
    emu.config.processing_time = 0.6
    op_id = submit(http, size="256x256").json()["id"]
    r = http.delete(op_path(op_id), params={"api-version": VERSION})
    err = assert_azure_error(r, 409)
    assert "finished" in err["message"]
    body = wait_terminal(http, op_id)
    url = body["result"]["data"][0]["url"]
    assert httpx.get(url).status_code == 200
    r = http.delete(op_path(op_id), params={"api-version": VERSION})
    assert r.status_code == 204 and r.content == b""
    again = http.delete(op_path(op_id), params={"api-version": VERSION})
    assert again.status_code == 204  # idempotent
    after = poll(http, op_id)
    assert after.status_code == 200
    assert after.json()["status"] == "deleted"
    assert "result" not in after.json()
    gone = httpx.get(url)
    assert gone.status_code == 404
    assert b"BlobNotFound" in gone.content


def test_delete_failed_and_unknown(emu, http):
    body = generate(http, "CONTENT_FILTER please")
    assert body["status"] == "failed"
    assert http.delete(op_path(body["id"]), params={"api-version": VERSION}).status_code == 204
    r = http.delete(op_path("00000000-0000-0000-0000-000000000000"), params={"api-version": VERSION})
    assert_azure_error(r, 404, "404")


# ---------------------------------------------------------------- api-version

@pytest.mark.parametrize("method", ["submit", "poll", "delete"])
def test_api_version_missing_is_400_unknown_is_404(http, method):
    op_id = submit(http).json()["id"]

    def call(params: dict) -> httpx.Response:
        if method == "submit":
            return http.post(SUBMIT, params=params, json={"prompt": "x"})
        if method == "poll":
            return http.get(op_path(op_id), params=params)
        return http.delete(op_path(op_id), params=params)

    err = assert_azure_error(call({}), 400, "MissingApiVersionParameter")
    assert "api-version" in err["message"]
    err = assert_azure_error(call({"api-version": "1999-01-01"}), 404, "404")
    assert err["message"] == "Resource not found"
    err = assert_azure_error(call({"api-version": "2023-06-01"}), 404, "404")


def test_sync_only_versions_have_no_submit_route(http):
    for version in ("2024-10-21", "2025-04-01-preview"):
        r = http.post(SUBMIT, params={"api-version": version}, json={"prompt": "x"})
        assert_azure_error(r, 404, "404")


# ---------------------------------------------------------------- auth

def test_no_key_and_wrong_key_are_401(emu):
    url = emu.endpoint + SUBMIT
    for headers in ({}, {"api-key": "wrong-fake-key"}, {"api-key": ""},
                    {"Authorization": "Basic Zm9vOmJhcg=="}, {"Authorization": "Bearer"},
                    {"Authorization": "Bearer some-token"}):
        r = httpx.post(url, params={"api-version": VERSION}, json={"prompt": "x"}, headers=headers)
        assert_azure_error(r, 401, "401")
    # The poll and delete routes check too, even for unknown ids.
    r = httpx.get(emu.endpoint + op_path("nope"), params={"api-version": VERSION})
    assert_azure_error(r, 401)


def test_bearer_tokens_and_accept_any_bearer(emu):
    url = emu.endpoint + SUBMIT
    params = {"api-version": VERSION}

    def post(token: str) -> int:
        return httpx.post(url, params=params, json={"prompt": "x"},
                          headers={"Authorization": f"Bearer {token}"}).status_code

    assert post("fake-entra-token") == 401  # refused by default
    emu.config.bearer_tokens = {"fake-entra-token"}
    assert post("fake-entra-token") == 202
    assert post("another-fake-token") == 401
    emu.config.accept_any_bearer = True
    assert post("another-fake-token") == 202
    emu.config.update(bearer_tokens=set(), accept_any_bearer=False)
    assert post("fake-entra-token") == 401
    # A wrong api-key is not rescued by a valid bearer token alongside it.
    emu.config.bearer_tokens = {"fake-entra-token"}
    r = httpx.post(url, params=params, json={"prompt": "x"},
                   headers={"api-key": "wrong", "Authorization": "Bearer fake-entra-token"})
    assert r.status_code == 401


# ---------------------------------------------------------------- 404s and error shape

def test_unknown_ids_and_paths_are_404(emu, http):
    for op_id in ("00000000-0000-0000-0000-000000000000", "not-an-id"):
        assert_azure_error(poll(http, op_id), 404, "404")
    for path in ("/openai/images/generations", "/openai/deployments/x/images/generations",
                 "/", "/openai/operations/images/", "/nothing/here"):
        r = http.get(path, params={"api-version": VERSION})
        err = assert_azure_error(r, 404, "404")
        assert err["message"] == "Resource not found"
    r = http.post("/openai/images/generations:submitx", params={"api-version": VERSION},
                  json={"prompt": "x"})
    assert_azure_error(r, 404, "404")


def test_apim_request_id_on_every_answer(emu, http):
    ids = set()
    r1 = submit(http)
    r2 = poll(http, r1.json()["id"])
    r3 = http.get("/nope", params={"api-version": VERSION})
    r4 = httpx.get(emu.endpoint + "/nope")
    for r in (r1, r2, r3, r4):
        assert r.headers.get("apim-request-id"), r
        ids.add(r.headers["apim-request-id"])
    assert len(ids) == 4  # one per request
    assert r4.headers.get("x-ms-error-code") == "401"


# ---------------------------------------------------------------- Retry-After

def test_retry_after_on_polls_when_configured(emu, http):
    emu.config.processing_time = 5
    op_id = submit(http).json()["id"]
    emu.config.retry_after = None  # the fixture's setting
    assert "retry-after" not in poll(http, op_id).headers
    emu.config.retry_after = 2
    r = poll(http, op_id)
    assert r.json()["status"] in ("notRunning", "running")
    assert r.headers["retry-after"] == "2"
    emu.config.retry_after = None
    assert "retry-after" not in poll(http, op_id).headers


def test_no_retry_after_once_terminal(emu, http):
    emu.config.retry_after = 1
    body = generate(http, size="256x256")
    r = poll(http, body["id"])
    assert r.json()["status"] == "succeeded"
    assert "retry-after" not in r.headers


# ---------------------------------------------------------------- images

def _urls(body: dict) -> list[str]:
    return [d["url"] for d in body["result"]["data"]]


@pytest.mark.parametrize("size", ["256x256", "512x512", "1024x1024"])
def test_images_open_at_requested_size(http, size):
    body = generate(http, f"a lighthouse at {size}", n=1, size=size)
    r = httpx.get(_urls(body)[0])
    assert r.status_code == 200
    assert r.headers["content-type"] == "image/png"
    w, h = (int(x) for x in size.split("x"))
    assert png_size(r.content) == (w, h)


def test_default_size_is_1024(http):
    r = http.post(SUBMIT, params={"api-version": VERSION}, json={"prompt": "no size"})
    body = wait_terminal(http, r.json()["id"])
    assert png_size(httpx.get(_urls(body)[0]).content) == (1024, 1024)


def test_images_are_deterministic_for_prompt_index_size(http):
    a = [httpx.get(u).content for u in _urls(generate(http, "a blue whale", n=2, size="256x256"))]
    b = [httpx.get(u).content for u in _urls(generate(http, "a blue whale", n=2, size="256x256"))]
    assert a == b  # same (prompt, index, size) in two operations: same bytes
    assert a[0] != a[1]  # the index matters
    other = [httpx.get(u).content
             for u in _urls(generate(http, "a green whale", n=2, size="256x256"))]
    assert other[0] != a[0] and other[1] != a[1]  # the prompt matters
    bigger = httpx.get(_urls(generate(http, "a blue whale", n=1, size="512x512"))[0]).content
    assert bigger != a[0] and png_size(bigger) == (512, 512)  # the size matters
    # A second download of the same link is the same too.
    u = _urls(generate(http, "a blue whale", n=1, size="256x256"))[0]
    assert httpx.get(u).content == httpx.get(u).content == a[0]


def test_b64_json_response_format(http):
    body = generate(http, "a b64 owl", n=2, size="256x256", response_format="b64_json")
    data = body["result"]["data"]
    assert len(data) == 2 and all("url" not in d for d in data)
    pngs = [base64.b64decode(d["b64_json"]) for d in data]
    assert all(png_size(p) == (256, 256) for p in pngs)
    as_urls = [httpx.get(u).content for u in _urls(generate(http, "a b64 owl", n=2, size="256x256"))]
    assert pngs == as_urls


def test_image_host_needs_no_key_and_is_another_port(emu, http):
    body = generate(http, "a keyless kite", size="256x256")
    url = _urls(body)[0]
    assert urlsplit(url).port != urlsplit(emu.endpoint).port
    assert url.startswith(emu.images_endpoint + "/")
    emu.reset_stats()
    r = httpx.get(url)  # no api-key, no Authorization
    assert r.status_code == 200
    rec = [x for x in emu.requests if x.listener == "images"]
    assert rec and rec[-1].credentials is False and rec[-1].status == 200
    # The API listener does not serve image paths, with or without a key.
    r = http.get(urlsplit(url).path, params={**parse_qs(urlsplit(url).query), "api-version": VERSION})
    assert_azure_error(r, 404, "404")
    # Nor does the image host serve the API.
    r = httpx.get(emu.images_endpoint + op_path(body["id"]), params={"api-version": VERSION},
                  headers={"api-key": FAKE_KEY})
    assert r.status_code == 404


def test_sas_tampered_links_are_403(http):
    url = _urls(generate(http, "a signed swan", n=2, size="256x256"))[0]
    assert httpx.get(url).status_code == 200
    q = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    sig = q["sig"]
    flipped = ("A" if sig[0] != "A" else "B") + sig[1:]
    cases = {
        "sig": with_query(url, sig=flipped),
        "se later": with_query(url, se="2099-01-01T00:00:00Z"),
        "se garbage": with_query(url, se="tomorrow"),
        "other image, same sig": url.replace("generated_00.png", "generated_01.png"),
    }
    parts = urlsplit(url)
    cases["no sig"] = urlunsplit(parts._replace(query=urlencode({"se": q["se"]})))
    cases["no query"] = urlunsplit(parts._replace(query=""))
    for name, bad in cases.items():
        r = httpx.get(bad)
        assert r.status_code == 403, name
        assert r.headers.get("x-ms-error-code") == "AuthenticationFailed", name
        assert b"AuthenticationFailed" in r.content, name
    assert httpx.get(url).status_code == 200  # the real link still works


def test_sas_expired_link_is_403(emu, http):
    emu.config.image_ttl = 1
    body = generate(http, "a short-lived snail", size="256x256")
    assert body["expires"] == body["created"] + 1
    url = _urls(body)[0]
    # Wait past the signed expiry (at most ~2 s since created is whole seconds).
    while time.time() < body["expires"] + 0.05:
        time.sleep(0.05)
    r = httpx.get(url)
    assert r.status_code == 403
    assert b"expired" in r.content
    # A fresh poll with a long TTL signs a fresh link for the same image.
    emu.config.image_ttl = 3600
    fresh = _urls(poll(http, body["id"]).json())[0]
    assert httpx.get(fresh).status_code == 200


def test_image_of_unknown_operation_is_404_not_403(emu, http):
    url = _urls(generate(http, "a real one", size="256x256"))[0]
    r = httpx.get(emu.images_endpoint + "/private/images/whatever.png")
    assert r.status_code == 404
    # Index beyond n with a valid-looking path but no signature for it: refused.
    assert httpx.get(url.replace("generated_00", "generated_07")).status_code == 403


def test_a_405_names_the_allowed_methods_on_every_route(emu, http):
    """RFC 9110: a 405 carries ``Allow``; the legacy routes as the synchronous ones (one mechanism)."""
    op_id = generate(http, "an allowed ant", size="256x256")["id"]
    url = _urls(poll(http, op_id).json())[0]
    v = {"api-version": VERSION}
    cases = [
        (http, "GET", SUBMIT, {"POST"}),
        (http, "PUT", SUBMIT, {"POST"}),
        (http, "POST", op_path(op_id), {"GET", "DELETE"}),
        (http, "PATCH", op_path(op_id), {"GET", "DELETE"}),
        (http, "POST", "/openapi.json", {"GET"}),
    ]
    sync = {"api-version": "2024-10-21"}
    cases += [(http, m, f"/openai/deployments/d/images/{route}", {"POST"})
              for m in ("GET", "DELETE") for route in ("generations", "edits")]
    for client, method, path, allowed in cases:
        params = sync if "/deployments/" in path else v
        r = client.request(method, path, params=params)
        assert_azure_error(r, 405)
        assert set(r.headers.get("allow", "").split(", ")) == allowed, (method, path, r.headers)
    # the image host too, and with no key
    r = httpx.post(url)
    assert r.status_code == 405 and r.headers.get("allow") == "GET"
    # what a route does allow is never a 405
    assert http.get(op_path(op_id), params=v).status_code == 200
    assert httpx.get(url).status_code == 200
