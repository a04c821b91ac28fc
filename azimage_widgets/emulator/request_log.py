"""A request log file: one JSON line per request the emulator answered (``--request-log``).

``handle.requests`` shows what an emulator in this process saw; an emulator
run as its own process (``python -m azimage_widgets.emulator``), perhaps
killed and started again, tells a test or a benchmark through this file
instead. Each line: ``pid``, ``time``, ``method``, ``path``, ``status``,
``listener`` and, for a JSON POST, the ``prompt``. Never the key or any
other header. Lines are appended and flushed one by one, so a killed
emulator leaves every answered request in the file.
"""
from __future__ import annotations

import json
import os
import time
from typing import Any


def append(path: str, method: str, url_path: str, status: int, listener: str,
           body: bytes | None) -> None:
    """Add one line to the log at ``path`` (created if missing)."""
    line: dict[str, Any] = {"pid": os.getpid(), "time": round(time.time(), 3), "method": method,
                            "path": url_path, "status": status, "listener": listener}
    if method == "POST" and body:
        try:
            payload = json.loads(body)
        except (ValueError, UnicodeDecodeError, RecursionError):
            payload = None
        if isinstance(payload, dict) and isinstance(payload.get("prompt"), str):
            line["prompt"] = payload["prompt"]
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(line, ensure_ascii=False) + "\n")


def read(path: str) -> list[dict[str, Any]]:
    """Every line of a request log (a torn last line, from a kill mid-write, is left out)."""
    out: list[dict[str, Any]] = []
    try:
        with open(path, encoding="utf-8") as f:
            for text in f:
                try:
                    out.append(json.loads(text))
                except ValueError:
                    continue
    except FileNotFoundError:
        pass
    return out


__all__ = ["append", "read"]
