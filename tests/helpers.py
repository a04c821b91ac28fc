"""Small helpers shared by several test modules (imported as ``from helpers import ...``)."""
from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def api_requests(handle: Any, method: str | None = None, path_part: str = "") -> list:
    """The emulator's records of API requests (not image downloads), optionally filtered."""
    return [r for r in handle.requests if r.listener == "api"
            and (method is None or r.method == method) and path_part in r.path]


def submits(handle: Any, status: int | None = None) -> list:
    """The submit requests an emulator answered, optionally only those answered ``status``."""
    return [r for r in api_requests(handle, "POST", ":submit") if status is None or r.status == status]


async def wait_for(pred, timeout: float = 10.0) -> None:
    end = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > end:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


def front_end_update(widget: Any, state: dict) -> list[dict]:
    """A front end's comm ``update`` message, delivered as the kernel delivers it; what the
    widget sent back (echoes, corrections) meanwhile."""
    sent: list[dict] = []
    comm = widget.comm
    original = comm.send
    comm.send = lambda data=None, metadata=None, buffers=None: sent.append(data)
    try:
        comm.handle_msg({"content": {"comm_id": comm.comm_id,
                                     "data": {"method": "update", "state": state, "buffer_paths": []}},
                         "buffers": []})
    finally:
        comm.send = original
    return sent


def isolate_jupyter(tmp_path: Path, monkeypatch: Any) -> Path:
    """Jupyter/IPython config, runtime and cache dirs under ``tmp_path``, this checkout on
    PYTHONPATH; returns a fresh working directory for a kernel."""
    for var, sub in [("JUPYTER_CONFIG_DIR", "jcfg"), ("JUPYTER_RUNTIME_DIR", "jrun"),
                     ("IPYTHONDIR", "ipython"), ("XDG_CACHE_HOME", "cache")]:
        (tmp_path / sub).mkdir()
        monkeypatch.setenv(var, str(tmp_path / sub))
    monkeypatch.setenv("PYTHONPATH", str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    work = tmp_path / "work"
    work.mkdir()
    return work
