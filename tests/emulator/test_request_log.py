"""``python -m azimage_widgets.emulator --request-log PATH``: answered requests, one JSON line each."""
from __future__ import annotations

import os
import signal
import subprocess
import sys

import httpx
from fakes import FAKE_KEY

from azimage_widgets.emulator.request_log import read


def test_cli_request_log_survives_a_kill(tmp_path):
    log = tmp_path / "requests.jsonl"
    proc = subprocess.Popen(
        [sys.executable, "-m", "azimage_widgets.emulator", "--api-key", FAKE_KEY,
         "--processing-time", "0", "--request-log", str(log)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env={**os.environ})
    try:
        assert proc.stdout is not None
        endpoint = proc.stdout.readline().strip()
        url = f"{endpoint}/openai/images/generations:submit?api-version=2023-06-01-preview"
        ok = httpx.post(url, json={"prompt": "a logged fox"}, headers={"api-key": FAKE_KEY})
        refused = httpx.post(url, json={"prompt": "no key"})
        assert (ok.status_code, refused.status_code) == (202, 401)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    lines = read(str(log))
    assert [(x["method"], x["status"], x.get("prompt")) for x in lines] == [
        ("POST", 202, "a logged fox"), ("POST", 401, "no key")]
    assert {x["pid"] for x in lines} == {proc.pid}
    assert FAKE_KEY not in log.read_text()
