"""Where the image store lives unless told: one rule, read by the store and the activities."""
from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path

#: Environment variable naming the store's folder.
ENV_STORE_DIR = "AZIMAGE_STORE_DIR"
APP_DIR_NAME = "azimage-widgets"


def default_store_dir(environ: Mapping[str, str] | None = None) -> Path:
    """``$AZIMAGE_STORE_DIR``, else ``$XDG_DATA_HOME/azimage-widgets``, else the platform's data dir.

    The platform default is ``~/.local/share/azimage-widgets`` (Linux and
    macOS alike, as XDG says), ``%LOCALAPPDATA%\\azimage-widgets`` on Windows.
    """
    env = os.environ if environ is None else environ
    explicit = (env.get(ENV_STORE_DIR) or "").strip()
    if explicit:
        return Path(explicit).expanduser()
    xdg = (env.get("XDG_DATA_HOME") or "").strip()
    if xdg and Path(xdg).is_absolute():  # the XDG spec: relative values are ignored
        return Path(xdg) / APP_DIR_NAME
    if sys.platform == "win32" and (env.get("LOCALAPPDATA") or "").strip():
        return Path(env["LOCALAPPDATA"]) / APP_DIR_NAME
    return Path.home() / ".local" / "share" / APP_DIR_NAME


__all__ = ["APP_DIR_NAME", "ENV_STORE_DIR", "default_store_dir"]
