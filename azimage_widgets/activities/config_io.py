"""Configurations as JSON: hand out prepared activities and panels.

    text = to_config(req)                    # or panel.to_config(); a JSON string
    req2 = activity_from_config(text, conn)  # aw.RequestImagePanel.from_config(text, conn) for a panel

A configuration holds the activity kind and its settings (the traits of
``config_names`` plus the schema edit), never the connection: no endpoint,
no key, no token. ``from_config`` takes the connection to use (default:
``Connection.from_env()`` when the activity first runs), and refuses a
configuration that carries anything that looks like a credential.

Format (version 1)::

    {"format": "azimage-widgets.activity", "version": 1, "kind": "request_image",
     "config": {"name": "fox", "prompt": "a red fox", "size": "512x512", ...}}

The saved configuration is exported (what Save & Exit / Finished stored),
not unsaved edits; pass ``saved=False`` for the live values.
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..contract import ValidationError
from ..contract.schemas import DOWNLOAD_IMAGE, REQUEST_IMAGE

FORMAT = "azimage-widgets.activity"
VERSION = 1
_SECRET_WORDS = ("key", "token", "secret", "password", "authorization", "credential")


def _activity(obj: Any) -> Any:
    return getattr(obj, "activity", obj)


def config_dict(obj: Any, *, saved: bool = True) -> dict[str, Any]:
    """The configuration of an activity or panel as a JSON-ready dict."""
    act = _activity(obj)
    cfg = dict(act.saved) if saved and act.saved else act.config()
    return {"format": FORMAT, "version": VERSION, "kind": act.kind, "config": cfg}


def to_config(obj: Any, path: str | Path | None = None, *, saved: bool = True,
              indent: int | None = 2) -> str:
    """The configuration as JSON text; also written to ``path`` when given."""
    text = json.dumps(config_dict(obj, saved=saved), indent=indent, ensure_ascii=False)
    if path is not None:
        Path(path).write_text(text, encoding="utf-8")
    return text


def _check_no_secrets(value: Any, where: str = "config") -> None:
    if isinstance(value, Mapping):
        for k, v in value.items():
            if isinstance(k, str) and any(w in k.lower() for w in _SECRET_WORDS):
                raise ValidationError(f"{where}.{k}", "a configuration never carries credentials; "
                                      "give the connection to from_config instead")
            _check_no_secrets(v, f"{where}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _check_no_secrets(v, f"{where}[{i}]")


def read_config(source: str | Path | Mapping[str, Any]) -> dict[str, Any]:
    """A checked configuration dict from a dict, JSON text, or a path to a JSON file."""
    if isinstance(source, Mapping):
        data: Any = dict(source)
    else:
        text = str(source)
        if isinstance(source, Path) or not text.lstrip().startswith("{"):
            text = Path(source).read_text(encoding="utf-8")
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise ValidationError("config", f"not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ValidationError("config", "must be a JSON object")
    if data.get("format") != FORMAT:
        raise ValidationError("config.format", f"must be {FORMAT!r}", data.get("format"))
    if data.get("version") != VERSION:
        raise ValidationError("config.version", f"must be {VERSION}", data.get("version"))
    if data.get("kind") not in (REQUEST_IMAGE, DOWNLOAD_IMAGE):
        raise ValidationError("config.kind", f"must be {REQUEST_IMAGE} or {DOWNLOAD_IMAGE}",
                              data.get("kind"))
    cfg = data.get("config")
    if not isinstance(cfg, dict):
        raise ValidationError("config.config", "must be an object of settings")
    _check_no_secrets(data)
    return data


def activity_from_config(source: str | Path | Mapping[str, Any], conn: Any = None, *,
                         namespace: Any = None, replace: bool = False, **overrides: Any) -> Any:
    """A new activity (RequestImage or DownloadImage) from a configuration; ``overrides`` win."""
    from .download_image import DownloadImage
    from .request_image import RequestImage

    data = read_config(source)
    cls = RequestImage if data["kind"] == REQUEST_IMAGE else DownloadImage
    settings = {**data["config"], **overrides}
    name = settings.pop("name", None)
    return cls(conn, name=name, namespace=namespace, replace=replace, **settings)


def panel_settings(cls_kind: str, source: str | Path | Mapping[str, Any],
                   **overrides: Any) -> dict[str, Any]:
    """The settings of a configuration for a panel class of ``cls_kind`` (kind checked)."""
    data = read_config(source)
    if data["kind"] != cls_kind:
        raise ValidationError("config.kind", f"is {data['kind']}, this panel is {cls_kind}")
    return {**data["config"], **overrides}


__all__ = ["FORMAT", "VERSION", "activity_from_config", "config_dict", "panel_settings",
           "read_config", "to_config"]
