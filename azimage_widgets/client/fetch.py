"""Download one generated image safely.

Result URLs live on a blob host with a SAS query, so they get no credentials
(only the endpoint's own origin does). The body is streamed with a byte cap,
decoded once with Pillow (its decompression-bomb guard left on) so corrupt
bytes fail here rather than in a notebook cell, and every message shows the
URL without its query so the SAS signature does not leak.
"""
from __future__ import annotations

import asyncio
import io
import warnings
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from PIL import Image, UnidentifiedImageError

from ..contract.errors import ImageFetchError, ValidationError, strip_query
from .connection import Connection
from .exchange import Answer, exchange
from .retry import RetryPolicy, send_with_retries
from .urls import url_origin

DEFAULT_MAX_IMAGE_BYTES = 20 * 1024 * 1024
#: Used when someone switched Pillow's global guard off (Image.MAX_IMAGE_PIXELS = None).
_FALLBACK_MAX_PIXELS = 89_478_485
#: These statuses mean the SAS link is expired, tampered or the blob is gone.
REFUSED_STATUSES = frozenset({401, 403, 404, 409, 410})


def check_image_url(url: object) -> str:
    """The URL if it is an absolute http(s) URL; ValidationError otherwise."""
    if not isinstance(url, str) or url_origin(url) is None:
        shown = strip_query(url) if isinstance(url, str) else url
        raise ValidationError("url", "must be an absolute http:// or https:// URL", shown)
    return url


async def fetch_image_bytes(
    http: httpx.AsyncClient,
    conn: Connection,
    url: str,
    *,
    policy: RetryPolicy,
    max_bytes: int = DEFAULT_MAX_IMAGE_BYTES,
    verify: bool = True,
    sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
) -> bytes:
    """GET ``url`` and return its bytes; ``http`` carries ``conn.auth``, so credentials go along
    only when ``url`` is on the endpoint's origin (a result image's blob host gets none).

    Each attempt, connect to last byte, ends within ``conn.timeout`` seconds;
    idempotent retries follow ``policy``.
    """
    url = check_image_url(url)
    shown = strip_query(url)

    def too_large(status: int, size: str) -> ImageFetchError:
        if size == "longer":
            return ImageFetchError(url, f"image is over the {max_bytes}-byte cap")
        return ImageFetchError(url, f"image is {size}, over the {max_bytes}-byte cap")

    async def once(budget: float | None) -> Answer:
        # credentials, if any, come from ``http``'s auth: only the endpoint's origin gets them
        request = http.build_request("GET", url)
        return await exchange(http, request, budget=budget, max_bytes=max_bytes,
                              too_large=too_large, read_body=lambda status: 200 <= status < 300)

    try:
        answer = await send_with_retries(once, kind="idempotent", policy=policy,
                                         timeout=conn.timeout, sleep=sleep, what=f"GET {shown}")
    except httpx.HTTPError as exc:
        what = "timed out" if isinstance(exc, httpx.TimeoutException) else "network error"
        raise ImageFetchError(url, conn.redact(f"{what}: {type(exc).__name__}: {exc}")) from None
    status = answer.status_code
    if status in REFUSED_STATUSES:
        raise ImageFetchError(
            url, f"the link is expired or was refused (HTTP {status}); "
                 "poll the operation again for fresh URLs, which live 24 hours", status)
    if not answer.is_success:
        raise ImageFetchError(url, f"HTTP {status}", status)
    if verify:
        # Pillow decodes off the event loop
        await asyncio.to_thread(check_image_bytes, url, answer.content)
    return answer.content


class ImageFetcher:
    """A client's image fetches, at most ``concurrency`` at once (with their decode check), so
    the images of a large result do not all sit in memory together; the others wait their turn."""

    def __init__(self, conn: Connection, policy: RetryPolicy, max_bytes: int,
                 concurrency: int) -> None:
        self._conn, self._policy, self._max_bytes = conn, policy, max_bytes
        self._concurrency = concurrency
        self._slots: asyncio.Semaphore | None = None  # made on first use, on the client's loop

    async def fetch(self, http: httpx.AsyncClient, url: str,
                    sleep: Callable[[float], Awaitable[Any]]) -> bytes:
        if self._slots is None:
            self._slots = asyncio.Semaphore(self._concurrency)
        async with self._slots:
            return await fetch_image_bytes(http, self._conn, url, policy=self._policy,
                                           max_bytes=self._max_bytes, sleep=sleep)


def check_image_bytes(url: str, data: bytes) -> None:
    """Raise ImageFetchError unless ``data`` decodes fully as an image of sane size."""
    if not data:
        raise ImageFetchError(url, "empty body, not an image")
    limit = Image.MAX_IMAGE_PIXELS or _FALLBACK_MAX_PIXELS
    try:
        with warnings.catch_warnings():
            # Pillow only warns between MAX_IMAGE_PIXELS and twice that: make it an error.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as img:
                if img.width * img.height > limit:
                    raise ImageFetchError(url, f"image of {img.width}x{img.height} pixels is too large")
                img.verify()
            with Image.open(io.BytesIO(data)) as img:
                img.load()  # verify() does not decode pixels; truncation shows up here
    except ImageFetchError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageFetchError(url, f"refused as a decompression bomb: {exc}") from None
    except UnidentifiedImageError:
        raise ImageFetchError(url, "the bytes are not an image Pillow can read") from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ImageFetchError(url, f"corrupt image: {exc}") from None
