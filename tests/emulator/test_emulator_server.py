"""The emulator as a server: what it binds, what it records, start()/stop(),
``embedded()`` and the ``python -m azimage_widgets.emulator`` CLI.
"""
from __future__ import annotations

import asyncio
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from fakes import FAKE_KEY
from test_emulator import SUBMIT, VERSION, generate, op_path, poll, submit

from azimage_widgets import emulator

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def http(emu):
    with httpx.Client(base_url=emu.endpoint, headers={"api-key": FAKE_KEY}, timeout=10) as c:
        yield c


# ---------------------------------------------------------------- binding

def _non_loopback_address() -> str | None:
    """An IPv4 address of this machine that is not loopback, or None."""
    candidates = []
    try:
        candidates.append(socket.gethostbyname(socket.gethostname()))
    except OSError:
        pass
    try:  # the address of the default route's interface; a UDP connect sends nothing
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("10.255.255.255", 1))
            candidates.append(s.getsockname()[0])
    except OSError:
        pass
    for addr in candidates:
        if addr and not addr.startswith("127.") and addr != "0.0.0.0":
            return addr
    return None


def test_binds_only_loopback(emu):
    addr = _non_loopback_address()
    if addr is None:
        pytest.skip("this machine has no address other than loopback")
    # Control: a socket bound to every interface is reachable at that address,
    # so a refusal below is the emulator's binding, not the network.
    with socket.socket() as wide:
        wide.bind(("0.0.0.0", 0))
        wide.listen(1)
        with socket.create_connection((addr, wide.getsockname()[1]), timeout=3):
            pass
    for base in (emu.endpoint, emu.images_endpoint):
        port = int(base.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=3):
            pass  # reachable on loopback
        with pytest.raises(OSError):
            with socket.create_connection((addr, port), timeout=3):
                pass
    with pytest.raises(httpx.ConnectError):
        httpx.get(emu.endpoint.replace("127.0.0.1", addr) + "/x", timeout=3)


def test_endpoints_are_loopback_urls(emu):
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", emu.endpoint)
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", emu.images_endpoint)
    assert emu.endpoint != emu.images_endpoint


# ---------------------------------------------------------------- request records

def test_requests_record_method_path_status_listener_credentials(emu, http):
    emu.reset_stats()
    assert emu.requests == []
    body = generate(http, "recorded", size="256x256")
    url = body["result"]["data"][0]["url"]
    httpx.get(url)
    httpx.get(emu.endpoint + op_path(body["id"]), params={"api-version": VERSION})  # no key
    http.delete(op_path(body["id"]), params={"api-version": VERSION})
    recs = emu.requests
    first = recs[0]
    assert (first.method, first.path, first.status, first.listener, first.credentials) == \
        ("POST", SUBMIT, 202, "api", True)
    polls = [r for r in recs if r.method == "GET" and r.listener == "api"]
    assert polls[0].path == op_path(body["id"])  # the path without its query
    assert all(r.status == 200 and r.credentials for r in polls[:-1])
    assert (polls[-1].status, polls[-1].credentials) == (401, False)
    img = [r for r in recs if r.listener == "images"]
    assert len(img) == 1
    assert (img[0].method, img[0].status, img[0].credentials) == ("GET", 200, False)
    assert img[0].path.startswith(f"/private/images/{body['id']}/generated_00.png")
    assert (recs[-1].method, recs[-1].status) == ("DELETE", 204)
    # A copy: changing it does not change the emulator's own list.
    recs.clear()
    assert emu.requests
    emu.reset_stats()
    assert emu.requests == []


# ---------------------------------------------------------------- start / stop

def test_start_with_unknown_knob_is_a_type_error():
    with pytest.raises(TypeError):
        emulator.start(api_key=FAKE_KEY, no_such_knob=1)


def test_config_update_rejects_unknown_knob(emu):
    with pytest.raises(TypeError):
        emu.config.update(rpm_limt=3)


def test_stop_closes_listeners_and_is_idempotent():
    h = emulator.start(api_key=FAKE_KEY, processing_time=0.1)
    with httpx.Client(base_url=h.endpoint, headers={"api-key": FAKE_KEY}) as c:
        assert submit(c).status_code == 202
    h.stop()
    h.stop()
    assert "stopped" in repr(h)
    with pytest.raises(httpx.ConnectError):
        httpx.get(h.endpoint + "/x", timeout=3)
    with pytest.raises(httpx.ConnectError):
        httpx.get(h.images_endpoint + "/x", timeout=3)


def test_context_manager_and_generated_key():
    with emulator.start(processing_time=0.1) as h:
        key = h.api_key
        assert key and key not in repr(h) and key not in repr(h.config)
        r = httpx.post(h.endpoint + SUBMIT, params={"api-version": VERSION},
                       json={"prompt": "x"}, headers={"api-key": key})
        assert r.status_code == 202
    with pytest.raises(httpx.ConnectError):
        httpx.get(h.endpoint + "/x", timeout=3)


def test_two_emulators_are_independent(emu, http):
    with emulator.start(api_key="another-fake-key", processing_time=0.1) as other:
        op_id = submit(http).json()["id"]
        r = httpx.get(other.endpoint + op_path(op_id), params={"api-version": VERSION},
                      headers={"api-key": "another-fake-key"})
        assert r.status_code == 404
        r = httpx.post(other.endpoint + SUBMIT, params={"api-version": VERSION},
                       json={"prompt": "x"}, headers={"api-key": FAKE_KEY})
        assert r.status_code == 401


# ---------------------------------------------------------------- embedded()

def test_embedded_returns_the_same_handle():
    a = emulator.embedded()
    b = emulator.embedded()
    assert a is b
    assert a.endpoint.startswith("http://127.0.0.1:")


async def test_embedded_works_inside_a_running_loop():
    asyncio.get_running_loop()  # we are inside one, as in a Jupyter cell
    h = emulator.embedded()
    assert emulator.embedded() is h
    async with httpx.AsyncClient(base_url=h.endpoint, headers={"api-key": h.api_key},
                                 timeout=10) as c:
        r = await c.post(SUBMIT, params={"api-version": VERSION},
                         json={"prompt": "from a loop", "size": "256x256"})
        assert r.status_code == 202
        op_id = r.json()["id"]
        end = time.monotonic() + 15
        while True:
            body = (await c.get(op_path(op_id), params={"api-version": VERSION})).json()
            if body["status"] == "succeeded" or time.monotonic() > end:
                break
            await asyncio.sleep(0.05)
        assert body["status"] == "succeeded"
        img = await c.get(body["result"]["data"][0]["url"])
        assert img.status_code == 200 and img.content[:8] == b"\x89PNG\r\n\x1a\n"


def test_embedded_from_many_threads_is_one_emulator():
    got: list[object] = []
    threads = [threading.Thread(target=lambda: got.append(emulator.embedded())) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert len(got) == 8 and all(h is got[0] for h in got)


# ---------------------------------------------------------------- CLI

class _Lines:
    """The lines of a pipe, read by a thread (select() on a buffered pipe misses buffered lines)."""

    def __init__(self, pipe) -> None:
        self.seen: list[str] = []
        self._q: queue.Queue[str] = queue.Queue()
        self.thread = threading.Thread(target=self._pump, args=(pipe,), daemon=True)
        self.thread.start()

    def _pump(self, pipe) -> None:
        for line in pipe:
            self.seen.append(line)
            self._q.put(line)

    def next(self, timeout: float) -> str:
        try:
            return self._q.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no line from the emulator CLI in {timeout}s") from None


def test_cli_prints_endpoint_serves_and_exits_0_on_sigterm(tmp_path):
    key = "fake-cli-key-7f3a"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    err_path = tmp_path / "stderr.txt"
    with open(err_path, "w") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "azimage_widgets.emulator", "--port", "0", "--api-key", key,
             "--processing-time", "5", "--retry-after", "3"],
            stdout=subprocess.PIPE, stderr=err, text=True, cwd=ROOT, env=env)
        lines = _Lines(proc.stdout)
        try:
            endpoint = lines.next(30).strip()
            assert re.fullmatch(r"http://127\.0\.0\.1:\d+", endpoint), endpoint
            images_line = lines.next(10)
            assert images_line.startswith("images: http://127.0.0.1:")
            with httpx.Client(base_url=endpoint, headers={"api-key": key}, timeout=10) as c:
                r = submit(c, size="256x256")
                assert r.status_code == 202
                assert r.headers["operation-location"].startswith(endpoint + "/openai/")
                p = poll(c, r.json()["id"])
                assert p.headers.get("retry-after") == "3"  # the CLI knob reached the config
            assert httpx.post(endpoint + SUBMIT, params={"api-version": VERSION},
                              json={"prompt": "x"}).status_code == 401
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=15) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    lines.thread.join(10)  # the pipe closed with the process: every line is in
    out = "".join(lines.seen)
    assert "api key: as given with --api-key" in out
    assert key not in out and key not in err_path.read_text()  # a given key is never printed
    with pytest.raises(httpx.ConnectError):
        httpx.get(endpoint + "/x", timeout=3)


def test_error_answers_print_nothing_to_stderr():
    """A notebook cell must not show the emulator's 4xx access lines as red stderr text.

    In a subprocess: pytest's own log capture would hide tornado's warnings here.
    """
    import subprocess
    import sys

    script = (
        "import httpx\n"
        "from azimage_widgets import emulator\n"
        "h = emulator.start(api_key='fake-key')\n"
        "r = httpx.get(h.endpoint + '/openai/nowhere', params={'api-version': '2023-06-01-preview'})\n"
        "print(r.status_code)\n"
        "h.stop()\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "401"
    assert "/openai/nowhere" not in proc.stderr
