"""A key or token with stray whitespace or control characters never leaks and never reaches h11.

Surrounding whitespace (a key read from a file keeps its newline) is stripped; any other
control, space or non-ASCII character is refused with a ValidationError naming the field and
not showing the value. Checked against the emulator (real HTTP): exception texts with their
cause chains and tracebacks, every log record at DEBUG (httpx, httpcore, the package), the
panel's widget state and a notebook executed by nbclient.
"""
from __future__ import annotations

import json
import logging
import os
import traceback
from pathlib import Path

import httpx
import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

import azimage_widgets as aw
from azimage_widgets.client import Connection, ImageClient, PooledImageClient
from azimage_widgets.contract.errors import secret_forms

SECRET = "sk-HYGIENE-7e1f00c2d9a4b8"
TOKEN = "eyHYGIENE-bearer-3c9d21f0aa"
TAIL = "TAILPART-55e0c9a1"  # what follows a bad character inside a key

#: Keys the emulator accepts once stripped.
PADDED_KEYS = {"newline": SECRET + "\n", "crlf": SECRET + "\r\n", "leading-space": " " + SECRET,
               "tabs-and-newline": "\t" + SECRET + " \n"}
#: Keys that must be refused: a character inside (or at the end) that no header may carry.
BAD_KEYS = {"nul-end": SECRET + "\x00", "nul-inside": SECRET + "\x00" + TAIL,
            "newline-inside": SECRET + "\n" + TAIL, "space-inside": SECRET + " " + TAIL,
            "del": SECRET + "\x7f" + TAIL, "non-ascii": SECRET + "\u00e9" + TAIL,
            "zero-width": SECRET + "\u200b" + TAIL, "escape": SECRET + "\x1b[31m"}


def leaks(text: str, *secrets: str) -> list[str]:
    """Which forms of the secrets (and the parts around a bad character) occur in ``text``."""
    forms = {SECRET, TOKEN, TAIL, SECRET[3:15], TOKEN[2:14]}
    for s in secrets:
        forms.update(secret_forms(s))
    return sorted(f for f in forms if f and f in text)


def exception_text(exc: BaseException) -> str:
    """str, repr and the formatted traceback of ``exc`` and of its whole cause/context chain."""
    parts = ["".join(traceback.format_exception(exc))]
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        parts += [str(current), repr(current), repr(current.args)]
        for linked in (current.__cause__, current.__context__):
            if linked is not None:
                parts += [str(linked), repr(linked), repr(linked.args)]
        current = current.__cause__ or current.__context__
    return "\n".join(parts)


def log_text(caplog) -> str:
    out = []
    for r in caplog.records:
        out.append(f"{r.name} {r.getMessage()} {r.args!r} {r.msg!r}")
        if r.exc_info:
            out.append("".join(traceback.format_exception(*r.exc_info)))
    return "\n".join(out)


def assert_no_leak(what: str, text: str, *secrets: str) -> None:
    found = leaks(text, *secrets)
    assert not found, f"secret found in {what}: {found}"


@pytest.fixture
def emu(keyed_emulator):
    return keyed_emulator(SECRET, TOKEN, processing_time=0.05)


@pytest.fixture
def debug_logs(caplog):
    caplog.set_level(logging.DEBUG)
    for name in ("httpx", "httpcore", "azimage_widgets"):
        caplog.set_level(logging.DEBUG, logger=name)
    return caplog


# -- refused when the Connection is made -------------------------------------------------

@pytest.mark.parametrize("name", sorted(BAD_KEYS))
def test_bad_key_refused_without_echo(name):
    key = BAD_KEYS[name]
    with pytest.raises(aw.ValidationError) as ei:
        Connection("https://res.openai.azure.com", api_key=key)
    assert ei.value.field == "api_key" and ei.value.value is None
    assert_no_leak("the ValidationError", exception_text(ei.value), key)


@pytest.mark.parametrize("key", ["", "  \n", 123, b"sk-bytes"])
def test_empty_or_non_string_key_refused(key):
    with pytest.raises(aw.ValidationError) as ei:
        Connection("https://res.openai.azure.com", api_key=key)
    assert ei.value.field == "api_key"
    assert "sk-bytes" not in str(ei.value)


@pytest.mark.parametrize("name", ["nul-inside", "newline-inside"])
def test_pool_member_with_a_bad_key_is_refused(emu, name):
    good = Connection(emu.endpoint, api_key=SECRET)
    with pytest.raises(aw.ValidationError) as ei:
        aw.Connection.pool([good, Connection(emu.endpoint, api_key=BAD_KEYS[name], deployment="b")])
    assert ei.value.field == "api_key"
    assert_no_leak("the ValidationError", exception_text(ei.value), BAD_KEYS[name])


# -- stripped, then used: nothing anywhere shows the key ---------------------------------------

async def _exercise(client: ImageClient) -> list[BaseException]:
    """A generation with its image fetched, then failures: their exceptions."""
    res = await client.generate("a fox", size="256x256")
    assert await client.fetch_image(res.urls[0])
    errors: list[BaseException] = []
    for coro in (client.generate("CONTENT_FILTER please"), client.download_image("no-such-op"),
                 client.fetch_image(res.urls[0].split("?")[0] + "?sig=forged")):
        try:
            await coro
        except Exception as exc:  # noqa: BLE001 - every failure's text is checked
            errors.append(exc)
    assert len(errors) == 3
    return errors


@pytest.mark.parametrize("name", sorted(PADDED_KEYS))
async def test_padded_key_is_stripped_and_never_shown(emu, wire, debug_logs, name):
    key = PADDED_KEYS[name]
    conn = Connection(emu.endpoint, api_key=key, max_retries=0)
    async with ImageClient(conn) as client:
        errors = await _exercise(client)
    assert {h.get("api-key") for _, h in wire} == {SECRET, None}  # stripped; none to the image host
    for exc in errors:
        assert_no_leak(f"{type(exc).__name__}", exception_text(exc), key)
    assert_no_leak("DEBUG logs", log_text(debug_logs), key)
    assert_no_leak("repr", repr(conn) + str(conn) + json.dumps(conn.to_dict()), key)
    assert {r.name.split(".")[0] for r in debug_logs.records} >= {"httpx", "httpcore", "azimage_widgets"}


async def test_pool_member_with_a_padded_key_works_and_never_shows_it(emu, wire, debug_logs):
    other = Connection(emu.endpoint, api_key=SECRET + "\r\n", deployment="second", max_retries=0)
    pool = aw.Connection.pool([Connection(emu.endpoint, api_key="\n" + SECRET, max_retries=0), other])
    async with PooledImageClient(pool) as client:
        errors = await _exercise(client)
        for _ in range(2):  # round-robin: the second member submits too
            await client.generate("a hare", size="256x256")
    assert {h.get("api-key") for _, h in wire} == {SECRET, None}
    for exc in errors:
        assert_no_leak(type(exc).__name__, exception_text(exc), SECRET + "\r\n")
    assert_no_leak("DEBUG logs", log_text(debug_logs), SECRET + "\r\n")
    assert_no_leak("pool repr", repr(pool) + json.dumps(pool.to_dict()), SECRET)


@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_token_ending_in_newline_is_stripped(emu, wire, debug_logs, kind):
    if kind == "sync":
        def provider() -> str:
            return TOKEN + "\n"
    else:
        async def provider() -> str:
            return TOKEN + "\r\n"
    conn = Connection(emu.endpoint, token_provider=provider, max_retries=0)
    async with ImageClient(conn) as client:
        errors = await _exercise(client)
    assert {h.get("authorization") for _, h in wire} == {f"Bearer {TOKEN}", None}
    for exc in errors:
        assert_no_leak(type(exc).__name__, exception_text(exc), TOKEN + "\n")
    assert_no_leak("DEBUG logs", log_text(debug_logs), TOKEN + "\n")


@pytest.mark.parametrize("token", [TOKEN + "\x00", TOKEN + "\n" + TAIL, TOKEN + " " + TAIL, 42, ""])
@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_bad_token_is_refused_before_sending(emu, wire, debug_logs, kind, token):
    if kind == "sync":
        def provider():
            return token
    else:
        async def provider():
            return token
    conn = Connection(emu.endpoint, token_provider=provider, max_retries=0)
    async with ImageClient(conn) as client:
        with pytest.raises(aw.ValidationError) as ei:
            await client.request_image("a fox")
    assert ei.value.field == "token_provider"
    assert not wire and not emu.requests  # nothing was sent
    text = token if isinstance(token, str) else TOKEN
    assert_no_leak("the ValidationError", exception_text(ei.value), text)
    assert_no_leak("DEBUG logs", log_text(debug_logs), text)


# -- a lower layer quoting a header must not carry it into our errors ---------------------------

async def test_transport_error_that_quotes_the_key_is_scrubbed():
    """h11 refusing a header says ``Illegal header value b'...'``: the ApiError and its cause
    chain must not carry it, nor claim the service may have accepted a job never sent."""
    def refuse(request: httpx.Request) -> httpx.Response:
        value = request.headers["api-key"].encode() + b"\n"
        raise httpx.LocalProtocolError(f"Illegal header value {value!r}")

    conn = Connection("https://res.openai.azure.com", api_key=SECRET, max_retries=0)
    async with ImageClient(conn, transport=httpx.MockTransport(refuse)) as client:
        with pytest.raises(aw.ApiError) as ei:
            await client.request_image("a fox")
    text = exception_text(ei.value)
    assert "Illegal header value" in text  # the cause is kept, scrubbed
    assert_no_leak("the ApiError chain", text, SECRET + "\n")
    assert "may have accepted" not in str(ei.value)
    assert isinstance(ei.value.__cause__, httpx.LocalProtocolError)


async def test_connection_refused_submit_does_not_claim_acceptance():
    conn = Connection("http://127.0.0.1:9", api_key=SECRET, max_retries=0, timeout=2)
    async with ImageClient(conn) as client:
        with pytest.raises(aw.ApiError) as ei:
            await client.request_image("a fox")
    assert ei.value.code == "connectionError" and "may have accepted" not in str(ei.value)


# -- the panel's widget state --------------------------------------------------------------------

def _state_text(root) -> str:
    from ipywidgets.widgets.widget import _remove_buffers

    from azimage_widgets.widgets import walk

    parts = []
    for w in walk(root):
        state, _, buffers = _remove_buffers(w.get_state())
        parts.append(json.dumps(state, default=repr))
        parts.extend(bytes(b).decode("latin-1") for b in buffers)
        parts.append(repr(w))
    return "\n".join(parts)


async def test_panel_state_with_a_key_read_from_a_file(emu, debug_logs, tmp_path):
    keyfile = tmp_path / "key.txt"
    keyfile.write_text(SECRET + "\n")
    conn = aw.Connection(emu.endpoint, api_key=keyfile.read_text())
    ns: dict = {}
    panel = aw.RequestImagePanel(conn, name="hygiene-key", output="fox", prompt="a fox",
                                 size="256x256", namespace=ns)
    ops = await panel.submit()
    assert ops and ns["fox"]
    panel.activity.prompt = "CONTENT_FILTER please"  # a failure line in the panel too
    with pytest.raises(aw.ContentFilterError):
        await panel.submit()
    assert_no_leak("widget state", _state_text(panel), SECRET + "\n")
    assert_no_leak("DEBUG logs", log_text(debug_logs), SECRET + "\n")


async def test_panel_state_with_a_bad_token(emu, debug_logs):
    bad = TOKEN + "\n" + TAIL
    conn = aw.Connection(emu.endpoint, token_provider=lambda: bad)
    panel = aw.RequestImagePanel(conn, name="hygiene-token", output="fox", prompt="a fox",
                                 size="256x256", namespace={})
    with pytest.raises(aw.ValidationError) as ei:
        await panel.submit()
    assert ei.value.field == "token_provider"
    state = _state_text(panel)
    assert "token_provider" in state  # the failure is shown ...
    assert_no_leak("widget state", state, bad)  # ... without the token
    assert_no_leak("the ValidationError", exception_text(ei.value), bad)
    assert_no_leak("DEBUG logs", log_text(debug_logs), bad)


# -- an executed, saved notebook -------------------------------------------------------------------

NOTEBOOK_CELLS = [
    "import os, traceback\nimport azimage_widgets as aw\n"
    "conn = aw.Connection(os.environ['HYGIENE_ENDPOINT'],\n"
    "                     api_key=open(os.environ['HYGIENE_KEY_FILE']).read())\nconn",
    "panel = aw.RequestImagePanel(conn, name='hygiene-nb', output='fox', prompt='a fox',\n"
    "                             size='256x256')\npanel",
    "ops = await panel.submit()\nprint(len(ops), 'operation(s)', fox)",
    "try:\n    aw.Connection(os.environ['HYGIENE_ENDPOINT'],\n"
    "                  api_key=open(os.environ['HYGIENE_KEY_FILE']).read() + '\\x00')\n"
    "except aw.ValidationError:\n    traceback.print_exc()",
    "bad = aw.Connection(os.environ['HYGIENE_ENDPOINT'],\n"
    "                    token_provider=lambda: os.environ['HYGIENE_TOKEN'] + '\\n' + 'x')\n"
    "bad_panel = aw.RequestImagePanel(bad, name='hygiene-nb-token', output='hare', prompt='a hare')\n"
    "bad_panel",
    "await bad_panel.submit()  # fails: the error is saved in the notebook",
]


@pytest.mark.slow
def test_executed_notebook_never_holds_the_key(tmp_path, monkeypatch, emu):
    from helpers import isolate_jupyter
    from nbclient import NotebookClient

    secret_dir = tmp_path / "secret"
    secret_dir.mkdir()
    keyfile = secret_dir / "key.txt"
    keyfile.write_text(SECRET + "\n")
    for var in [v for v in os.environ if v.startswith("AZURE_OPENAI_")]:
        monkeypatch.delenv(var)
    monkeypatch.setenv("HYGIENE_ENDPOINT", emu.endpoint)
    monkeypatch.setenv("HYGIENE_KEY_FILE", str(keyfile))
    monkeypatch.setenv("HYGIENE_TOKEN", TOKEN)
    jupyter_dir = tmp_path / "jupyter"
    jupyter_dir.mkdir()
    work = isolate_jupyter(jupyter_dir, monkeypatch)
    nb = new_notebook(cells=[new_code_cell(src) for src in NOTEBOOK_CELLS])
    client = NotebookClient(nb, timeout=120, kernel_name="python3", allow_errors=True,
                            store_widget_state=True, resources={"metadata": {"path": str(work)}})
    client.execute()
    saved = tmp_path / "hygiene.executed.ipynb"
    nbformat.write(nb, saved)
    text = saved.read_text()
    assert "widget-state" in text and "operation(s)" in text  # it ran, against this emulator
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert [e["ename"] for e in errors] == ["ValidationError"]  # only the bad token's cell
    assert "token_provider" in json.dumps(errors)
    assert "api_key" in text  # the refused key's traceback was printed
    assert_no_leak("the saved notebook", text, SECRET + "\n", TOKEN + "\nx")
    for p in Path(work).rglob("*"):
        if p.is_file():
            assert SECRET.encode() not in p.read_bytes(), f"key written to {p}"
