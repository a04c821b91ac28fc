"""azimage-widgets: Azure OpenAI image generation in Jupyter.

Layers, each importing only those below it:

1. ``contract``   limits, sizes, versions, request/operation/result models
2. ``client``     the async httpx client: submit, poll, delete, fetch
3. ``activities`` Request Image / Download Image as plain traitlets objects
4. ``widgets``    ipywidgets panels over the activities

``emulator`` is a local Azure OpenAI image service sharing only ``contract``.
Heavy parts (widgets, emulator) load on first use, so ``import
azimage_widgets`` stays cheap in scripts.
"""
from __future__ import annotations

import importlib
from typing import Any

from .contract import (
    ApiError,
    AzimageError,
    ContentFilterError,
    ImageFetchError,
    ImageOperation,
    ImageRequest,
    ImageResult,
    OperationTimeout,
    ThrottledError,
    ValidationError,
)

__version__ = "0.1.0"

# name -> module that defines it, imported on first access
_LAZY: dict[str, str] = {
    "Connection": "azimage_widgets.client",
    "ImageClient": "azimage_widgets.client",
    "emulator": "azimage_widgets.emulator",
    "RequestImage": "azimage_widgets.activities",
    "DownloadImage": "azimage_widgets.activities",
    "RequestImagePanel": "azimage_widgets.widgets",
    "DownloadImagePanel": "azimage_widgets.widgets",
    "Operation": "azimage_widgets.activities.operation",
    "OperationLog": "azimage_widgets.activities.oplog",
    "default_log": "azimage_widgets.activities.oplog",
    "OperationPanel": "azimage_widgets.widgets",
    "OperationLogView": "azimage_widgets.widgets",
    "ConnectionPool": "azimage_widgets.client",
    "ImageStore": "azimage_widgets.store",
    "StoreRecord": "azimage_widgets.store",
    "history": "azimage_widgets.widgets",
    "HistoryGallery": "azimage_widgets.widgets",
    "Compare": "azimage_widgets.activities.compare",
    "CompareGrid": "azimage_widgets.widgets",
    "view_code": "azimage_widgets.activities.view_code",
}


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    """The Jupyter server extension (``jpserver_extensions: {"azimage_widgets": true}``).

    Names the module only: jupyter_server is imported when the server loads it.
    """
    return [{"module": "azimage_widgets.serverextension"}]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'azimage_widgets' has no attribute {name!r}")
    mod = importlib.import_module(module)
    # a module named like its export (activities.view_code.view_code) gives the export
    value = getattr(mod, name) if hasattr(mod, name) else mod
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "ApiError", "AzimageError", "ContentFilterError", "ImageFetchError", "ImageOperation",
    "ImageRequest", "ImageResult", "OperationTimeout", "ThrottledError", "ValidationError",
    *_LAZY,
]
