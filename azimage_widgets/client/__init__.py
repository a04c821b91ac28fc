"""Layer 2, the async client: Connection, ImageClient and their helpers.

Imports only ``azimage_widgets.contract`` (plus httpx, Pillow and the standard
library); ``Connection.from_env`` loads the emulator lazily when no endpoint
is configured.
"""
from .batch import BatchError
from .connection import Connection, env_api_version
from .image_client import ImageClient
from .log_filter import install_log_filter
from .pool import ConnectionPool, PooledImageClient
from .urls import is_loopback_host

install_log_filter()  # httpx's INFO line shows URLs: their sig= values are hidden

__all__ = ["BatchError", "Connection", "ConnectionPool", "ImageClient", "PooledImageClient",
           "env_api_version", "is_loopback_host"]
