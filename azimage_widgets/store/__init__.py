"""The local image store: fetched images kept on disk with what made them.

Layer 3 level: uses ``contract`` only (never widgets). The activities put
every fetched image here (``store=None``: the default store, ``store=False``:
off), so previews survive the 24 h expiry of the service's URLs and kernel
restarts. ``aw.history()`` (layer 4) shows it as a gallery.

The default folder is ``$AZIMAGE_STORE_DIR``, else
``$XDG_DATA_HOME/azimage-widgets``, else ``~/.local/share/azimage-widgets``.
"""
from .capture import default_store, resolve_store, set_default_store, store_download
from .image_store import ImageStore
from .location import ENV_STORE_DIR, default_store_dir
from .pngmeta import with_text
from .records import MalformedRecord, RecordList, StoreRecord

__all__ = [
    "ENV_STORE_DIR", "ImageStore", "MalformedRecord", "RecordList", "StoreRecord", "default_store",
    "default_store_dir",
    "resolve_store", "set_default_store", "store_download", "with_text",
]
