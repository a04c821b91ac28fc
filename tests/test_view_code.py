""""View code": the Python and curl shown for a panel run for real, and never hold the key."""
from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import textwrap

import pytest

import azimage_widgets as aw
from azimage_widgets.activities.view_code import view_code
from azimage_widgets.widgets import walk

FAKE_KEY = "fake-key-0123456789abcdef"  # as tests/conftest.py

TRICKY = 'a "red" fox\'s den at $HOME `date` \\ 100% ünï'


def uniq(prefix: str = "vc") -> str:
    uniq.n = getattr(uniq, "n", 0) + 1  # type: ignore[attr-defined]
    return f"{prefix}-{os.getpid()}-{uniq.n}"  # type: ignore[attr-defined]


async def run_python(code: str, env_key: str, monkeypatch, namespace: dict | None = None) -> dict:
    """Run a notebook-style snippet (top-level await) the way a cell would; its globals."""
    monkeypatch.setenv(env_key, FAKE_KEY)
    ns: dict = dict(namespace or {})
    body = textwrap.indent(code, "    ")
    exec(f"async def __cell():\n{body}\n    return locals()\n", ns)  # noqa: S102 - our own snippet
    return await ns["__cell"]()


def run_curl(script: str, env: dict[str, str]) -> str:
    out = subprocess.run(["bash", "-c", "set -e\n" + script], capture_output=True, text=True,
                         env={**os.environ, **env}, timeout=60)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_request_code_has_the_configuration_and_no_key():
    conn = aw.Connection("https://res.openai.azure.com", api_key=FAKE_KEY)
    req = aw.RequestImage(conn, name=uniq(), prompt=TRICKY, size="512x512", n=3)
    snip = view_code(req)
    assert FAKE_KEY not in snip.python and FAKE_KEY not in snip.curl
    assert repr(TRICKY) in snip.python
    assert "size='512x512'" in snip.python and "n=3" in snip.python
    assert "os.environ['AZURE_OPENAI_API_KEY']" in snip.python
    assert '-H "api-key: $AZURE_OPENAI_API_KEY"' in snip.curl
    assert "https://res.openai.azure.com/openai/images/generations:submit?api-version=2023-06-01-preview" \
        in snip.curl
    compile(snip.python, "<view code>", "exec", flags=__import__("ast").PyCF_ALLOW_TOP_LEVEL_AWAIT)
    req.close()


def test_token_connection_and_pool_code():
    a = aw.Connection("https://a.openai.azure.com", token_provider=lambda: "tok")
    b = aw.Connection("https://b.openai.azure.com", api_key=FAKE_KEY, deployment="dalle")
    tok = view_code(aw.RequestImage(a, name=uniq(), prompt="x"))
    assert "get_bearer_token_provider(DefaultAzureCredential()" in tok.python
    assert "Authorization: Bearer $AZURE_OPENAI_TOKEN" in tok.curl and "api-key" not in tok.curl
    pool = view_code(aw.DownloadImage(aw.Connection.pool([b, a]), name=uniq(), image_id="[fox][0]"))
    assert "aw.Connection.pool([" in pool.python and "deployment='dalle'" in pool.python
    assert "os.environ['AZURE_OPENAI_API_KEY_1']" in pool.python
    assert "op_id = fox[0].id if hasattr(fox[0], 'id') else fox[0]" in pool.python
    assert "$AZURE_OPENAI_API_KEY_1" in pool.curl and "a pool of 2" in pool.curl
    assert FAKE_KEY not in pool.python + pool.curl


def test_panels_have_a_view_code_button_that_follows_edits():
    conn = aw.Connection("https://res.openai.azure.com", api_key=FAKE_KEY)
    panel = aw.RequestImagePanel(conn, name=uniq(), prompt="first prompt")
    button = panel.view_code_button
    assert "azimage-view-code" in button._dom_classes
    assert panel.code_view.layout.display == "none"
    button.value = True
    assert panel.code_view.layout.display != "none"
    assert "'first prompt'" in panel.code_view.python.value
    panel.prompt_input.value = "second prompt"
    panel.size_input.value = "256x256"
    assert "'second prompt'" in panel.code_view.python.value
    assert "256x256" in panel.code_view.curl.value
    # nothing the front end can see holds the key
    for w in walk(panel):
        assert FAKE_KEY not in json.dumps(w.get_state(), default=str)
    button.value = False
    assert panel.code_view.layout.display == "none"
    dl = aw.DownloadImagePanel(conn, name=uniq(), image_id="abc-123")
    dl.view_code_button.value = True
    assert "OPERATION_ID=abc-123" in dl.code_view.curl.value
    panel.close()
    dl.close()


async def test_shown_python_runs_against_the_emulator(emu, monkeypatch):
    conn = aw.Connection(emu.endpoint, api_key=emu.api_key)
    req = aw.RequestImage(conn, name=uniq(), prompt=TRICKY, size="256x256", n=2)
    snip = view_code(req)
    assert emu.api_key not in snip.python
    out = await run_python(snip.python, "AZURE_OPENAI_API_KEY", monkeypatch)
    assert out["res"].status == "succeeded" and len(out["images"]) == 2
    assert all(img.startswith(b"\x89PNG") for img in out["images"])
    submitted = out["client"].request_of(out["op"].id)
    assert submitted["prompt"] == TRICKY and submitted["size"] == "256x256" and submitted["n"] == 2
    # the Download Image code, reading the id from a [variable]
    dl = aw.DownloadImage(conn, name=uniq(), image_id="[ops][0]")
    got = await run_python(view_code(dl).python, "AZURE_OPENAI_API_KEY", monkeypatch,
                           {"ops": [out["op"]]})
    assert got["res"].id == out["op"].id and len(got["images"]) == 2
    req.close()
    dl.close()


@pytest.mark.skipif(shutil.which("curl") is None, reason="no curl on this machine")
async def test_shown_curl_runs_against_the_emulator(emu):
    conn = aw.Connection(emu.endpoint, api_key=emu.api_key)
    req = aw.RequestImage(conn, name=uniq(), prompt=TRICKY, size="256x256", n=1)
    snip = view_code(req)
    assert emu.api_key not in snip.curl
    submit, sep, poll = snip.curl.partition("\n# 2.")
    poll = sep + poll
    env = {"AZURE_OPENAI_API_KEY": emu.api_key}
    answer = await asyncio.to_thread(run_curl, submit, env)
    assert answer.startswith("HTTP/1.1 202")
    op_id = json.loads(answer.split("\n\n", 1)[1])["id"]  # text mode: \r\n read as \n
    body = {}
    for _ in range(200):
        body = json.loads(await asyncio.to_thread(run_curl, poll, {**env, "OPERATION_ID": op_id}))
        if body["status"] == "succeeded":
            break
        await asyncio.sleep(0.1)
    assert body["status"] == "succeeded"
    # the service got the prompt exactly, quotes, $ and backticks included: the emulator's
    # images are deterministic for (prompt, index, size), so ours must equal curl's
    async with aw.ImageClient(conn) as client:
        res = await client.download_image(op_id)
        png = await client.fetch_image(res.urls[0])
        mine = await client.generate(TRICKY, size="256x256", n=1)
        reference = await client.fetch_image(mine.urls[0])
        other = await client.generate(TRICKY + "!", size="256x256", n=1)
        different = await client.fetch_image(other.urls[0])
    assert png == reference and png != different
    # the Download Image curl polls the same operation
    dl = aw.DownloadImage(conn, name=uniq(), image_id=op_id)
    again = json.loads(await asyncio.to_thread(run_curl, view_code(dl).curl, env))
    assert again["id"] == op_id and again["status"] == "succeeded"
    req.close()
    dl.close()
