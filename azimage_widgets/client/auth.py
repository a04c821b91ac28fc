"""Credentials: checked once, held out of sight, attached only for the endpoint's origin.

An api key or a bearer token becomes an HTTP header value, and a header
value with a control character makes h11 refuse the request with a message
that quotes it. So every credential (the api key when a Connection is made,
each token a provider returns) is stripped of surrounding whitespace and
refused, without echoing it, unless it is visible ASCII.
"""
from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncGenerator, Awaitable, Callable, Generator
from typing import Any

import httpx

from ..contract.errors import ValidationError
from ..contract.routes import API_KEY_HEADER
from .urls import Origin, url_origin

#: Entra ID scope of Azure OpenAI (Cognitive Services).
TOKEN_SCOPE = "https://cognitiveservices.azure.com/.default"

#: A callable returning a bearer token: sync (azure-identity's
#: ``get_bearer_token_provider``) or async.
TokenProvider = Callable[[], str | Awaitable[str]]


def check_credential(field: str, value: object, *, what: str = "must be") -> str:
    """``value`` without surrounding whitespace; ValidationError naming ``field`` unless it is
    a non-empty string of visible ASCII (0x21-0x7E). The value itself is never shown."""
    if not isinstance(value, str):
        raise ValidationError(field, f"{what} a string, not {type(value).__name__}")
    cleaned = value.strip()
    if not cleaned:
        raise ValidationError(field, f"{what} a non-empty string")
    for position, char in enumerate(cleaned, 1):
        if not "\x21" <= char <= "\x7e":
            raise ValidationError(
                field, f"{what} visible ASCII only: character {position} is a control, space or "
                       "non-ASCII character (the value is not shown; check for a stray newline "
                       "or paste error)")
    return cleaned


class Secret:
    """Wraps a credential so that no accidental repr, format or pickle shows it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "***"

    __str__ = __repr__

    def __reduce__(self) -> Any:
        raise TypeError("a secret cannot be pickled")


class NoCredentials(httpx.Auth):
    """The auth of a connection restored from a pickle: it refuses requests to the endpoint."""

    def __init__(self, origin: Origin) -> None:
        self._origin = origin

    @staticmethod
    def error() -> ValidationError:
        return ValidationError(
            "api_key", "this connection carries no credentials (they are not pickled); create it again")

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        if url_origin(str(request.url)) == self._origin:
            raise self.error()
        yield request


class EndpointAuth(httpx.Auth):
    """httpx auth that sends ``api-key`` (or ``Authorization: Bearer``) to one origin only.

    Requests to any other origin (the blob host of result images, a
    redirect target) leave without credentials. Async only: the token
    provider may be a coroutine, and the client is async.
    """

    def __init__(self, origin: Origin, *, api_key: str | None = None,
                 token_provider: TokenProvider | None = None) -> None:
        if api_key is None and token_provider is None:
            raise ValidationError(
                "api_key", "an api_key or a token_provider (Entra ID bearer tokens) is required")
        if token_provider is not None and not callable(token_provider):
            raise ValidationError("token_provider", "must be a callable returning a bearer token")
        self._origin = origin
        self._api_key = Secret(check_credential("api_key", api_key)) if api_key is not None else None
        self._token_provider = token_provider
        self._last_token: Secret | None = None

    @property
    def kind(self) -> str:
        """"api-key" or "token"."""
        return "api-key" if self._api_key is not None else "token"

    def applies_to(self, url: str) -> bool:
        """True when ``url`` has exactly the endpoint's scheme, host and port."""
        return url_origin(url) == self._origin

    async def headers_for(self, url: str) -> dict[str, str]:
        """The credential header for ``url``; empty for any origin other than the endpoint's."""
        if not self.applies_to(url):
            return {}
        if self._api_key is not None:
            return {API_KEY_HEADER: self._api_key.reveal()}
        return {"Authorization": f"Bearer {await self._token()}"}

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        request.headers.update(await self.headers_for(str(request.url)))
        yield request

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        raise RuntimeError("EndpointAuth works with httpx.AsyncClient only")
        yield request  # pragma: no cover - makes this a generator, as httpx expects

    def secrets(self) -> list[str]:
        """The credentials this auth has handed out (the key, the last token): what to redact."""
        return [s.reveal() for s in (self._api_key, self._last_token) if s is not None]

    async def _token(self) -> str:
        provider = self._token_provider
        assert provider is not None
        if inspect.iscoroutinefunction(provider) or inspect.iscoroutinefunction(
                type(provider).__call__):
            token: object = await provider()  # type: ignore[misc]
        else:
            # azure-identity's provider may do network I/O on a refresh: keep it off the loop.
            token = await asyncio.to_thread(provider)
            if inspect.isawaitable(token):
                token = await token
        cleaned = check_credential("token_provider", token, what="must return")
        self._last_token = Secret(cleaned)
        return cleaned

    def __repr__(self) -> str:
        return f"EndpointAuth({self.kind}=***)"
