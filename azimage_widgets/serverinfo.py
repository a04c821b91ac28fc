"""Finding the emulator a Jupyter server shares with its kernels (no Jupyter import here).

The server extension (``azimage_widgets.serverextension``) mounts one emulator
under the server's base URL and hands its endpoint and key to kernels this way:

- it writes ``<jupyter runtime dir>/azimage-emulator-<server pid>.json``, readable
  by the server's user only (mode 0600), holding ``endpoint`` (a loopback URL
  of the server), ``api_key`` and ``api_version``;
- it sets ``AZIMAGE_EMULATOR_INFO`` to that file's path in the server's own
  environment, so every kernel the server starts afterwards inherits the path
  (a path, not the key: the key never sits in an environment variable).

``Connection.from_env()`` with no ``AZURE_OPENAI_ENDPOINT`` uses this emulator
when the file is there, else the kernel's own embedded one. Browsers and
scripts outside the server's kernels ask ``GET <base_url>azimage/emulator/info``
with Jupyter credentials instead.
"""
from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

#: Environment variable naming the info file of the server's shared emulator.
INFO_ENV = "AZIMAGE_EMULATOR_INFO"
#: Name of the info file in the server's runtime dir.
INFO_FILE = "azimage-emulator-{pid}.json"


def server_emulator(environ: Mapping[str, str] | None = None) -> dict[str, Any] | None:
    """The shared emulator's ``{"endpoint", "api_key", "api_version", ...}``, or None.

    None when no server extension named a file, or the file is gone (its server
    stopped) or unreadable or incomplete: the caller falls back to the embedded
    emulator then.
    """
    env = os.environ if environ is None else environ
    path = (env.get(INFO_ENV) or "").strip()
    if not path:
        return None
    try:
        info = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(info, dict) or not info.get("endpoint") or not info.get("api_key"):
        return None
    return info


__all__ = ["INFO_ENV", "INFO_FILE", "server_emulator"]
