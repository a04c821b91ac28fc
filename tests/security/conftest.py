"""Fixtures shared by the key-leak tests: an emulator that knows a module's fake credentials,
and a record of every request that reached an httpx transport (after auth was applied)."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

import httpx
import pytest


class Sent(NamedTuple):
    """One request as it left for the network: its URL and its (lower-cased) headers."""

    url: str
    headers: dict[str, str]


@pytest.fixture
def keyed_emulator() -> Iterator[Callable[..., Any]]:
    """``keyed_emulator(key, token, processing_time=0.1)``: an emulator taking that key as
    ``api-key`` and that token as a bearer token; every one started is stopped afterwards."""
    from azimage_widgets import emulator

    started: list[Any] = []

    def start(key: str, token: str | None = None, processing_time: float = 0.1) -> Any:
        handle = emulator.start(api_key=key, processing_time=processing_time, retry_after=None)
        if token is not None:
            handle.config.bearer_tokens = {token}
        started.append(handle)
        return handle

    try:
        yield start
    finally:
        for handle in started:
            handle.stop()


@pytest.fixture
def wire(monkeypatch: pytest.MonkeyPatch) -> list[Sent]:
    """Every request any httpx async transport sends, in order."""
    sent: list[Sent] = []
    original = httpx.AsyncHTTPTransport.handle_async_request

    async def handle(self: httpx.AsyncHTTPTransport, request: httpx.Request) -> httpx.Response:
        sent.append(Sent(str(request.url), {k.lower(): v for k, v in request.headers.items()}))
        return await original(self, request)

    monkeypatch.setattr(httpx.AsyncHTTPTransport, "handle_async_request", handle)
    return sent
