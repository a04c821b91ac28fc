"""Layer 2, the async client: Connection, ImageClient and their helpers.

Imports only ``azimage_widgets.contract`` (plus httpx, Pillow and the standard
library). A Connection is a value; making one from the environment (and
starting the embedded emulator) is ``azimage_widgets.connect``'s job.
"""
from .batch import BatchError
from .connection import Connection, ConnectionLike, env_api_version
from .image_client import ImageClient
from .log_filter import install_log_filter
from .pool import ConnectionPool
from .pooled_client import PooledImageClient, client_for, shared_client
from .urls import is_loopback_host

install_log_filter()  # httpx's INFO line shows URLs: their sig= values are hidden

__all__ = ["BatchError", "Connection", "ConnectionLike", "ConnectionPool", "ImageClient",
           "PooledImageClient", "client_for", "env_api_version", "is_loopback_host", "shared_client"]
