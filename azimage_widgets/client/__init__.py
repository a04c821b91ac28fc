"""Layer 2, the async client: Connection, ImageClient and their helpers.

Imports only ``azimage_widgets.contract`` (plus httpx, Pillow and the standard
library); ``Connection.from_env`` loads the emulator lazily when no endpoint
is configured.
"""
from .batch import BatchError
from .connection import Connection, env_api_version, is_loopback_host
from .image_client import ImageClient
from .pool import ConnectionPool, PooledImageClient

__all__ = ["BatchError", "Connection", "env_api_version", "is_loopback_host", "ConnectionPool", "ImageClient", "PooledImageClient"]
