"""An official client nobody here wrote, unchanged, against the emulator: openai==0.28.1.

openai 0.28.1 speaks the asynchronous Azure flow (``openai.Image.create`` with
``api_type="azure"``, ``api_version="2023-06-01-preview"``); it conflicts with
the openai v1 of the main venv, so it lives in a venv of its own,
``<repo>/.venv-openai028`` (gitignored, shared with bench/run.py: reused when
``openai.version.VERSION == "0.28.1"`` and requests import there). The check
itself is tests/emulator/openai_legacy/run_legacy_openai.py, run with that venv's python.

With ``CI=true`` this must run: a venv that cannot be made is a failure. Without
CI, no way to reach PyPI is a skip that says so.

Known weakness of 0.28.1, not tested here: it treats only succeeded/failed as
final, so a canceled (or deleted) operation is polled until its 600 s timeout.
Our client stops on canceled and deleted; that is tested in the client tests.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from azimage_widgets import emulator
from azimage_widgets.emulator import images

ROOT = Path(__file__).resolve().parents[2]
VENV = ROOT / ".venv-openai028"
SCRIPT = ROOT / "tests" / "emulator" / "openai_legacy" / "run_legacy_openai.py"
LEGACY_KEY = "fake-legacy-key-0028"
CHECK = ("import openai, requests, sys; "
         "sys.exit(0 if openai.version.VERSION == '0.28.1' else 3)")


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def _venv_python() -> Path:
    return VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def _usable(py: Path) -> bool:
    if not py.exists():
        return False
    return subprocess.run([str(py), "-c", CHECK], capture_output=True, timeout=120).returncode == 0


def _run(cmd: list[str], timeout: float) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


def _make_venv() -> tuple[Path | None, str]:
    """The venv's python, made or reused; or None and why it could not be made."""
    py = _venv_python()
    if _usable(py):
        return py, "reused"
    if not py.exists():
        made = _run([sys.executable, "-m", "venv", str(VENV)], timeout=300)
        if made.returncode != 0:
            return None, f"python -m venv {VENV} failed: {made.stderr.strip()[-800:]}"
    # An existing venv (maybe a colleague's bench venv missing requests) is topped up, not wiped.
    pip = _run([str(py), "-m", "pip", "install", "--disable-pip-version-check", "-q",
                "openai==0.28.1", "requests"], timeout=600)
    if pip.returncode != 0:
        return None, f"pip install openai==0.28.1 requests failed: {pip.stderr.strip()[-800:]}"
    if not _usable(py):
        return None, f"{py} still cannot import openai 0.28.1 and requests after pip install"
    return py, "made"


@pytest.fixture(scope="session")
def legacy_python() -> Path:
    lock_path = Path(tempfile.gettempdir()) / "azimage-venv-openai028.lock"
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # parallel test runs do not build it twice
        try:
            py, why = _make_venv()
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    if py is None:
        if _in_ci():
            pytest.fail(f"CI=true: the openai 0.28.1 venv is required. {why}")
        pytest.skip(f"openai 0.28.1 venv unavailable (no network to PyPI?); set CI=true to "
                    f"make this a failure. {why}")
    return py


@pytest.mark.slow
def test_openai_028_image_create_against_the_emulator(legacy_python):
    # retry_after=1: 0.28.1 sleeps Retry-After between polls (10 s when there is none).
    with emulator.start(api_key=LEGACY_KEY, processing_time=0.5, retry_after=1) as emu:
        prompt = "a lighthouse in a storm, drawn by openai 0.28.1"
        proc = subprocess.run([str(legacy_python), str(SCRIPT), emu.endpoint, LEGACY_KEY, prompt],
                              capture_output=True, text=True, timeout=120, cwd=ROOT)
        records = emu.requests
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    assert lines, f"no JSON line; rc={proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    result = json.loads(lines[-1])
    assert proc.returncode == 0, result
    assert result["ok"] is True and result["openai"] == "0.28.1"
    assert result["checks"] == {"n_urls": True, "downloads_200": True, "png_512x512": True,
                                "no_key_sent": True, "distinct_images": True}
    # The bytes it downloaded are the emulator's deterministic images for that prompt.
    want = [hashlib.sha256(images.render_png(prompt, i, "512x512")).hexdigest() for i in range(2)]
    assert [img["sha256"] for img in result["images"]] == want
    # What the emulator saw: one submit, polls of that operation, two keyless image GETs.
    api = [r for r in records if r.listener == "api"]
    img = [r for r in records if r.listener == "images"]
    assert api[0].method == "POST" and api[0].status == 202 and api[0].credentials
    polls = api[1:]
    assert polls and all(r.method == "GET" and r.status == 200 and r.credentials for r in polls)
    assert len(img) == 2 and all(r.status == 200 and not r.credentials for r in img)


@pytest.mark.slow
def test_script_exits_1_when_the_key_is_wrong(legacy_python):
    """The script can fail: a wrong key gives a 401, an error in the JSON line and exit 1."""
    with emulator.start(api_key=LEGACY_KEY, processing_time=0.1, retry_after=1) as emu:
        proc = subprocess.run([str(legacy_python), str(SCRIPT), emu.endpoint, "wrong-fake-key"],
                              capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 1
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["ok"] is False and "error" in result
