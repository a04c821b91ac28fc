"""Where the service is and how to authenticate: the Connection, a value.

A Connection is small and immutable: endpoint, credentials (an httpx auth,
see auth.py), api-version, deployment, model and limits (timeouts, retries,
quota). Making one does no I/O. It holds the credentials privately so that
a repr, str, pickle or dict export never shows them, and its auth attaches
them only to requests for the endpoint's own origin, so the key never
travels to a blob host. ``ConnectionLike`` is the face a Connection and a
ConnectionPool share. The environment's rules (``env_settings``) are here;
building a Connection from the environment (and starting the embedded
emulator when nothing is configured) is ``azimage_widgets.connect``'s job.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable
from urllib.parse import urlsplit

import httpx

from ..contract.errors import ValidationError, redact
from ..contract.image_models import ImageModel, model_for_version, model_spec
from ..contract.limits import API_VERSIONS, DEFAULT_API_VERSION, V1_API_VERSION, version_spec
from .auth import TOKEN_SCOPE, EndpointAuth, NoCredentials, TokenProvider
from .urls import Origin, is_loopback_host, url_origin

ENV_ENDPOINT = "AZURE_OPENAI_ENDPOINT"
ENV_API_KEY = "AZURE_OPENAI_API_KEY"
ENV_API_VERSION = "AZURE_OPENAI_API_VERSION"
ENV_DEPLOYMENT = "AZURE_OPENAI_DEPLOYMENT"
ENV_MODEL = "AZURE_OPENAI_MODEL"
#: Entra ID scope of the v1 API (the dated versions use ``TOKEN_SCOPE``).
V1_TOKEN_SCOPE = "https://ai.azure.com/.default"
#: Base paths a user may paste with the endpoint; the client adds them itself.
_BASE_PATHS: tuple[str, ...] = ("/openai/v1", "/openai")

__all__ = ["Connection", "ConnectionLike", "Origin", "TOKEN_SCOPE", "TokenProvider", "V1_TOKEN_SCOPE",
           "env_api_version",
           "env_settings", "is_loopback_host", "token_scope", "url_origin"]


def env_api_version(environ: Mapping[str, str] | None = None) -> str:
    """The api-version ``from_env`` (azimage_widgets.connect) uses: AZURE_OPENAI_API_VERSION, else "v1" for a
    configured endpoint (what an Azure resource serves today) and the seeds' version for the
    emulator."""
    env = os.environ if environ is None else environ
    asked = (env.get(ENV_API_VERSION) or "").strip()
    if asked:
        return asked
    return V1_API_VERSION if (env.get(ENV_ENDPOINT) or "").strip() else DEFAULT_API_VERSION


def env_settings(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """``api_version``, ``deployment`` and ``model`` from AZURE_OPENAI_*, checked.

    A configured endpoint on a version that calls a deployment (v1 and the
    deployments flow) needs AZURE_OPENAI_DEPLOYMENT: a ValidationError names it.
    """
    env = os.environ if environ is None else environ
    version = env_api_version(env)
    deployment = (env.get(ENV_DEPLOYMENT) or "").strip() or None
    model = (env.get(ENV_MODEL) or "").strip() or None
    try:
        spec = version_spec(version)
    except ValidationError:
        raise ValidationError(ENV_API_VERSION, f"must be one of {', '.join(API_VERSIONS)} "
                                               "(v1 for today's models)", version) from None
    if model is not None:
        try:
            model_spec(model)
        except ValidationError as exc:
            raise ValidationError(ENV_MODEL, exc.limit, model) from None
    if (env.get(ENV_ENDPOINT) or "").strip() and spec.is_sync and deployment is None:
        raise ValidationError(
            ENV_DEPLOYMENT, f"is not set: api-version {version} calls a deployment; set it to the "
                            f"name of your image model deployment (e.g. my-gpt-image-2)")
    return {"api_version": version, "deployment": deployment, "model": model}


def token_scope(api_version: str) -> str:
    """The Entra ID scope a token for ``api_version`` is asked for."""
    return V1_TOKEN_SCOPE if version_spec(api_version).is_v1 else TOKEN_SCOPE


def _strip_base_path(endpoint: str) -> tuple[str, bool]:
    """The endpoint without a pasted ``/openai/v1`` or ``/openai`` base; True when v1 was pasted."""
    path = urlsplit(endpoint).path.rstrip("/")
    for base in _BASE_PATHS:
        if path.lower().endswith(base):
            return endpoint.rstrip("/")[: len(endpoint.rstrip("/")) - len(base)], base == "/openai/v1"
    return endpoint, False


def _check_endpoint(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError("endpoint", "must be a non-empty URL such as https://<resource>.openai.azure.com")
    endpoint = value.strip()
    try:
        parts = urlsplit(endpoint)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        raise ValidationError("endpoint", f"is not a valid URL ({exc})") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise ValidationError("endpoint", "must start with https:// (or http:// for a local emulator)",
                              endpoint)
    if not parts.hostname:
        raise ValidationError("endpoint", "has no host name", endpoint)
    if parts.username is not None or parts.password is not None:
        # Credentials in a URL would end up in reprs and logs.
        raise ValidationError("endpoint", "must not contain user:password@; pass api_key instead")
    if parts.query or parts.fragment:
        raise ValidationError("endpoint", "must not have a query or fragment",
                              endpoint.split("?", 1)[0].split("#", 1)[0])
    if scheme == "http" and not is_loopback_host(parts.hostname):
        raise ValidationError(
            "endpoint",
            "http:// is allowed only for loopback hosts (localhost, 127.0.0.0/8, ::1); "
            "use https:// so the api key is not sent in clear text",
            endpoint,
        )
    return endpoint.rstrip("/")


@runtime_checkable
class ConnectionLike(Protocol):
    """What a Connection and a ConnectionPool both offer, so either goes where a connection goes
    (activities, panels, ``ImageClient.shared``): settings, the credentials' origin check,
    redaction and a secret-free export."""

    @property
    def endpoint(self) -> str: ...
    @property
    def api_version(self) -> str: ...
    @property
    def deployment(self) -> str | None: ...
    @property
    def timeout(self) -> float: ...
    @property
    def poll_timeout(self) -> float: ...
    @property
    def max_retries(self) -> int: ...
    @property
    def auth_kind(self) -> str | None: ...

    def is_same_origin(self, url: str) -> bool: ...

    async def auth_headers(self, url: str) -> dict[str, str]: ...

    def secrets(self) -> list[str]: ...

    def redact(self, text: str) -> str: ...

    def to_dict(self) -> dict[str, Any]: ...


class Connection:
    """Endpoint, api-version and credentials of one Azure OpenAI resource (or the emulator).

    ``api_key`` or ``token_provider`` is required. ``timeout`` is per HTTP
    request, ``poll_timeout`` bounds how long ``download_image`` waits, and
    ``max_retries`` bounds retries of one request. ``model`` names the image
    model the deployment runs (its rules apply: ``image_model``); when left
    out it is read from the deployment's name. An endpoint pasted with its
    ``/openai/v1`` base is understood (and means ``api_version="v1"`` unless
    another is given).
    """

    __slots__ = ("_endpoint", "_origin", "_auth", "_api_version",
                 "_deployment", "_model", "_timeout", "_poll_timeout", "_max_retries",
                 "_images_per_minute", "_requests_per_minute", "__weakref__")

    def __init__(
        self,
        endpoint: str,
        api_key: str | None = None,
        api_version: str | None = None,
        *,
        token_provider: TokenProvider | None = None,
        deployment: str | None = None,
        model: str | None = None,
        timeout: float = 30.0,
        poll_timeout: float = 600.0,
        max_retries: int = 4,
        images_per_minute: float | None = None,
        requests_per_minute: float | None = None,
    ) -> None:
        self._endpoint, pasted_v1 = _strip_base_path(_check_endpoint(endpoint))
        origin = url_origin(self._endpoint)
        assert origin is not None
        self._origin: Origin = origin
        # the key is stripped and checked (visible ASCII) here, never echoed
        self._auth: EndpointAuth | None = EndpointAuth(origin, api_key=api_key,
                                                       token_provider=token_provider)
        if api_version is None:
            api_version = V1_API_VERSION if pasted_v1 else DEFAULT_API_VERSION
        if not isinstance(api_version, str):
            raise ValidationError("api_version", "must be a string", api_version)
        version_spec(api_version)
        self._api_version = api_version
        if deployment is not None and (not isinstance(deployment, str) or not deployment.strip()):
            raise ValidationError("deployment", "must be a non-empty string or None", deployment)
        self._deployment = deployment
        if model is not None:
            model = model_spec(model).name  # ValidationError("model") for an unknown one
        self._model = model
        self._timeout = _positive("timeout", timeout)
        self._poll_timeout = _positive("poll_timeout", poll_timeout)
        if isinstance(max_retries, bool) or not isinstance(max_retries, int) or not 0 <= max_retries <= 20:
            raise ValidationError("max_retries", "must be a whole number from 0 to 20", max_retries)
        self._max_retries = max_retries
        # the deployment's quota, when known: batches are paced by it (client/pacing.py)
        self._images_per_minute = _per_minute("images_per_minute", images_per_minute)
        self._requests_per_minute = _per_minute("requests_per_minute", requests_per_minute)

    # -- read-only attributes ------------------------------------------------
    @property
    def endpoint(self) -> str:
        return self._endpoint

    @property
    def origin(self) -> Origin:
        """(scheme, host, port) of the endpoint: the only origin that gets credentials."""
        return self._origin

    @property
    def api_version(self) -> str:
        return self._api_version

    @property
    def deployment(self) -> str | None:
        return self._deployment

    @property
    def model(self) -> str | None:
        """The image model named for the deployment (None: read from its name, see image_model)."""
        return self._model

    @property
    def image_model(self) -> ImageModel:
        """The rules requests on this connection follow: ``model``, else the model the
        deployment's name names, else those common to all GPT image models (the older
        versions: the one model they serve)."""
        return model_for_version(self._api_version, self._model, self._deployment)

    @property
    def timeout(self) -> float:
        return self._timeout

    @property
    def poll_timeout(self) -> float:
        return self._poll_timeout

    @property
    def max_retries(self) -> int:
        return self._max_retries

    @property
    def images_per_minute(self) -> float | None:
        """The deployment's quota in images per minute (None: learned from its answers)."""
        return self._images_per_minute

    @property
    def requests_per_minute(self) -> float | None:
        """The deployment's quota in requests per minute (None: learned from its answers)."""
        return self._requests_per_minute

    @property
    def auth_kind(self) -> str | None:
        """"api-key", "token" or None (a connection restored from a pickle has no secret)."""
        return None if self._auth is None else self._auth.kind

    # -- auth ---------------------------------------------------------------
    @property
    def auth(self) -> httpx.Auth:
        """The httpx auth of this connection: credentials for the endpoint's origin only.

        A connection restored from a pickle has none: its auth refuses requests to
        the endpoint with a ValidationError naming ``api_key``.
        """
        return NoCredentials(self._origin) if self._auth is None else self._auth

    def is_same_origin(self, url: str) -> bool:
        """True when ``url`` has exactly the endpoint's scheme, host and port."""
        return url_origin(url) == self._origin

    async def auth_headers(self, url: str) -> dict[str, str]:
        """Credentials for a request to ``url``; empty for any other origin than the endpoint's."""
        if not self.is_same_origin(url):
            return {}
        if self._auth is None:
            raise NoCredentials.error()
        return await self._auth.headers_for(url)

    def secrets(self) -> list[str]:
        """The credentials of this connection handed out so far (for ``contract.errors.redact``)."""
        return [] if self._auth is None else self._auth.secrets()

    def redact(self, text: str) -> str:
        """``text`` with this connection's credentials, in any form, replaced by ***."""
        return redact(text, self.secrets())

    # -- representations ----------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Settings without any secret, e.g. for logs or a UI."""
        return {
            "endpoint": self._endpoint,
            "api_version": self._api_version,
            "deployment": self._deployment,
            "model": self._model,
            "auth": self.auth_kind,
            "timeout": self._timeout,
            "poll_timeout": self._poll_timeout,
            "max_retries": self._max_retries,
            "images_per_minute": self._images_per_minute,
            "requests_per_minute": self._requests_per_minute,
        }

    def __repr__(self) -> str:
        kind = self.auth_kind
        auth = {"api-key": "api_key=***", "token": "token_provider=<callable>"}.get(kind or "",
                                                                                  "api_key=None")
        dep = f", deployment={self._deployment!r}" if self._deployment else ""
        if self._model:
            dep += f", model={self._model!r}"
        return (f"Connection(endpoint={self._endpoint!r}, api_version={self._api_version!r}"
                f"{dep}, {auth})")

    __str__ = __repr__

    def __getstate__(self) -> dict[str, Any]:
        """Pickle without the key or token provider: a restored copy must be given them again."""
        return {name: getattr(self, name) for name in Connection.__slots__  # a subclass adds none
                if name not in ("_auth", "__weakref__")}

    def __setstate__(self, state: Mapping[str, Any]) -> None:
        for name, value in state.items():
            object.__setattr__(self, name, value)
        self._auth = None

    def __copy__(self) -> Connection:
        return self  # immutable

    def __deepcopy__(self, memo: dict[int, Any]) -> Connection:
        return self


def _positive(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0 \
            or value != value or value == float("inf"):
        raise ValidationError(name, "must be a positive number of seconds", value)
    return float(value)


def _per_minute(name: str, value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < float("inf"):
        raise ValidationError(name, "must be a positive number per minute, or None", value)
    return float(value)
