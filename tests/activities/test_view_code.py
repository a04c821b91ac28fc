""""View code": the Python and curl shown for a panel run for real, and never hold the key."""
from __future__ import annotations

import ast
import asyncio
import json
import os
import shlex
import shutil
import subprocess

import pytest

import azimage_widgets as aw
from azimage_widgets.activities.view_code import view_code
from azimage_widgets.widgets import walk

FAKE_KEY = "fake-key-0123456789abcdef"  # as tests/conftest.py

TRICKY = 'a "red" fox\'s den at $HOME `date` \\ 100% ünï'


def uniq(prefix: str = "vc") -> str:
    uniq.n = getattr(uniq, "n", 0) + 1  # type: ignore[attr-defined]
    return f"{prefix}-{os.getpid()}-{uniq.n}"  # type: ignore[attr-defined]


async def run_python(code: str, monkeypatch, namespace: dict | None = None) -> dict:
    """Run a shown snippet as a notebook cell runs it (top-level await), with no key in the
    environment and a ``conn`` of the user's that must survive; the cell's globals."""
    for var in ("AZURE_OPENAI_API_KEY", "AZURE_OPENAI_API_KEY_1", "AZURE_OPENAI_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    users_conn = object()
    ns: dict = {"conn": users_conn, **(namespace or {})}
    compiled = compile(code, "<cell>", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    result = eval(compiled, ns)  # noqa: S307 - our own snippet, run as a cell would
    if result is not None:
        await result
    assert ns["conn"] is users_conn, "the shown code reassigned the user's conn"
    return ns


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
    # a pool's client is PooledImageClient (aw.ImageClient takes one Connection)
    assert "from azimage_widgets.client import PooledImageClient" in pool.python
    assert "async with PooledImageClient.shared(conn) as client:" in pool.python  # the panel's
    assert "aw.ImageClient" not in pool.python and "aw.ImageClient.shared(conn)" in tok.python
    compile(pool.python, "<view code>", "exec", flags=__import__("ast").PyCF_ALLOW_TOP_LEVEL_AWAIT)
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
    out = await run_python(snip.python, monkeypatch)
    assert out["_aw_res"].status == "succeeded" and len(out["_aw_images"]) == 2
    assert all(img.startswith(b"\x89PNG") for img in out["_aw_images"])
    submitted = aw.ImageClient.shared(conn).request_of(out["_aw_op"].id)
    assert submitted["prompt"] == TRICKY and submitted["size"] == "256x256" and submitted["n"] == 2
    # the Download Image code, reading the id from a [variable]
    dl = aw.DownloadImage(conn, name=uniq(), image_id="[ops][0]")
    got = await run_python(view_code(dl).python, monkeypatch,
                           {"ops": [out["_aw_op"]]})
    assert got["_aw_res"].id == out["_aw_op"].id and len(got["_aw_images"]) == 2
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


# -- the synchronous versions: the deployments URL and the version's settings --------------------
D3, GI = "2024-10-21", "2025-04-01-preview"
SETTINGS = {
    D3: dict(size="1792x1024", quality="hd", style="natural", response_format="b64_json"),
    GI: dict(size="1024x1536", n=2, quality="high", output_format="jpeg", background="opaque",
             output_compression=40),
}
DEPLOYMENT = "img-dep"


def sync_request(conn, version):
    return aw.RequestImage(conn, name=uniq("sync"), prompt=TRICKY, api_version=version,
                           **SETTINGS[version])


@pytest.mark.parametrize("version", [D3, GI])
def test_sync_code_calls_the_deployment_with_the_settings_and_no_key(version):
    conn = aw.Connection("https://res.openai.azure.com", api_key=FAKE_KEY, api_version=version,
                         deployment=DEPLOYMENT)
    req = sync_request(conn, version)
    snip = view_code(req)
    assert FAKE_KEY not in snip.python and FAKE_KEY not in snip.curl
    url = f"https://res.openai.azure.com/openai/deployments/{DEPLOYMENT}/images/generations" \
          f"?api-version={version}"
    assert f'-X POST "{url}"' in snip.curl
    assert ":submit" not in snip.curl and "/operations/" not in snip.curl
    body = json.loads(shlex.split(snip.curl.split("--data-raw ", 1)[1])[0])  # as the shell reads it
    assert body["prompt"] == TRICKY
    for name, value in SETTINGS[version].items():
        assert f"{name}={value!r}" in snip.python, name  # by name, not in extra_body
        assert body[name] == value, name
    assert "extra_body" not in snip.python
    assert "deployment=" in snip.python and "AZURE_OPENAI_DEPLOYMENT" not in snip.python + snip.curl
    compile(snip.python, "<view code>", "exec", flags=__import__("ast").PyCF_ALLOW_TOP_LEVEL_AWAIT)
    # no deployment on the connection: both read it from the environment
    bare = aw.Connection("https://res.openai.azure.com", api_key=FAKE_KEY, api_version=version)
    snip = view_code(sync_request(bare, version))
    assert "deployment=os.environ['AZURE_OPENAI_DEPLOYMENT']" in snip.python
    assert "/openai/deployments/${AZURE_OPENAI_DEPLOYMENT}/images/generations?" in snip.curl
    # the Download Image code has nothing to poll for these versions
    dl = view_code(aw.DownloadImage(conn, name=uniq(), image_id="sync-1", api_version=version))
    assert "/operations/" not in dl.curl and "no operation to poll" in dl.curl
    req.close()


def decoded(images):
    import io

    from PIL import Image

    return [(Image.open(io.BytesIO(b)).format, Image.open(io.BytesIO(b)).size) for b in images]


def expected_images(version):
    s = SETTINGS[version]
    w, h = map(int, s["size"].split("x"))
    fmt = "JPEG" if s.get("output_format") == "jpeg" else "PNG"
    return [(fmt, (w, h))] * s.get("n", 1)


@pytest.mark.parametrize("version", [D3, GI])
async def test_shown_sync_python_runs_against_the_emulator(emu, monkeypatch, version):
    emu.config.deployments = {DEPLOYMENT}  # another name would be 404 DeploymentNotFound
    conn = aw.Connection(emu.endpoint, api_key=emu.api_key, api_version=version,
                         deployment=DEPLOYMENT)
    req = sync_request(conn, version)
    snip = view_code(req)
    assert emu.api_key not in snip.python
    out = await run_python(snip.python, monkeypatch)
    assert out["_aw_res"].status == "succeeded" and out["_aw_op"].id.startswith("sync-")
    assert decoded(out["_aw_images"]) == expected_images(version)
    sent = aw.ImageClient.shared(conn).request_of(out["_aw_op"].id)
    assert sent["prompt"] == TRICKY and sent["deployment"] == DEPLOYMENT
    for name, value in SETTINGS[version].items():
        assert sent[name] == value, name
    # a connection without a deployment: the code reads AZURE_OPENAI_DEPLOYMENT
    bare = aw.Connection(emu.endpoint, api_key=emu.api_key, api_version=version)
    monkeypatch.setenv("AZURE_OPENAI_DEPLOYMENT", DEPLOYMENT)
    bare_req = sync_request(bare, version)  # held: the code finds it by name (a weak registry)
    again = await run_python(view_code(bare_req).python, monkeypatch)
    assert again["_aw_images"] == out["_aw_images"]  # the emulator draws the same for the same request
    bare_req.close()
    req.close()


@pytest.mark.skipif(shutil.which("curl") is None, reason="no curl on this machine")
@pytest.mark.parametrize("version", [D3, GI])
async def test_shown_sync_curl_runs_against_the_emulator(emu, version):
    import base64

    emu.config.deployments = {DEPLOYMENT}
    conn = aw.Connection(emu.endpoint, api_key=emu.api_key, api_version=version,
                         deployment=DEPLOYMENT)
    req = sync_request(conn, version)
    snip = view_code(req)
    assert emu.api_key not in snip.curl
    env = {"AZURE_OPENAI_API_KEY": emu.api_key}
    answer = json.loads(await asyncio.to_thread(run_curl, snip.curl, env))
    got = [base64.b64decode(item["b64_json"]) for item in answer["data"]]
    assert decoded(got) == expected_images(version)
    # the same request through the client gets the same images (and usage): curl sent
    # the prompt exactly and every setting
    async with aw.ImageClient(conn) as client:
        res = await client.generate(TRICKY, **SETTINGS[version])
    mine = [base64.b64decode(i.b64_json) for i in res.items]
    assert got == mine
    if version == GI:
        assert answer["usage"] == dict(res.usage)
        low = dict(SETTINGS[GI], quality="low")  # the quality shows in gpt-image-1's usage
        async with aw.ImageClient(conn) as client:
            other = await client.generate(TRICKY, **low)
        assert other.usage["output_tokens"] < answer["usage"]["output_tokens"]
    else:
        assert answer["data"][0]["revised_prompt"] == res.items[0].revised_prompt
    # the deployment from the environment, on a connection without one
    bare = aw.Connection(emu.endpoint, api_key=emu.api_key, api_version=version)
    env_snip = view_code(sync_request(bare, version))
    again = json.loads(await asyncio.to_thread(
        run_curl, env_snip.curl, {**env, "AZURE_OPENAI_DEPLOYMENT": DEPLOYMENT}))
    assert [base64.b64decode(i["b64_json"]) for i in again["data"]] == got
    req.close()


async def test_panel_view_code_follows_a_sync_setting():
    conn = aw.Connection("https://res.openai.azure.com", api_key=FAKE_KEY, api_version=D3,
                         deployment=DEPLOYMENT)
    panel = aw.RequestImagePanel(conn, name=uniq(), prompt="a panel fox")
    panel.fields["api_version"].input.value = D3
    panel.view_code_button.value = True
    assert f"/openai/deployments/{DEPLOYMENT}/images/generations?api-version={D3}" \
        in panel.code_view.curl.value
    assert "quality" not in panel.code_view.python.value
    panel.version_fields.inputs["quality"].value = "hd"
    assert "quality='hd'" in panel.code_view.python.value
    assert '"quality": "hd"' in panel.code_view.curl.value
    for w in walk(panel):
        assert FAKE_KEY not in json.dumps(w.get_state(), default=str)
    panel.close()


async def test_shown_python_reaches_the_live_panel_and_falls_back_to_the_environment(emu, monkeypatch):
    conn = aw.Connection(emu.endpoint, api_key=emu.api_key)
    name = uniq("live")
    panel = aw.RequestImagePanel(conn, name=name, prompt="a fox", size="256x256", n=1)
    live = view_code(panel).python
    assert f"conn = aw.RequestImage.named({name!r}).connection" in live
    assert aw.RequestImage.named(name) is panel.activity
    # the environment-built connection only as a comment: no line of code reads the key
    code_lines = [ln for ln in live.splitlines() if not ln.lstrip().startswith("#")]
    assert not any("AZURE_OPENAI_API_KEY" in ln for ln in code_lines)
    ran = await run_python(live, monkeypatch)  # no key in the environment
    assert ran["_aw_res"].status == "succeeded" and len(ran["_aw_images"]) == 1
    assert set(ran) >= {"conn", "_aw_op", "_aw_res", "_aw_images", "_aw_request_image"}
    assert not {"op", "res", "images", "client"} & set(ran), "the code leaked names into the cell"
    panel.close()
    with pytest.raises(KeyError, match=name):
        aw.RequestImage.named(name)
    # off a live panel (closed, or a script) the code builds its connection from the environment
    closed = view_code(panel).python
    assert ".named(" not in closed and "api_key=os.environ['AZURE_OPENAI_API_KEY']," in closed
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", emu.api_key)
    ns: dict = {}
    result = eval(compile(closed, "<cell>", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT), ns)  # noqa: S307
    await result
    assert ns["_aw_res"].status == "succeeded"
