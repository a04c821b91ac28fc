"""A recognizable fake key never leaks: widget state, a saved executed notebook, reprs,
log records, exception texts, and requests to any host other than the endpoint.

Every request the process sends is recorded at httpx's transport (the panels' pooled
clients included), after auth was applied, so "no credential to another host" is checked on
the wire, not on the code path that is supposed to drop it.
"""
from __future__ import annotations

import base64
import json
import logging
import os
import pickle
import traceback
from pathlib import Path

import httpx
import nbformat
import pytest

import azimage_widgets as aw
from azimage_widgets.client import Connection, ImageClient

SECRET = "sk-LEAKCHECK-8c1d4e7f2a9b3c6d"
TOKEN = "eyLEAKCHECK-bearer-token-55aa"
FORMS = [SECRET, TOKEN, SECRET[4:20], TOKEN[2:18],  # fragments, in case of truncation
         base64.b64encode(SECRET.encode()).decode()[:20], SECRET.encode().hex()[:24]]
ROOT = Path(__file__).resolve().parents[2]


def leaks(text: str) -> list[str]:
    return [f for f in FORMS if f in text]


def assert_clean(what: str, text: str) -> None:
    found = leaks(text)
    assert not found, f"secret found in {what}: {found}"


@pytest.fixture
def emu(keyed_emulator):
    return keyed_emulator(SECRET, TOKEN)


def check_wire(sent, *endpoints: str) -> tuple[int, int]:
    origins = {(o.scheme, o.host, o.port) for o in map(httpx.URL, endpoints)}
    own = other = 0
    for url, headers in sent:
        u = httpx.URL(url)
        assert_clean(f"URL {url}", url)
        if (u.scheme, u.host, u.port) in origins:
            own += 1
            continue
        other += 1
        lowered = {k.lower(): v for k, v in headers.items()}
        assert "api-key" not in lowered and "authorization" not in lowered, \
            f"credentials sent to {u.host}:{u.port}"
        assert_clean(f"headers to {u.host}:{u.port}", json.dumps(headers))
    return own, other


def state_text(root) -> str:
    from ipywidgets.widgets.widget import _remove_buffers

    from azimage_widgets.widgets import walk

    parts = []
    for w in walk(root):
        state, _, buffers = _remove_buffers(w.get_state())
        parts.append(json.dumps(state, default=repr))
        parts.extend(bytes(b).decode("latin-1") for b in buffers)
        parts.append(repr(w))
    return "\n".join(parts)


@pytest.mark.parametrize("auth", ["api-key", "bearer"])
async def test_panels_state_reprs_logs_and_wire(emu, wire, caplog, auth):
    caplog.set_level(logging.DEBUG)
    conn = (Connection(emu.endpoint, api_key=SECRET) if auth == "api-key"
            else Connection(emu.endpoint, token_provider=lambda: TOKEN))
    ns: dict = {}
    req = aw.RequestImagePanel(conn, name=f"leak-{auth}", output="fox", prompt="a fox, PARTIAL_FILTER",
                               size="256x256", n=2, namespace=ns)
    ops = await req.submit()
    dl = aw.DownloadImagePanel(conn, name=f"leak-dl-{auth}", image_id="[fox][0]", output="imgs", namespace=ns)
    res = await dl.submit()
    assert len(res.images) == 1 and len(res.errors) == 1
    # a failure too: its text is shown in the panel
    req.activity.prompt = "CONTENT_FILTER please"
    with pytest.raises(aw.ContentFilterError) as ei:
        await req.submit()
    assert_clean("exception", "".join(traceback.format_exception(ei.value)))

    for panel in (req, dl):
        assert_clean(f"widget state of {type(panel).__name__}", state_text(panel))
        assert_clean("config export", json.dumps(panel.activity.config(), default=repr))
    for obj in (conn, ImageClient(conn), req.activity, dl.activity, ops, res, res.result, emu.config, emu):
        assert_clean(f"repr of {type(obj).__name__}", repr(obj) + str(obj))
    assert_clean("Connection.to_dict", json.dumps(conn.to_dict()))
    assert_clean("pickled Connection", pickle.dumps(conn).decode("latin-1"))
    assert_clean("logs", "\n".join(f"{r.name} {r.getMessage()} {r.args!r}" for r in caplog.records))
    own, other = check_wire(wire, emu.endpoint)
    assert own >= 4 and other >= 1, (own, other)  # the images did come from another host
    # and as the image host itself saw it
    image_requests = [r for r in emu.requests if getattr(r, "listener", None) == "images"]
    assert image_requests and not any(r.credentials for r in image_requests)


async def test_error_texts_never_carry_the_key(emu, wire, caplog):
    caplog.set_level(logging.DEBUG)
    texts = []

    async def collect(coro):
        try:
            await coro
        except Exception as exc:  # noqa: BLE001
            texts.append("".join(traceback.format_exception(exc)) + repr(exc))
        else:
            pytest.fail("no error")

    # 401: a wrong key (that is also recognisable) and a right key on a path with bad auth
    wrong = Connection(emu.endpoint, api_key=SECRET + "-wrong", max_retries=0)
    async with ImageClient(wrong) as c:
        await collect(c.request_image("a fox"))
    conn = Connection(emu.endpoint, api_key=SECRET, max_retries=0, timeout=0.5)
    async with ImageClient(conn) as c:
        await collect(c.download_image("no-such-operation"))
        await collect(c.download_image((await c.request_image("slow")).id, timeout=0.01))
        await collect(c.generate("CANCEL_TASK now"))
        await collect(c.fetch_image(emu.endpoint.replace("127.0.0.1", "localhost") + "/nope.png?sig=abc"))
        await collect(c.request_image("x", size="1x1"))
    # a closed port: the connection error names the URL
    dead = Connection("http://127.0.0.1:9", api_key=SECRET, max_retries=0, timeout=0.5)
    async with ImageClient(dead) as c:
        await collect(c.request_image("a fox"))
    # a key passed where it does not belong
    for bad in ({"endpoint": f"https://user:{SECRET}@res.openai.azure.com"},
                {"endpoint": f"https://res.openai.azure.com?key={SECRET}"},
                {"endpoint": f"https://res.openai.azure.com/#api-key={SECRET}"}):
        try:
            Connection(bad["endpoint"], api_key=SECRET)
        except aw.ValidationError as exc:
            texts.append(str(exc) + repr(exc))
    assert len(texts) >= 9
    for t in texts:
        assert_clean("an exception", t)
    assert_clean("logs", "\n".join(f"{r.name} {r.getMessage()} {r.args!r}" for r in caplog.records))
    check_wire(wire, emu.endpoint, "http://127.0.0.1:9")


@pytest.mark.slow
def test_saved_executed_quickstart_has_no_key(tmp_path, monkeypatch, keyed_emulator):
    """Run notebooks/quickstart.ipynb against an emulator with the fake key; grep the saved file."""
    from helpers import isolate_jupyter
    from jupyter_client.kernelspec import KernelSpecManager  # noqa: F401 - same kernel as test_notebooks
    from nbclient import NotebookClient

    handle = keyed_emulator(SECRET)
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", handle.endpoint)
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", SECRET)
    monkeypatch.setenv("AZURE_OPENAI_API_VERSION", "2023-06-01-preview")  # the seeds' flow
    work = isolate_jupyter(tmp_path, monkeypatch)
    nb = nbformat.read(ROOT / "notebooks" / "quickstart.ipynb", as_version=4)
    client = NotebookClient(nb, timeout=120, kernel_name="python3", allow_errors=False,
                            store_widget_state=True, resources={"metadata": {"path": str(work)}})
    client.execute()
    saved = tmp_path / "quickstart.executed.ipynb"
    nbformat.write(nb, saved)
    text = saved.read_text()
    assert handle.endpoint in text or "127.0.0.1" in text  # it did run against this emulator
    assert "widget-state" in text
    assert_clean("the saved executed notebook", text)
    raw = saved.read_bytes()
    assert SECRET.encode() not in raw and base64.b64encode(SECRET.encode()) not in raw
    # nor anything the run wrote: the work folder and the image store (conftest points it at a tmp dir)
    store_dir = os.environ.get("AZIMAGE_STORE_DIR")
    folders = [work] + ([Path(store_dir)] if store_dir else [])
    written = [p for d in folders for p in d.rglob("*") if p.is_file()]
    for p in written:
        assert SECRET.encode() not in p.read_bytes(), f"key written to {p}"
