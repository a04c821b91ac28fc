"""Fuzz every public entry point: invalid input never reaches the network, and ends in a
clear error (ValidationError naming the field).

Each property runs >= 1000 hypothesis examples. The network guard is either an httpx
transport that records every request (the oracle then says whether the input was valid,
so a request is allowed only for valid input) or, for the panels (whose pooled client
cannot be given a transport), a loopback HTTP server that counts what reaches it.
"""
from __future__ import annotations

import asyncio
import json
import math
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from helpers import front_end_update
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import azimage_widgets as aw
from azimage_widgets.client import Connection, ImageClient
from azimage_widgets.contract import API_VERSIONS, N_MAX, PROMPT_MAX_CHARS, SIZES, ImageRequest, version_spec

KEY = "fuzz-fake-key-5d1e77"
ENDPOINT = "https://res.openai.azure.com"
FUZZ = settings(max_examples=1000, deadline=None, database=None,
                suppress_health_check=list(HealthCheck))

#: Lone surrogates ("\ud800" in a browser's JSON decodes to one) are ValidationErrors (the
#: contract's check_text), so every property fuzzes them too; see the tests at the end.
SURROGATES_FIXED = True
any_char = st.one_of(st.characters(), st.characters(categories=["Cs"])) if SURROGATES_FIXED \
    else st.characters(codec="utf-8")
any_text = st.lists(any_char, max_size=30).map("".join)  # st.text() mostly drops surrogates
prompts = st.one_of(
    any_text,
    st.text(alphabet=" \t\n\u00a0\u2003\u3000", max_size=5),
    st.builds(lambda c, k: c * k, st.sampled_from("ab \n"),
              st.integers(PROMPT_MAX_CHARS - 2, PROMPT_MAX_CHARS + 3)),
    st.integers(), st.none(), st.binary(max_size=4), st.lists(st.text(max_size=3), max_size=2),
)
ns = st.one_of(st.integers(-3, N_MAX + 3), st.booleans(), st.floats(allow_nan=True), st.none(),
               st.text(max_size=2), st.integers(min_value=2**40))
sizes = st.one_of(st.none(), st.sampled_from(SIZES),
                  st.sampled_from(["1792x1024", "256X256", " 512x512", ""]), any_text, st.integers())
users = st.one_of(st.none(), any_text, st.integers(), st.booleans())
versions = st.one_of(st.none(), st.sampled_from(API_VERSIONS), st.sampled_from(["2024-10-21", "", "latest"]),
                     any_text, st.integers())


def encodable(s: str) -> bool:
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


#: Per-version limits as CONTRACT.md states them (sizes, n min, n max, prompt max): the oracle
#: is written from the contract, not from the client's tables.
CONTRACT_LIMITS = {
    "2023-06-01-preview": (("1024x1024", "512x512", "256x256"), 1, 5, 1000),
    "2024-10-21": (("1024x1024", "1792x1024", "1024x1792"), 1, 1, 4000),
    "2025-04-01-preview": (("auto", "1024x1024", "1024x1536", "1536x1024"), 1, 10, 32000),
}
SYNC_VERSIONS = {v for v in API_VERSIONS if version_spec(v).is_sync}  # deployments path and v1


def limits(version):
    version = version or "2023-06-01-preview"
    if version in CONTRACT_LIMITS:
        return CONTRACT_LIMITS[version]
    from azimage_widgets.contract import version_spec  # a version added later: its own table
    spec = version_spec(version)
    return spec.sizes, 1, spec.n_max, spec.prompt_max


def is_valid_call(prompt, size, n, user, version) -> bool:
    """An oracle written from the contract (CONTRACT.md sections 1 and 2), not from the client's code."""
    if version not in (None, "") and version not in API_VERSIONS:
        return False
    sizes, n_min, n_max, prompt_max = limits(version)
    if not isinstance(prompt, str) or not prompt.strip() or len(prompt) > prompt_max:
        return False
    if not encodable(prompt):
        return False
    if isinstance(n, bool) or not isinstance(n, int) or not n_min <= n <= n_max:
        return False
    if size is not None and size not in sizes:
        return False
    if user is not None and (not isinstance(user, str) or not encodable(user)):
        return False
    if version not in (None, "") and version not in API_VERSIONS:
        return False
    return True


def is_valid_operation_id(op) -> bool:
    """An id that stays one path segment whatever normalizes the URL: non-empty, printable text,
    at most 256 characters, no '/', not a dot segment."""
    return (isinstance(op, str) and bool(op.strip()) and encodable(op) and op.isprintable()
            and len(op) <= 256 and "/" not in op and op not in (".", ".."))


class Recorder:
    """An httpx transport that records requests and answers like a successful submit."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(202, json={"id": "op-1", "status": "notRunning"}, headers={
            "operation-location": f"{ENDPOINT}/openai/operations/images/op-1?api-version=2023-06-01-preview"})


@pytest.fixture(scope="module")
def loop():
    lp = asyncio.new_event_loop()
    yield lp
    lp.run_until_complete(ImageClient.close_shared())
    lp.close()


def check_error(exc: BaseException, fields: set[str]) -> None:
    assert isinstance(exc, aw.ValidationError), f"unclear error: {type(exc).__name__}: {exc}"
    assert exc.field in fields, exc.field
    assert str(exc).startswith(exc.field)
    assert KEY not in str(exc)


# -- ImageRequest -----------------------------------------------------------------------------------

@FUZZ
@given(prompt=prompts, size=sizes, n=ns, user=users, version=versions)
def test_image_request(prompt, size, n, user, version):
    kw = {"prompt": prompt, "size": size, "n": n, "user": user}
    if version is not None:
        kw["api_version"] = version
    valid = is_valid_call(prompt, size, n, user, version) and version != ""
    try:
        req = ImageRequest(**kw)
    except Exception as exc:  # noqa: BLE001
        assert not valid, f"valid input refused: {exc!r}"
        check_error(exc, {"prompt", "size", "n", "user", "api_version"})
        return
    assert valid, f"invalid input accepted: {kw!r}"
    body = req.to_json()
    json.dumps(body).encode("utf-8")  # what goes on the wire can be encoded
    sizes, n_min, n_max, _ = limits(version)
    assert body.get("size", sizes[0]) in sizes and n_min <= body.get("n", 1) <= n_max


# -- ImageClient.request_image / generate -------------------------------------------------------------

@FUZZ
@given(prompt=prompts, size=sizes, n=ns, user=users, version=versions,
       method=st.sampled_from(["request_image", "generate"]))
def test_request_image_args(loop, prompt, size, n, user, version, method):
    assume(version not in SYNC_VERSIONS)  # the synchronous flow (issue 5) is still being built
    rec = Recorder()
    valid = is_valid_call(prompt, size, n, user, version)

    async def go():
        async with ImageClient(Connection(ENDPOINT, api_key=KEY),
                               transport=httpx.MockTransport(rec)) as client:
            call = getattr(client, method)
            if method == "generate":  # stop after the submit: polls are not the point here
                return await call(prompt, size=size, n=n, user=user, api_version=version, timeout=0.01)
            return await call(prompt, size=size, n=n, user=user, api_version=version)

    try:
        loop.run_until_complete(go())
    except aw.ValidationError as exc:
        assert not valid, f"valid input refused: {exc}"
        check_error(exc, {"prompt", "size", "n", "user", "api_version", "timeout"})
        assert rec.requests == [], "invalid input reached the network"
        return
    except (aw.ApiError, aw.OperationTimeout):
        pass  # the mock answers only submits; polls of ``generate`` fail: that is after the network
    except Exception as exc:  # noqa: BLE001
        assert rec.requests == [], "invalid input reached the network"
        pytest.fail(f"unclear error for {prompt!r:.40}/{size!r}/{n!r}/{user!r:.20}/{version!r:.20}: "
                    f"{type(exc).__name__}: {exc}")
    assert valid, "invalid input was sent"
    assert rec.requests and rec.requests[0].method == "POST"
    body = json.loads(rec.requests[0].content)
    ImageRequest(**body)  # what was sent satisfies the contract


@FUZZ
@given(op=st.one_of(any_text, st.sampled_from(["", " ", "\t", "a/b", "?x", "../../x", "%2e%2e"]),
                    st.integers(), st.none(), st.lists(st.text(max_size=2), max_size=2)),
       method=st.sampled_from(["download_image", "get_operation", "delete_operation"]))
def test_operation_id_args(loop, op, method):
    rec = Recorder()

    async def go():
        async with ImageClient(Connection(ENDPOINT, api_key=KEY),
                               transport=httpx.MockTransport(rec)) as client:
            kw = {"timeout": 0.01} if method == "download_image" else {}
            await getattr(client, method)(op, **kw)

    valid = is_valid_operation_id(op)
    try:
        loop.run_until_complete(go())
    except aw.ValidationError as exc:
        assert not valid, f"valid id refused: {exc}"
        check_error(exc, {"operation_id"})
        assert rec.requests == []
        return
    except (aw.ApiError, aw.OperationTimeout):
        pass
    except Exception as exc:  # noqa: BLE001
        assert rec.requests == [], "invalid input reached the network"
        pytest.fail(f"unclear error for operation id {op!r:.40}: {type(exc).__name__}: {exc}")
    assert valid, "invalid operation id was sent"
    for r in rec.requests:  # the id stays inside the operations path, whatever it holds
        assert r.url.host == "res.openai.azure.com"
        assert r.url.raw_path.startswith(b"/openai/operations/images/")
        assert r.url.raw_path.count(b"/") == 4


@FUZZ
@given(url=st.one_of(any_text, st.sampled_from(
    ["ftp://h/x.png", "file:///etc/passwd", "data:image/png;base64,AAAA", "//h/x", "http://", "https://:0/x",
     "javascript:alert(1)", "http://[::1", "https://h:99999/x"]), st.integers(), st.none()))
def test_fetch_image_url(loop, url):
    rec = Recorder()

    async def go():
        async with ImageClient(Connection(ENDPOINT, api_key=KEY),
                               transport=httpx.MockTransport(rec)) as client:
            await client.fetch_image(url)

    try:
        loop.run_until_complete(go())
    except aw.ValidationError as exc:
        check_error(exc, {"url"})
        assert rec.requests == []
        return
    except aw.ImageFetchError:
        pass  # it was a URL, and what came back is not an image: after the network
    assert rec.requests, "accepted without fetching"
    assert str(rec.requests[0].url).startswith(("http://", "https://"))


@FUZZ
@given(prompts_=st.one_of(st.lists(prompts, max_size=4), any_text, st.integers(), st.none()),
       concurrency=st.one_of(st.integers(-2, 3), st.integers(min_value=999), st.booleans(), st.floats(),
                             st.none()),
       keep_going=st.booleans())
def test_generate_many_args(loop, prompts_, concurrency, keep_going):
    rec = Recorder()

    async def go():
        async with ImageClient(Connection(ENDPOINT, api_key=KEY),
                               transport=httpx.MockTransport(rec)) as client:
            return await client.generate_many(prompts_, size="256x256", concurrency=concurrency,
                                              continue_on_error=keep_going, timeout=0.01)

    ok_list = isinstance(prompts_, list)
    ok_conc = not isinstance(concurrency, bool) and isinstance(concurrency, int) and 1 <= concurrency <= 1000
    try:
        out = loop.run_until_complete(go())
    except aw.ValidationError as exc:
        assert rec.requests == [] or keep_going
        check_error(exc, {"prompts", "concurrency"} | {f"prompts[{i}].prompt" for i in range(5)})
        return
    except Exception as exc:  # noqa: BLE001
        if isinstance(exc, (aw.ApiError, aw.OperationTimeout, aw.client.BatchError)) and not keep_going:
            return
        pytest.fail(f"unclear error: {type(exc).__name__}: {exc}")
    assert ok_list and ok_conc
    assert len(out) == len(prompts_)  # one entry per input, in order
    sent = [json.loads(r.content)["prompt"] for r in rec.requests if r.method == "POST"]
    for p, entry in zip(prompts_, out, strict=True):
        if not is_valid_call(p, "256x256", 1, None, None):
            assert isinstance(entry, Exception), "invalid prompt got a result"
            assert p not in sent, "invalid prompt reached the network"
            if isinstance(entry, aw.ValidationError):
                assert entry.field.endswith(".prompt")
            else:
                pytest.fail(f"unclear error for prompt {p!r:.30}: {type(entry).__name__}: {entry}")


# -- Connection ---------------------------------------------------------------------------------------

endpoints = st.one_of(
    any_text, st.none(), st.integers(),
    st.sampled_from([ENDPOINT, ENDPOINT + "/", "http://127.0.0.1:8080", "http://localhost", "http://[::1]:5",
                     "http://10.0.0.1", "http://res.openai.azure.com", "https://u:p@h.com", "https://h.com?x=1",
                     "https://h.com#f", "https://h.com:99999", "ftp://h.com", "https://", " https://h.com ",
                     "HTTPS://H.COM", "https://h.com/openai"]),
)
numbers = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-5, 100), st.booleans(),
                    st.none(), st.text(max_size=3))


@FUZZ
@given(endpoint=endpoints,
       api_key=st.one_of(st.just(KEY), st.none(), st.just(""), st.just("  "), st.integers()),
       version=versions, token=st.sampled_from([None, "callable", "not callable"]),
       deployment=st.one_of(st.none(), any_text, st.integers()), timeout=numbers, poll_timeout=numbers,
       max_retries=st.one_of(st.integers(-2, 25), st.floats(), st.booleans(), st.none()))
def test_connection_args(endpoint, api_key, version, token, deployment, timeout, poll_timeout, max_retries):
    kw = {"timeout": timeout, "poll_timeout": poll_timeout, "max_retries": max_retries,
          "deployment": deployment}
    kw = {k: v for k, v in kw.items() if v is not None or k == "deployment"}
    if version is not None:
        kw["api_version"] = version
    if token == "callable":
        kw["token_provider"] = lambda: "tok"
    elif token == "not callable":
        kw["token_provider"] = "tok"
    fields = {"endpoint", "api_key", "api_version", "token_provider", "deployment", "timeout",
              "poll_timeout", "max_retries"}
    try:
        conn = Connection(endpoint, api_key=api_key, **kw)
    except aw.ValidationError as exc:
        check_error(exc, fields)
        return
    except Exception as exc:  # noqa: BLE001
        pytest.fail(f"unclear error: {type(exc).__name__}: {exc}")
    # accepted: every setting is sane
    assert conn.endpoint.startswith(("https://", "http://"))
    if conn.endpoint.startswith("http://"):
        from azimage_widgets.client.connection import is_loopback_host
        assert is_loopback_host(httpx.URL(conn.endpoint).host)
    assert conn.api_version in API_VERSIONS
    for t in (conn.timeout, conn.poll_timeout):
        assert isinstance(t, float) and t > 0 and math.isfinite(t)
    assert isinstance(conn.max_retries, int) and 0 <= conn.max_retries <= 20
    assert KEY not in repr(conn) and KEY not in str(conn.to_dict())


# -- panels, edited from the browser ---------------------------------------------------------------------

class CountingServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        outer = self

        class H(BaseHTTPRequestHandler):
            def log_message(self, *a):  # quiet
                pass

            def _answer(self):
                n = int(self.headers.get("content-length") or 0)
                outer.bodies.append(self.rfile.read(n))
                body = b'{"error": {"code": "fuzz", "message": "the fuzz server refuses everything"}}'
                self.send_response(400)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_POST = do_GET = do_DELETE = _answer

        super().__init__(("127.0.0.1", 0), H)


@pytest.fixture(scope="module")
def counting_server():
    srv = CountingServer()
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield srv
    srv.shutdown()
    srv.server_close()


browser_values = st.one_of(
    any_text, st.text(alphabet="x ", min_size=995, max_size=1005), st.integers(-10, 10), st.integers(),
    st.floats(allow_nan=True), st.booleans(), st.none(), st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=2), st.integers(), max_size=1),
)
REQ_FIELDS = ["azimage-name", "azimage-prompt", "azimage-size", "azimage-n", "azimage-version",
              "azimage-output", "azimage-continue-on-error", "azimage-follow"]
DL_FIELDS = ["azimage-name", "azimage-image-id", "azimage-version", "azimage-output",
             "azimage-continue-on-error"]
state_keys = st.sampled_from(["value", "value", "value", "index", "label", "max", "min", "options",
                              "disabled"])


def edits(fields: list[str]):
    return st.lists(st.tuples(st.sampled_from(fields),
                              st.dictionaries(state_keys, browser_values, min_size=1, max_size=2)),
                    min_size=1, max_size=4)


def find(panel, css: str):
    from azimage_widgets.widgets import walk
    return next(w for w in walk(panel) if css in getattr(w, "_dom_classes", ()))


def check_activity_config(a) -> None:
    """Whatever the browser sent, the activity only ever holds values the contract accepts."""
    assert a.api_version in API_VERSIONS
    a.check_name(a.name)
    if hasattr(a, "prompt"):
        sizes, n_min, n_max, prompt_max = limits(a.api_version)
        assert isinstance(a.prompt, str) and len(a.prompt) <= prompt_max
        assert a.size in sizes
        assert not isinstance(a.n, bool) and n_min <= a.n <= n_max


FIELD_CSS = set(REQ_FIELDS) | set(DL_FIELDS)


def reset(panel) -> None:
    """Undo what the previous example's browser did (a fresh panel per example costs ~35 ms)."""
    from azimage_widgets.widgets import walk
    for w in walk(panel):
        classes = set(getattr(w, "_dom_classes", ()))
        if classes & FIELD_CSS:
            if "azimage-n" in classes:
                # widen first: the browser may have left max below 1 or min above N_MAX, and a
                # min over max is a TraitError whichever bound is set first
                w.max = max(w.max, N_MAX)
                w.min = 1
                w.max = N_MAX
            if hasattr(w, "disabled"):
                w.disabled = False
    panel._discard()
    panel.frame.collapsed = False
    assert not panel.field_errors()


@pytest.fixture(scope="module")
def request_panel(counting_server):
    base = f"http://127.0.0.1:{counting_server.server_address[1]}"
    panel = aw.RequestImagePanel(Connection(base, api_key=KEY, max_retries=0), prompt="a red fox",
                                 namespace={}, follow=False)
    yield panel
    panel.close()


@pytest.fixture(scope="module")
def download_panel(counting_server):
    base = f"http://127.0.0.1:{counting_server.server_address[1]}"
    panel = aw.DownloadImagePanel(Connection(base, api_key=KEY, max_retries=0), namespace={})
    yield panel
    panel.close()


@FUZZ
@given(updates=edits(REQ_FIELDS), start_prompt=st.sampled_from(["", "a red fox"]))
def test_request_panel_fields_from_browser(loop, counting_server, request_panel, updates, start_prompt):
    panel = request_panel
    panel.activity.prompt = start_prompt
    panel.activity.save()
    reset(panel)
    for css, state in updates:
        front_end_update(find(panel, css), state)
        check_activity_config(panel.activity)
    before = len(counting_server.bodies)
    a = panel.activity
    # A refused edit leaves the activity at its last valid value (the field shows why);
    # Generate then sends those valid values, never the refused ones.
    valid_now = is_valid_call(a.prompt, a.size, a.n, a.user, a.api_version)
    # a synchronous version needs a deployment, which this connection does not name
    needs_deployment = a.api_version in SYNC_VERSIONS and panel.activity.connection.deployment is None

    async def generate():
        return await panel.submit()

    try:
        loop.run_until_complete(generate())
    except aw.ValidationError as exc:
        if exc.field == "deployment":
            assert needs_deployment, f"deployment asked for a legacy version: {exc}"
        else:
            assert not valid_now, f"valid panel refused: {exc}"
            assert exc.field in panel.fields or exc.field in ("prompt", "user"), exc.field
        assert len(counting_server.bodies) == before, "invalid panel input reached the network"
        return
    except aw.ApiError:  # the counting server refuses everything with a 400
        pass
    except Exception as exc:  # noqa: BLE001
        assert len(counting_server.bodies) == before, "invalid panel input reached the network"
        pytest.fail(f"unclear error from Generate: {type(exc).__name__}: {exc}")
    sent = counting_server.bodies[before:]
    assert valid_now and not needs_deployment, f"invalid panel input was sent: {sent}"
    assert len(sent) == 1
    body = json.loads(sent[0])
    ImageRequest(**body)
    assert body["prompt"] == a.prompt and body["n"] == a.n and body["size"] == a.size


@FUZZ
@given(updates=edits(DL_FIELDS))
def test_download_panel_fields_from_browser(loop, counting_server, download_panel, updates):
    panel = download_panel
    reset(panel)
    for css, state in updates:
        front_end_update(find(panel, css), state)
        check_activity_config(panel.activity)
    before = len(counting_server.bodies)
    image_id = panel.activity.image_id
    id_error = panel.field_errors().get("image_id")

    async def download():
        return await panel.submit()

    try:
        loop.run_until_complete(download())
    except aw.ValidationError as exc:  # VariableError is one too
        assert len(counting_server.bodies) == before, "invalid panel input reached the network"
        assert exc.field in panel.fields, exc.field
        return
    except aw.ApiError:
        pass
    except Exception as exc:  # noqa: BLE001
        assert len(counting_server.bodies) == before, "invalid panel input reached the network"
        pytest.fail(f"unclear error from Download: {type(exc).__name__}: {exc}")
    # a refused edit of the ID blocks Download (a refused name does not: it is never sent)
    assert not id_error, f"sent although the ID field shows {id_error!r}"
    assert image_id and image_id.strip() and not image_id.startswith("[")
    assert len(counting_server.bodies) > before


# -- lone surrogates: ValidationErrors, not UnicodeEncodeError at send time ---------------------------

@pytest.mark.parametrize("field", ["prompt", "user"])
def test_lone_surrogate_in_request_is_a_validation_error(loop, field):
    rec = Recorder()
    kw = {"prompt": "a fox", "user": None}
    kw[field] = "a \ud800 fox"

    async def go():
        async with ImageClient(Connection(ENDPOINT, api_key=KEY), transport=httpx.MockTransport(rec)) as c:
            await c.request_image(kw["prompt"], user=kw["user"])

    with pytest.raises(aw.ValidationError) as ei:
        loop.run_until_complete(go())
    assert ei.value.field == field and rec.requests == []


def test_lone_surrogate_operation_id_is_a_validation_error(loop):
    rec = Recorder()

    async def go():
        async with ImageClient(Connection(ENDPOINT, api_key=KEY), transport=httpx.MockTransport(rec)) as c:
            await c.get_operation("op-\udfff")

    with pytest.raises(aw.ValidationError) as ei:
        loop.run_until_complete(go())
    assert ei.value.field == "operation_id" and rec.requests == []


def test_lone_surrogate_prompt_from_the_browser_is_refused(loop, counting_server, request_panel):
    reset(request_panel)
    front_end_update(find(request_panel, "azimage-prompt"), {"value": "fox \ud83e"})  # half an emoji
    before = len(counting_server.bodies)

    async def generate():
        return await request_panel.submit()

    with pytest.raises(aw.ValidationError) as ei:
        loop.run_until_complete(generate())
    assert ei.value.field == "prompt" and len(counting_server.bodies) == before
    assert "lone surrogates" in ei.value.limit
    # the panel shows it next to the prompt field
    assert "no lone surrogates" in request_panel.fields["prompt"].error_message


@pytest.mark.parametrize("op", [".", "..", "a/..", "op\x00", "x" * 257])
@pytest.mark.parametrize("method", ["get_operation", "delete_operation", "download_image"])
def test_dot_segment_and_bad_operation_ids_are_refused_before_sending(loop, op, method):
    """Percent-encoding keeps '.' and '..' and httpx then drops dot segments: such an id
    would GET/DELETE /openai/operations/images or /openai/operations. Refused up front."""
    rec = Recorder()

    async def go():
        async with ImageClient(Connection(ENDPOINT, api_key=KEY), transport=httpx.MockTransport(rec)) as c:
            await getattr(c, method)(op)

    with pytest.raises(aw.ValidationError) as ei:
        loop.run_until_complete(go())
    assert ei.value.field == "operation_id" and rec.requests == []


@pytest.mark.parametrize("op", [".", "..", "op\x00", "op-\udfff"])
def test_download_activity_refuses_bad_image_ids(op):
    from azimage_widgets.activities.download_image import DownloadImage
    a = DownloadImage(Connection(ENDPOINT, api_key=KEY))
    with pytest.raises(aw.ValidationError) as ei:
        a.image_id = op
    assert ei.value.field == "image_id" and a.image_id == ""
    a.namespace = {"v": op}
    a.image_id = "[v]"
    with pytest.raises(aw.ValidationError) as ei:
        a.resolve_id()
    assert ei.value.field == "image_id"
