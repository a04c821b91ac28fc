"""The Jupyter server extension against a real Jupyter server (a subprocess on loopback).

The server is ``python -m jupyter_server`` with the extension enabled on the command
line, a fixed fake token, and every Jupyter/IPython folder in a temp dir. It runs
once with ``base_url=/`` and once with ``base_url=/hub/user/x/`` (JupyterHub's shape).
"""
from __future__ import annotations

import io
import json
import os
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from PIL import Image

import azimage_widgets as aw
from azimage_widgets.contract import DEFAULT_API_VERSION
from azimage_widgets.serverinfo import INFO_ENV, server_emulator

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "fake-jupyter-token-0123456789"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

pytestmark = pytest.mark.timeout(180)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _non_loopback_address() -> str | None:
    """An IPv4 address of this machine other than loopback (a UDP connect sends nothing)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.123", 9))  # TEST-NET-1: only the route is looked up
        except OSError:
            return None
        addr = s.getsockname()[0]
    return None if addr.startswith("127.") or addr == "0.0.0.0" else addr


class Server:
    def __init__(self, tmp: Path, base_url: str, ip: str = "127.0.0.1", connect: str = "") -> None:
        """``ip``: Jupyter's ``--ip``; ``connect``: the address the tests use (default ``ip``)."""
        self.tmp = tmp
        self.port = _free_port()
        self.base_url = base_url
        self.origin = f"http://{connect or ip}:{self.port}"
        self.url = self.origin + base_url  # ends with "/"
        self.runtime = tmp / "run"
        self.store_dir = tmp / "server-store"
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("AZURE_OPENAI_") and k != INFO_ENV}
        for var, sub in [("JUPYTER_CONFIG_DIR", "cfg"), ("JUPYTER_DATA_DIR", "data"),
                         ("JUPYTER_RUNTIME_DIR", "run"), ("IPYTHONDIR", "ipython"),
                         ("XDG_CONFIG_HOME", "xdgcfg"), ("XDG_CACHE_HOME", "xdgcache")]:
            (tmp / sub).mkdir(parents=True, exist_ok=True)
            env[var] = str(tmp / sub)
        env["AZIMAGE_STORE_DIR"] = str(self.store_dir)
        env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
        (tmp / "root").mkdir(exist_ok=True)
        self.log = open(tmp / "server.log", "wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "jupyter_server", "--no-browser", "--allow-root",
             f"--ServerApp.ip={ip}", f"--ServerApp.port={self.port}",
             "--ServerApp.port_retries=0", f"--IdentityProvider.token={TOKEN}",
             f"--ServerApp.root_dir={tmp / 'root'}", f"--ServerApp.base_url={base_url}",
             "--ServerApp.jpserver_extensions={'azimage_widgets': True}"],
            env=env, cwd=tmp, stdout=self.log, stderr=subprocess.STDOUT)
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"jupyter server exited: {self.read_log()}")
            try:
                r = httpx.get(self.url + "api/status", params={"token": TOKEN}, timeout=2)
                if r.status_code == 200 and self.info_file().exists():
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"jupyter server not ready: {self.read_log()}")

    def info_file(self) -> Path:
        return self.runtime / f"azimage-emulator-{self.proc.pid}.json"

    def read_log(self) -> str:
        self.log.flush()
        return (self.tmp / "server.log").read_text(errors="replace")[-4000:]

    def auth(self) -> dict[str, str]:
        return {"Authorization": f"token {TOKEN}"}

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        self.log.close()


@pytest.fixture(scope="module", params=["/", "/hub/user/x/"], ids=["root", "hub-base-url"])
def server(request, tmp_path_factory):
    srv = Server(tmp_path_factory.mktemp("jupyter"), request.param)
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def info(server):
    r = httpx.get(server.url + "azimage/emulator/info", headers=server.auth())
    assert r.status_code == 200, r.text
    return r.json()


# -- Jupyter authentication --------------------------------------------------------
def test_gallery_and_info_refuse_unauthenticated(server):
    r = httpx.get(server.url + "azimage/gallery", follow_redirects=False)
    assert r.status_code in (302, 403), r.status_code
    if r.status_code == 302:
        assert "login" in r.headers["location"]
    r = httpx.get(server.url + "azimage/emulator/info")
    assert r.status_code == 403
    assert "api_key" not in r.text
    r = httpx.get(server.url + "azimage/gallery", params={"token": "wrong-token"},
                  follow_redirects=False)
    assert r.status_code in (302, 403)
    for path in ("azimage/gallery/thumbs/1", "azimage/gallery/files/1"):
        r = httpx.get(server.url + path, follow_redirects=False)
        assert r.status_code in (302, 403), path


def test_info_names_an_endpoint_under_the_base_url(server, info):
    assert info["endpoint"] == server.url + "azimage/emulator"
    assert info["kernel_endpoint"] == server.url + "azimage/emulator"
    assert info["api_key"] and info["api_version"] == DEFAULT_API_VERSION
    assert info["gallery"] == server.base_url + "azimage/gallery"


def test_runtime_file_is_private_and_matches_info(server, info):
    path = server.info_file()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    shared = server_emulator({INFO_ENV: str(path)})
    assert shared is not None
    assert shared["endpoint"] == info["kernel_endpoint"]
    assert shared["api_key"] == info["api_key"]
    assert server_emulator({INFO_ENV: str(path) + ".gone"}) is None
    assert server_emulator({}) is None


# -- the emulator's own checks stay -------------------------------------------------------
def test_api_needs_the_emulator_key_not_jupyter_auth(server, info):
    submit = server.url + "azimage/emulator/openai/images/generations:submit"
    params = {"api-version": info["api_version"]}
    r = httpx.post(submit, params=params, json={"prompt": "a fox"})
    assert r.status_code == 401 and r.json()["error"]["code"] == "401"
    # a Jupyter token is not an emulator key
    r = httpx.post(submit, params=params, json={"prompt": "a fox"}, headers=server.auth())
    assert r.status_code == 401
    r = httpx.post(submit, params=params, json={"prompt": "a fox"},
                   headers={"api-key": "fake-wrong-key"})
    assert r.status_code == 401
    # the key, with no cookie and no XSRF token: accepted (POST passes tornado's XSRF check)
    r = httpx.post(submit, params=params, json={"prompt": "a fox"},
                   headers={"api-key": info["api_key"]})
    assert r.status_code == 202, r.text
    assert r.headers["operation-location"].startswith(server.url + "azimage/emulator/openai/")
    # unknown paths below the API are the emulator's Azure-shaped 404, not Jupyter's page
    r = httpx.get(server.url + "azimage/emulator/openai/nothing-here", params=params,
                  headers={"api-key": info["api_key"]})
    assert r.status_code == 404 and r.json()["error"]["message"] == "Resource not found"


async def test_client_generates_and_fetches_through_the_server(server, info):
    conn = aw.Connection(info["endpoint"], api_key=info["api_key"])
    async with aw.ImageClient(conn) as client:
        op = await client.request_image("a red fox in the snow", size="256x256", n=2)
        result = await client.download_image(op, timeout=30)
        assert len(result.urls) == 2
        for url in result.urls:
            assert url.startswith(server.url + "azimage/emulator/images/private/images/")
        data = await client.fetch_image(result.urls[0])
    assert data.startswith(PNG_MAGIC)
    assert Image.open(io.BytesIO(data)).size == (256, 256)
    # a signed link is its own credential: no Jupyter token, no api key
    r = httpx.get(result.urls[1])
    assert r.status_code == 200 and r.content.startswith(PNG_MAGIC)
    # ...and the signature is still checked
    r = httpx.get(result.urls[1].replace("sig=", "sig=x"))
    assert r.status_code == 403 and r.headers["x-ms-error-code"] == "AuthenticationFailed"
    r = httpx.get(result.urls[1].split("?")[0])
    assert r.status_code == 403
    r = httpx.get(server.url + "azimage/emulator/images/anything-else")
    assert r.status_code == 404 and r.headers["x-ms-error-code"] == "ResourceNotFound"


async def test_content_filter_through_the_server(server, info):
    conn = aw.Connection(info["endpoint"], api_key=info["api_key"])
    async with aw.ImageClient(conn) as client:
        op = await client.request_image("a CONTENT_FILTER fox", size="256x256")
        with pytest.raises(aw.ContentFilterError):
            await client.download_image(op, timeout=30)


KERNEL_GENERATES = (
    "import asyncio, azimage_widgets as aw\n"
    "c = aw.Connection.from_env()\n"
    "async def go():\n"
    "    async with aw.ImageClient(c) as cl:\n"
    "        r = await cl.generate('kernel fox', size='256x256')\n"
    "        return r\n"
    "r = await go()\n"
    "print('ENDPOINT', c.endpoint)\n"
    "print('URL', r.urls[0].split('?')[0])\n"
)


def run_in_kernel(server: Server, code: str) -> str:
    """Run ``code`` in a kernel the server starts; its printed output (the test fails on an error)."""
    from jupyter_client import BlockingKernelClient

    r = httpx.post(server.url + "api/kernels", headers=server.auth(), json={"name": "python3"})
    assert r.status_code == 201, r.text
    kid = r.json()["id"]
    try:
        client = BlockingKernelClient()
        client.load_connection_file(str(server.runtime / f"kernel-{kid}.json"))
        client.start_channels(hb=False)  # a missed heartbeat on a busy machine is no death
        try:
            client.wait_for_ready(timeout=60)
            out: list[str] = []

            def hook(msg):
                if msg["msg_type"] == "stream":
                    out.append(msg["content"]["text"])
                elif msg["msg_type"] == "error":
                    out.append("ERROR " + "\n".join(msg["content"]["traceback"]))

            reply = client.execute_interactive(code, timeout=90, output_hook=hook)
            text = "".join(out)
            assert reply["content"]["status"] == "ok", text
        finally:
            client.stop_channels()
    finally:
        httpx.delete(server.url + f"api/kernels/{kid}", headers=server.auth())
    return text


def test_from_env_in_a_kernel_of_the_server_uses_the_shared_emulator(server, info):
    """A kernel the server starts inherits AZIMAGE_EMULATOR_INFO and needs no key of its own."""
    text = run_in_kernel(server, KERNEL_GENERATES)
    assert f"ENDPOINT {server.url}azimage/emulator" in text
    assert f"URL {server.url}azimage/emulator/images/private/images/" in text


# -- the gallery -------------------------------------------------------------------------
def test_gallery_lists_the_store_read_only(server, info):
    from azimage_widgets.store import ImageStore

    store = ImageStore(server.store_dir)
    buf = io.BytesIO()
    Image.new("RGB", (512, 512), (200, 40, 40)).save(buf, format="PNG")
    rec = store.put(buf.getvalue(), prompt="a <b>bold</b> fox & friends", operation_id="op-1",
                    image_index=0, size="512x512", api_version="2023-06-01-preview",
                    created=1_700_000_000)
    store.put(_png((10, 200, 10)),
              prompt="a green owl", operation_id="op-2", image_index=0, size="256x256")
    r = httpx.get(server.url + "azimage/gallery", headers=server.auth())
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    page = r.text
    assert "2 images" in page
    # prompts are escaped, never markup
    assert "a &lt;b&gt;bold&lt;/b&gt; fox &amp; friends" in page and "<b>bold</b>" not in page
    assert "2023-11-14" in page  # the service's creation date
    assert f'src="{server.base_url}azimage/gallery/thumbs/{rec.id}"' in page
    # search
    r = httpx.get(server.url + "azimage/gallery", params={"q": "owl"}, headers=server.auth())
    assert "a green owl" in r.text and "bold" not in r.text and "1 image matching" in r.text
    # thumbnails are small WebPs, files are the stored PNG
    r = httpx.get(server.url + f"azimage/gallery/thumbs/{rec.id}", headers=server.auth())
    assert r.status_code == 200 and r.headers["content-type"] == "image/webp"
    assert max(Image.open(io.BytesIO(r.content)).size) <= 256
    r = httpx.get(server.url + f"azimage/gallery/files/{rec.id}", headers=server.auth())
    assert r.status_code == 200 and r.content.startswith(PNG_MAGIC)
    assert Image.open(io.BytesIO(r.content)).text.get("prompt") == "a <b>bold</b> fox & friends"
    r = httpx.get(server.url + "azimage/gallery/files/999999", headers=server.auth())
    assert r.status_code == 404
    # read-only: no method but GET
    r = httpx.post(server.url + f"azimage/gallery/files/{rec.id}", headers=server.auth())
    assert r.status_code == 405
    assert len(store) == 2


@pytest.mark.parametrize("page,status", [
    ("1", 404), ("7", 404), ("99999999999999", 404), ("9" * 40, 404), ("9" * 5000, 404),
    ("-1", 400), ("1.5", 400), ("abc", 400), ("", 400), ("\u0661", 400), ("1e3", 400),
])
def test_gallery_answers_out_of_range_pages_with_4xx(server, info, page, status):
    r = httpx.get(server.url + "azimage/gallery", params={"page": page}, headers=server.auth())
    assert r.status_code == status, r.text[-300:]
    r = httpx.get(server.url + "azimage/gallery", params={"page": page, "q": "owl"},
                  headers=server.auth())
    assert r.status_code == status


@pytest.mark.parametrize("kind", ["thumbs", "files"])
@pytest.mark.parametrize("rid", ["0", "9223372036854775807", "9223372036854775808", "1" + "0" * 30,
                                 "9" * 5000, "00000000000000000000000000001234567"])
def test_gallery_answers_unknown_ids_with_404(server, info, kind, rid):
    r = httpx.get(server.url + f"azimage/gallery/{kind}/{rid}", headers=server.auth())
    assert r.status_code == 404


def test_gallery_file_that_is_no_longer_an_image_is_404(server, info):
    from azimage_widgets.store import ImageStore

    store = ImageStore(server.store_dir)
    rec = store.put(_png((1, 2, 3)), prompt="about to break", operation_id="op-broken",
                    image_index=0)
    rec.path.write_bytes(b"not an image any more")
    r = httpx.get(server.url + f"azimage/gallery/thumbs/{rec.id}", headers=server.auth())
    assert r.status_code == 404
    assert store.delete(rec.id)


def _png(rgb) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (300, 200), rgb).save(buf, format="PNG")
    return buf.getvalue()


def test_server_log_has_no_key(server, info):
    assert info["api_key"] not in server.read_log()


# -- a server that is not on loopback ----------------------------------------------------
def _ip_cases() -> list:
    addr = _non_loopback_address()
    name = socket.gethostname()
    try:
        name_is_loopback = all(ai[4][0].startswith("127.") or ai[4][0] == "::1"
                               for ai in socket.getaddrinfo(name, None))
    except OSError:
        name_is_loopback = False
    # a name: Jupyter's Host check refuses it on loopback, so the tests connect by address
    return [
        pytest.param((addr, ""), id="address", marks=pytest.mark.skipif(
            addr is None, reason="this machine has no non-loopback IPv4 address")),
        pytest.param((name, "127.0.0.1"), id="name", marks=pytest.mark.skipif(
            not name_is_loopback, reason="the host name does not resolve to loopback")),
    ]


@pytest.fixture(scope="module", params=_ip_cases())
def ip_server(request, tmp_path_factory):
    ip, connect = request.param
    srv = Server(tmp_path_factory.mktemp("jupyter-ip"), "/", ip=ip, connect=connect)
    yield srv
    srv.stop()


def test_kernels_of_a_server_on_another_address_get_a_loopback_emulator(ip_server):
    """``--ip=<address or name>``: the runtime file names a loopback URL a kernel's client accepts."""
    shared = server_emulator({INFO_ENV: str(ip_server.info_file())})
    assert shared is not None
    assert shared["endpoint"].startswith(("http://127.", "http://[::1]"))
    assert shared["endpoint"].endswith("/azimage/emulator")
    aw.Connection(shared["endpoint"], api_key=shared["api_key"])  # not refused
    r = httpx.get(ip_server.url + "azimage/emulator/info", headers=ip_server.auth())
    assert r.status_code == 200 and r.json()["kernel_endpoint"] == shared["endpoint"]
    text = run_in_kernel(ip_server, KERNEL_GENERATES)
    assert f"ENDPOINT {shared['endpoint']}" in text
    assert f"URL {shared['endpoint']}/images/private/images/" in text


def test_loopback_emulator_keeps_the_key_check(ip_server):
    shared = server_emulator({INFO_ENV: str(ip_server.info_file())})
    assert shared is not None
    submit = shared["endpoint"] + "/openai/images/generations:submit"
    params = {"api-version": DEFAULT_API_VERSION}
    r = httpx.post(submit, params=params, json={"prompt": "a fox"}, headers=ip_server.auth())
    assert r.status_code == 401
    r = httpx.post(submit, params=params, json={"prompt": "a fox"},
                   headers={"api-key": shared["api_key"]})
    assert r.status_code == 202, r.text
    # a listener of its own serves the emulator alone: neither Jupyter's API nor the gallery
    origin = shared["endpoint"].removesuffix("/azimage/emulator")
    if origin != ip_server.origin:
        for path in ("/api/status", "/api/kernels", "/azimage/gallery", "/azimage/emulator/info"):
            r = httpx.get(origin + path, params={"token": TOKEN}, headers=ip_server.auth())
            assert r.status_code == 404, path


@pytest.mark.parametrize("ip,host", [
    ("", "127.0.0.1"), ("0.0.0.0", "127.0.0.1"), ("*", "127.0.0.1"), ("localhost", "127.0.0.1"),
    ("::", "[::1]"), ("::1", "[::1]"), ("[::1]", "[::1]"), ("127.0.0.2", "127.0.0.2"),
    ("192.0.2.77", None), ("2001:db8::1", None), ("no-such-host.invalid", None),
])
def test_loopback_host_of_a_server_address(ip, host):
    from azimage_widgets.serverextension import _loopback_host

    assert _loopback_host(ip) == host


# -- packaging -------------------------------------------------------------------------
def test_wheel_installs_the_config_into_etc_jupyter(tmp_path):
    """A non-editable wheel carries the config as shared data -> <prefix>/etc/jupyter/..."""
    hatchling_build = pytest.importorskip("hatchling.build")
    import zipfile

    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        name = hatchling_build.build_wheel(str(tmp_path))
    finally:
        os.chdir(cwd)
    with zipfile.ZipFile(tmp_path / name) as whl:
        names = whl.namelist()
        target = [n for n in names
                  if n.endswith(".data/data/etc/jupyter/jupyter_server_config.d/azimage_widgets.json")]
        assert target, names
        config = json.loads(whl.read(target[0]))
    assert config == {"ServerApp": {"jpserver_extensions": {"azimage_widgets": True}}}
    assert "azimage_widgets/serverextension.py" in names
    # the package names the extension without importing jupyter_server
    code = ("import sys, azimage_widgets as aw; "
            "print(aw._jupyter_server_extension_points(), 'jupyter_server' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, check=True).stdout
    assert out.strip() == "[{'module': 'azimage_widgets.serverextension'}] False"
