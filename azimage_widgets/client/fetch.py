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
import logging
import warnings
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from PIL import Image, UnidentifiedImageError

from ..contract import ImageFetchError, ValidationError
from ..contract.errors import strip_query
from .connection import Connection, url_origin
from .retry import RETRY_STATUSES, RetryPolicy, is_retryable, parse_retry_after

log = logging.getLogger("azimage_widgets.client")

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
    """GET ``url`` (credentials only if it is on the endpoint's origin) and return its bytes."""
    url = check_image_url(url)
    shown = strip_query(url)
    attempt = 0
    while True:
        headers = await conn.auth_headers(url)
        try:
            data, status, retry_after = await _get_capped(http, url, headers, max_bytes)
        except httpx.HTTPError as exc:
            if is_retryable("idempotent", error=exc) and policy.can_retry(attempt):
                delay = policy.delay(attempt, None)
                log.debug("GET %s failed (%s); retry in %.2f s", shown, type(exc).__name__, delay)
                attempt += 1
                await sleep(delay)
                continue
            raise ImageFetchError(url, f"network error: {type(exc).__name__}: {exc}") from None
        if status in RETRY_STATUSES and policy.can_retry(attempt):
            delay = policy.delay(attempt, retry_after)
            log.debug("GET %s -> %s; retry in %.2f s", shown, status, delay)
            attempt += 1
            await sleep(delay)
            continue
        break
    if status in REFUSED_STATUSES:
        raise ImageFetchError(
            url, f"the link is expired or was refused (HTTP {status}); "
                 "poll the operation again for fresh URLs, which live 24 hours", status)
    if not 200 <= status < 300:
        raise ImageFetchError(url, f"HTTP {status}", status)
    if verify:
        await asyncio.to_thread(check_image_bytes, url, data)  # Pillow decodes off the event loop
    return data


async def _get_capped(http: httpx.AsyncClient, url: str, headers: dict[str, str],
                      max_bytes: int) -> tuple[bytes, int, float | None]:
    async with http.stream("GET", url, headers=headers) as resp:
        log.debug("GET %s -> %s", strip_query(url), resp.status_code)
        if not 200 <= resp.status_code < 300:
            return b"", resp.status_code, parse_retry_after(resp.headers)
        declared = resp.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > max_bytes:
            raise ImageFetchError(url, f"image is {int(declared)} bytes, over the {max_bytes}-byte cap")
        chunks: list[bytes] = []
        total = 0
        async for chunk in resp.aiter_bytes():
            total += len(chunk)
            if total > max_bytes:
                raise ImageFetchError(url, f"image is over the {max_bytes}-byte cap")
            chunks.append(chunk)
        return b"".join(chunks), resp.status_code, None


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
