"""Real-browser fixtures: Debian chromium driven by Playwright against real
JupyterLab 4, Notebook 7 and Voila servers (see ../shared/TESTING.md).

- ``chromium_path``: /usr/bin/chromium or $CHROMIUM; skips when absent, but
  fails when CI=true (``.ci/run`` installs it).
- ``browser`` / ``page``: Playwright's chromium with the args from TESTING.md.
- ``jupyter_servers``: a module-scoped factory; ``jupyter_servers.lab(dir)``,
  ``.notebook(dir)`` and ``.voila(dir, "nb.ipynb")`` start a server on
  127.0.0.1 with a free port and a fixed token, an isolated Jupyter home and
  no Azure variables (kernels use the embedded emulator), and stop it (its
  whole process group) when the module ends.
- ``screenshot``: saves ``test-artifacts/<test name>[-<suffix>].png``; a
  failing test that used ``page`` also gets ``<test name>-FAILED.png``.
- ``page_errors``: collects page errors; ``page_errors.check()`` fails on any
  but the known-harmless ones (Notebook 7's ``reading 'schema'``).
- ``run_all_cells(page)``: waits for the kernel, then runs every cell.

Every test in this folder is marked ``browser``.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("AZIMAGE_TEST_ARTIFACTS", REPO_ROOT / "test-artifacts"))
TOKEN = "azimage-browser-test-token"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Page errors that are not ours and do no harm.
HARMLESS_PAGE_ERRORS = [
    re.compile(r"reading 'schema'"),  # Notebook 7, once on load
]
# Console errors that mean a widget failed to render or a model failed.
WIDGET_CONSOLE_ERRORS = re.compile(
    r"(Error displaying widget|Could not create (a )?(model|view)|Failed to (load|create) (model|view)"
    r"|jupyter-widgets|azimage|widget-manager|Class .* not found in module)",
    re.IGNORECASE,
)
SERVER_START_TIMEOUT = 60.0


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def pytest_collection_modifyitems(config, items):
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.browser)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    rep = yield
    setattr(item, f"rep_{rep.when}", rep)
    return rep


# --------------------------------------------------------------------------- browser


@pytest.fixture(scope="session")
def chromium_path() -> str:
    candidates = [os.environ.get("CHROMIUM", ""), "/usr/bin/chromium", shutil.which("chromium") or ""]
    for cand in candidates:
        if cand and os.path.isfile(cand) and os.access(cand, os.X_OK):
            return cand
    msg = ("no chromium found (looked at $CHROMIUM, /usr/bin/chromium, PATH): "
           "install Debian's chromium (`make chromium` or `apt-get install -y chromium`) "
           "or set CHROMIUM=/path/to/chromium")
    if _in_ci():
        pytest.fail("CI=true but " + msg, pytrace=False)
    pytest.skip(msg)


@pytest.fixture(scope="module")
def browser(chromium_path):
    # Module scope, not session: Playwright's sync API keeps an asyncio loop running in
    # the main thread while it is started, which would break every asyncio test after it.
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:  # pragma: no cover - the test extra has it
        if _in_ci():
            pytest.fail(f"playwright is not installed: {exc}", pytrace=False)
        pytest.skip(f"playwright is not installed: {exc}")
    pw = sync_playwright().start()
    try:
        browser = pw.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
    finally:
        pw.stop()


@dataclass
class PageErrors:
    errors: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)

    def attach(self, page) -> None:
        page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        page.on("console", self._on_console)

    def _on_console(self, msg) -> None:
        if msg.type == "error":
            self.console.append(msg.text)

    def relevant(self) -> list[str]:
        bad = [e for e in self.errors if not any(p.search(e) for p in HARMLESS_PAGE_ERRORS)]
        bad += [f"console: {c}" for c in self.console if WIDGET_CONSOLE_ERRORS.search(c)]
        return bad

    def check(self) -> None:
        bad = self.relevant()
        assert not bad, "errors in the page:\n" + "\n".join(bad)


@pytest.fixture
def page_errors() -> PageErrors:
    return PageErrors()


def _test_file_name(nodeid: str) -> str:
    name = nodeid.split("::", 1)[-1]
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_")[:150]


@pytest.fixture
def screenshot(request) -> Callable[..., Path]:
    """``screenshot(page, suffix="")`` -> the PNG's path under test-artifacts/."""

    def take(page, suffix: str = "", full_page: bool = True) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        name = _test_file_name(request.node.nodeid) + (f"-{suffix}" if suffix else "")
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=full_page)
        return path

    return take


@pytest.fixture
def page(browser, page_errors, request):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(30_000)
    pg = context.new_page()
    page_errors.attach(pg)
    try:
        yield pg
    finally:
        rep = getattr(request.node, "rep_call", None)
        if rep is not None and rep.failed:
            try:
                ARTIFACTS.mkdir(parents=True, exist_ok=True)
                pg.screenshot(path=str(ARTIFACTS / f"{_test_file_name(request.node.nodeid)}-FAILED.png"),
                              full_page=True)
            except Exception:  # noqa: BLE001 - best effort on a broken page
                pass
        context.close()


# --------------------------------------------------------------------------- servers


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def jupyter_home(base: Path) -> dict[str, str]:
    """An isolated Jupyter home under ``base``; returns the environment for servers.

    The ``python3`` kernelspec is written into the isolated data dir with this
    interpreter's absolute path, so kernels run the venv's python whatever is
    in the developer's own ~/.local/share/jupyter.
    """
    dirs = {
        "JUPYTER_CONFIG_DIR": base / "config",
        "JUPYTER_DATA_DIR": base / "data",
        "JUPYTER_RUNTIME_DIR": base / "runtime",
        "IPYTHONDIR": base / "ipython",
        "XDG_CONFIG_HOME": base / "xdg-config",
        "XDG_CACHE_HOME": base / "xdg-cache",
        "XDG_DATA_HOME": base / "xdg-data",
        "JUPYTERLAB_SETTINGS_DIR": base / "config" / "lab" / "user-settings",
        "JUPYTERLAB_WORKSPACES_DIR": base / "config" / "lab" / "workspaces",
    }
    for d in dirs.values():
        d.mkdir(parents=True, exist_ok=True)
    kernel_dir = dirs["JUPYTER_DATA_DIR"] / "kernels" / "python3"
    kernel_dir.mkdir(parents=True, exist_ok=True)
    (kernel_dir / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
        "metadata": {"debugger": True},
    }, indent=1))
    notif = dirs["JUPYTERLAB_SETTINGS_DIR"] / "@jupyterlab" / "apputils-extension"
    notif.mkdir(parents=True, exist_ok=True)
    (notif / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("AZURE_OPENAI_") and k not in {"JUPYTER_PATH", "JUPYTER_CONFIG_PATH"}}
    env.update({k: str(v) for k, v in dirs.items()})
    env["PYTHONUNBUFFERED"] = "1"
    # The venv's own bin first, so any "jupyter-*" helper is the venv's.
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    return env


@dataclass
class JupyterServer:
    kind: str  # "lab" | "notebook" | "voila"
    port: int
    root: Path
    proc: subprocess.Popen
    log_path: Path
    token: str = TOKEN

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        sep = "&" if "?" in path else "?"
        if self.kind == "voila":
            return f"{self.base_url}{path}"
        return f"{self.base_url}{path}{sep}token={self.token}"

    def notebook_url(self, name: str) -> str:
        if self.kind == "lab":
            return self.url(f"/lab/tree/{name}")
        if self.kind == "notebook":
            return self.url(f"/notebooks/{name}")
        return self.url("/")

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc.poll() is None:
            for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
                try:
                    os.killpg(self.proc.pid, sig)
                except ProcessLookupError:
                    break
                try:
                    self.proc.wait(timeout=wait)
                    break
                except subprocess.TimeoutExpired:
                    continue
        # kernels are in the same process group; make sure none is left
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def _wait_ready(server: JupyterServer, path: str, timeout: float = SERVER_START_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    url = server.base_url + path
    last = ""
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise RuntimeError(f"{server.kind} server exited with {server.proc.returncode}:\n"
                               f"{server.log()[-4000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return
                last = f"HTTP {resp.status}"
        except urllib.error.HTTPError as exc:
            last = f"HTTP {exc.code}"
        except (urllib.error.URLError, OSError) as exc:
            last = str(exc)
        time.sleep(0.2)
    raise RuntimeError(f"{server.kind} server not ready after {timeout:.0f}s ({last}):\n"
                       f"{server.log()[-4000:]}")


class ServerFactory:
    """Starts Jupyter servers for one test module and stops them all at its end."""

    def __init__(self, base: Path):
        self.base = base
        self.env = jupyter_home(base / "home")
        self.servers: list[JupyterServer] = []

    def _start(self, kind: str, root: Path, argv: list[str], ready_path: str) -> JupyterServer:
        port = free_port()
        argv = [a.replace("{port}", str(port)) for a in argv]
        log_path = self.base / f"{kind}-{port}.log"
        log = open(log_path, "wb")
        proc = subprocess.Popen(
            [sys.executable, "-m", *argv], cwd=str(root), env=self.env,
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        log.close()
        server = JupyterServer(kind=kind, port=port, root=root, proc=proc, log_path=log_path)
        self.servers.append(server)
        t0 = time.monotonic()
        _wait_ready(server, ready_path)
        server.startup_seconds = time.monotonic() - t0  # type: ignore[attr-defined]
        return server

    def _server_args(self, root: Path) -> list[str]:
        return [
            "--no-browser", "--allow-root",
            "--ServerApp.ip=127.0.0.1", "--ServerApp.port={port}", "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={TOKEN}", f"--ServerApp.root_dir={root}",
            "--ServerApp.open_browser=False",
        ]

    def lab(self, root: Path) -> JupyterServer:
        return self._start("lab", root, [
            "jupyterlab", *self._server_args(root),
            "--LabApp.expose_app_in_browser=True",
            "--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        ], f"/api/status?token={TOKEN}")

    def notebook(self, root: Path) -> JupyterServer:
        return self._start("notebook", root, [
            "notebook", *self._server_args(root),
            "--JupyterNotebookApp.expose_app_in_browser=True",
        ], f"/api/status?token={TOKEN}")

    def voila(self, root: Path, notebook: str) -> JupyterServer:
        return self._start("voila", root, [
            "voila", str(root / notebook), "--no-browser", "--port={port}", "--Voila.ip=127.0.0.1",
            "--Voila.port_retries=0", f"--Voila.root_dir={root}",
        ], "/voila/static/voila.js")

    def stop_all(self) -> None:
        for server in reversed(self.servers):
            server.stop()
        self.servers.clear()


@pytest.fixture(scope="module")
def jupyter_servers(chromium_path) -> Iterator[ServerFactory]:
    # chromium_path first: with no browser there is no point starting servers.
    base = Path(tempfile.mkdtemp(prefix="azimage-browser-"))
    factory = ServerFactory(base)
    try:
        yield factory
    finally:
        factory.stop_all()
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="module")
def notebook_dir(tmp_path_factory) -> Path:
    """An empty per-module folder for the notebooks a module serves."""
    return tmp_path_factory.mktemp("notebooks")


@pytest.fixture(scope="module")
def store_dir(jupyter_servers, tmp_path_factory) -> Path:
    """A per-module image store folder, given to every server the module starts after this."""
    folder = tmp_path_factory.mktemp("azimage-store")
    jupyter_servers.env["AZIMAGE_STORE_DIR"] = str(folder)
    return folder


@pytest.fixture(scope="module")
def lab(jupyter_servers, notebook_dir, store_dir) -> JupyterServer:
    """A JupyterLab serving ``notebook_dir``, its kernels on the embedded emulator and ``store_dir``."""
    return jupyter_servers.lab(notebook_dir)
