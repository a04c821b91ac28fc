"""Capped reads: an answer's body read whole, but never past its byte cap.

Every answer is streamed and refused as soon as it passes its cap (or
declares a Content-Length over it), so a broken or hostile service cannot make
the client buffer an endless body. The caps of API answers (JSON, after
content decoding) are per flow, below; images fetched from their URLs have
their own (``fetch.DEFAULT_MAX_IMAGE_BYTES``, ``ImageClient(max_image_bytes=...)``).
"""
from __future__ import annotations

from collections.abc import Callable

import httpx

from ..contract.limits import version_spec

#: Builds the error raised when an answer passes its cap; gets the status and "N bytes" or "longer".
TooLarge = Callable[[int, str], Exception]

#: Submit, DELETE and error answers (a few hundred bytes in practice), and synchronous
#: answers whose images are URLs.
MAX_API_RESPONSE_BYTES = 4 * 1024 * 1024
#: Polls of an asynchronous operation whose images are URLs: a few kB (n <= 5 URLs).
MAX_POLL_RESPONSE_BYTES = 1 * 1024 * 1024
#: Answers that can carry base64 images: a synchronous call or edit answered with b64_json
#: (gpt-image-1 always; a few MB of base64 per image, n up to 10), a poll of an operation
#: requested with b64_json, and a poll of an operation this client did not submit (its
#: format is unknown).
MAX_B64_RESPONSE_BYTES = 64 * 1024 * 1024


def answer_cap(api_version: str, response_format: str | None, *, poll: bool = False) -> int:
    """The byte cap of the answer to a request of ``api_version`` asking ``response_format``
    (None: the version's default); ``poll``: an asynchronous operation's poll answer."""
    fmt: object = response_format
    if fmt is None:
        opt = version_spec(api_version).option("response_format")
        fmt = opt.default if opt is not None else "url"
    if fmt == "b64_json":
        return MAX_B64_RESPONSE_BYTES
    return MAX_POLL_RESPONSE_BYTES if poll else MAX_API_RESPONSE_BYTES


async def read_capped(resp: httpx.Response, max_bytes: int, too_large: TooLarge) -> bytes:
    """The streamed body of ``resp`` (content-decoded), refused with ``too_large`` past ``max_bytes``."""
    declared = resp.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise too_large(resp.status_code, f"{int(declared)} bytes")
    chunks: list[bytes] = []
    total = 0
    async for chunk in resp.aiter_bytes():  # decoded: a gzip bomb is capped too
        total += len(chunk)
        if total > max_bytes:
            raise too_large(resp.status_code, "longer")
        chunks.append(chunk)
    return b"".join(chunks)


__all__ = ["MAX_API_RESPONSE_BYTES", "MAX_B64_RESPONSE_BYTES", "MAX_POLL_RESPONSE_BYTES",
           "TooLarge", "answer_cap", "read_capped"]
