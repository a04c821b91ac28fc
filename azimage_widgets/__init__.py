"""azimage-widgets: Azure OpenAI image generation in Jupyter.

    import azimage_widgets as aw
    conn = aw.Connection.from_env()           # or the embedded emulator when none is set
    aw.RequestImagePanel(conn)                # the Request Image panel

Layers, each importing only those below it:

1. ``contract``   limits, sizes, versions, request/operation/result models, errors
2. ``client``     the async httpx client: submit, poll, delete, fetch
3. ``activities`` Request Image / Download Image as plain traitlets objects
4. ``widgets``    ipywidgets panels over the activities

``emulator`` is a local Azure OpenAI image service sharing only ``contract``;
``store`` keeps fetched images on disk. ``__all__`` below is the notebook
API; everything else is reached through its subpackage
(``azimage_widgets.store.ImageStore``, ``azimage_widgets.client.ConnectionPool``).
Every name loads on first use, so ``import azimage_widgets`` imports nothing
heavy (no httpx, ipywidgets, tornado or Pillow) in scripts and kernels.
``%load_ext azimage_widgets`` adds the ``%image`` / ``%%image`` magics
(``azimage_widgets.magic``).
"""
# private aliases: the module's namespace holds __all__ and nothing else public
import importlib as _importlib

# typing.TYPE_CHECKING without importing typing (about 20 ms); type checkers take it as True
TYPE_CHECKING = False

__version__ = "0.1.0"

__all__ = [
    # connect, and the async client for scripts
    "Connection", "ImageClient",
    # panels (widgets) and the activities under them (usable without a front end)
    "RequestImagePanel", "DownloadImagePanel", "OperationPanel", "CompareGrid", "history",
    "RequestImage", "DownloadImage", "Operation", "Compare",
    # the operation log, and the code behind a run
    "OperationLog", "OperationLogView", "default_log", "view_code",
    # what the service returns, and what can go wrong
    "ImageOperation", "ImageResult", "PartialImage",
    "AzimageError", "ApiError", "ValidationError", "ContentFilterError", "ThrottledError",
    "OperationTimeout", "ImageFetchError",
]

# exported name -> the module defining it, imported on first access
_HOME: dict[str, str] = {
    "Connection": "azimage_widgets.connect",
    "ImageClient": "azimage_widgets.client",
    "RequestImagePanel": "azimage_widgets.widgets",
    "DownloadImagePanel": "azimage_widgets.widgets",
    "OperationPanel": "azimage_widgets.widgets",
    "CompareGrid": "azimage_widgets.widgets",
    "history": "azimage_widgets.widgets",
    "RequestImage": "azimage_widgets.activities",
    "DownloadImage": "azimage_widgets.activities",
    "Operation": "azimage_widgets.activities.operation_chain",
    "Compare": "azimage_widgets.activities.compare",
    "OperationLog": "azimage_widgets.activities.oplog",
    "OperationLogView": "azimage_widgets.widgets",
    "default_log": "azimage_widgets.activities.oplog",
    "view_code": "azimage_widgets.activities.view_code",
    "ImageOperation": "azimage_widgets.contract",
    "ImageResult": "azimage_widgets.contract",
    "PartialImage": "azimage_widgets.contract.stream_events",
    "AzimageError": "azimage_widgets.contract",
    "ApiError": "azimage_widgets.contract",
    "ValidationError": "azimage_widgets.contract",
    "ContentFilterError": "azimage_widgets.contract",
    "ThrottledError": "azimage_widgets.contract",
    "OperationTimeout": "azimage_widgets.contract",
    "ImageFetchError": "azimage_widgets.contract",
}

# subpackages reachable as attributes (``aw.emulator.start()``) without an import statement
_SUBPACKAGES = frozenset({"contract", "client", "activities", "widgets", "store", "emulator"})

if TYPE_CHECKING:  # what type checkers and editors see; at run time __getattr__ loads them
    import typing as _typing

    from .activities import DownloadImage, RequestImage
    from .activities.compare import Compare
    from .activities.operation_chain import Operation
    from .activities.oplog import OperationLog, default_log
    from .activities.view_code import view_code
    from .client import ImageClient
    from .connect import Connection
    from .contract import (
        ApiError,
        AzimageError,
        ContentFilterError,
        ImageFetchError,
        ImageOperation,
        ImageResult,
        OperationTimeout,
        ThrottledError,
        ValidationError,
    )
    from .contract.stream_events import PartialImage
    from .widgets import (
        CompareGrid,
        DownloadImagePanel,
        OperationLogView,
        OperationPanel,
        RequestImagePanel,
        history,
    )


del TYPE_CHECKING


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    """The Jupyter server extension (``jpserver_extensions: {"azimage_widgets": true}``).

    Names the module only: jupyter_server is imported when the server loads it.
    """
    return [{"module": "azimage_widgets.serverextension"}]


# IPython's extension hooks (``%load_ext azimage_widgets``): served by __getattr__ from
# azimage_widgets.magic, so neither a module attribute nor loaded before IPython asks
_EXTENSION_HOOKS = frozenset({"load_ipython_extension", "unload_ipython_extension"})


def __getattr__(name: str) -> "_typing.Any":
    if name in _EXTENSION_HOOKS:
        return getattr(_importlib.import_module(f"{__name__}.magic"), name)
    if name in _SUBPACKAGES:
        return _importlib.import_module(f"{__name__}.{name}")
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(_importlib.import_module(home), name)
    globals()[name] = value  # later look-ups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__) | _SUBPACKAGES)
