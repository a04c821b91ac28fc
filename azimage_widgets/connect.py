"""Where the client meets the rest: a Connection from the environment, several as one.

The client layer's ``Connection`` is a value: no I/O, no emulator. Picking
the service from ``AZURE_OPENAI_*`` (and, with no endpoint set, starting
the embedded emulator, or using the Jupyter server's) needs the client,
``serverinfo`` and the emulator together, so it lives here, above the
layers. ``aw.Connection`` is this module's subclass of the value: the same
object, plus ``from_env``, ``pool`` and ``aclose`` for notebook users.
The emulator is imported only on the path that starts it.
"""
from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import Any

from .client import connection as _value
from .client.connection import ENV_API_KEY, ENV_ENDPOINT, env_settings, token_scope
from .client.image_client import ImageClient
from .client.pool import ConnectionPool
from .contract.errors import ValidationError

__all__ = ["Connection", "from_env", "pool"]


class Connection(_value.Connection):
    """A Connection (see ``azimage_widgets.client.connection``) with the constructors that
    compose it: ``Connection.from_env()`` and ``Connection.pool([...])``, and ``aclose``."""

    __slots__ = ()

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Connection:
        """See ``azimage_widgets.connect.from_env``."""
        return from_env(environ)

    @staticmethod
    def pool(connections: Iterable[_value.Connection], **options: Any) -> ConnectionPool:
        """See ``azimage_widgets.connect.pool``."""
        return pool(connections, **options)

    async def aclose(self) -> None:
        """Close the shared ImageClients of this connection (see ``ImageClient.shared``)."""
        await ImageClient.close_shared(self)


def pool(connections: Iterable[_value.Connection], **options: Any) -> ConnectionPool:
    """A ConnectionPool over several connections (endpoints or deployments): see ``client.pool``.

    Usable wherever a Connection is: ``PooledImageClient(pool)``, the panels' ``conn``.
    ``options``: ``failover_statuses``, ``cooldown``, ``max_wait``, ``max_attempts``.
    """
    return ConnectionPool(connections, **options)


def from_env(environ: Mapping[str, str] | None = None) -> Connection:
    """A Connection from the AZURE_OPENAI_* variables.

    No endpoint set: the emulator of the Jupyter server running this kernel
    (``serverinfo``), else the embedded emulator (started on first use).
    With an endpoint the api-version defaults to v1, which needs
    AZURE_OPENAI_DEPLOYMENT (AZURE_OPENAI_MODEL optional; see ``env_settings``).
    An endpoint without a key: Entra ID through azure-identity's
    DefaultAzureCredential when it is installed, with the scope of the
    version (``token_scope``).
    """
    env = os.environ if environ is None else environ
    endpoint = (env.get(ENV_ENDPOINT) or "").strip()
    settings = env_settings(env)
    if not endpoint:
        from .serverinfo import server_emulator

        shared = server_emulator(env)  # a Jupyter server's emulator (serverextension)
        if shared is not None:
            return Connection(shared["endpoint"], api_key=shared["api_key"], **settings)
        from . import emulator  # only this path needs it (tornado)

        handle = emulator.embedded()
        return Connection(handle.endpoint, api_key=handle.api_key, **settings)
    key = env.get(ENV_API_KEY) or ""
    if key.strip():
        return Connection(endpoint, api_key=key, **settings)
    try:
        from azure.identity import (  # type: ignore[import-not-found,unused-ignore]
            DefaultAzureCredential,
            get_bearer_token_provider,
        )
    except ImportError:
        raise ValidationError(
            ENV_API_KEY,
            f"is not set (and azure-identity is not installed for Entra ID sign-in: "
            f"pip install 'azimage-widgets[azure]'); set it or unset {ENV_ENDPOINT} "
            f"to use the embedded emulator",
        ) from None
    provider = get_bearer_token_provider(DefaultAzureCredential(), token_scope(settings["api_version"]))
    return Connection(endpoint, token_provider=provider, **settings)
