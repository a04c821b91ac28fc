"""Fetch an endpoint's own OpenAPI document (the schema Refresh of the panels).

Only a loopback endpoint (the emulator, a local proxy) is asked: Azure serves
no such document. The request carries the connection's credentials (its own
origin only), follows no redirect, and its body is capped; a 404 or an
answer that is not a JSON object means "no document here" (None), any other
failure is an ApiError whose text never carries a header value.
"""
from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from ..contract import ApiError
from ..contract.openapi import OPENAPI_PATH
from .connection import Connection
from .urls import is_loopback_host

#: Largest OpenAPI document read (the emulator's is about 30 kB).
MAX_SCHEMA_BYTES = 2 * 1024 * 1024


def serves_schema_document(conn: Connection) -> bool:
    """True when the endpoint is on loopback (only such an endpoint is asked for its document)."""
    return is_loopback_host(urlsplit(conn.endpoint).hostname or "")


async def fetch_schema_document(conn: Connection, api_version: str, *,
                                transport: httpx.AsyncBaseTransport | None = None) -> dict[str, Any] | None:
    """The endpoint's OpenAPI document, or None (not loopback, or it has none: 404)."""
    if not serves_schema_document(conn):
        return None
    shown = f"{conn.endpoint}{OPENAPI_PATH}"
    url = f"{shown}?api-version={quote(api_version, safe='')}"
    headers = await conn.auth_headers(url)
    try:
        async with httpx.AsyncClient(timeout=conn.timeout, follow_redirects=False,
                                     transport=transport) as http:
            async with http.stream("GET", url, headers=headers) as resp:
                status = resp.status_code
                body = bytearray()
                async for chunk in resp.aiter_bytes():
                    body += chunk
                    if len(body) > MAX_SCHEMA_BYTES:
                        raise ApiError(status, "schemaRefresh",
                                       f"{shown} is larger than {MAX_SCHEMA_BYTES} bytes")
    except httpx.HTTPError as exc:
        raise ApiError(None, "connectionError", f"GET {shown} failed: {type(exc).__name__}") from None
    if status == 404:
        return None
    if status != 200:
        raise ApiError(status, "schemaRefresh", f"the endpoint answered {status} for {OPENAPI_PATH}")
    try:
        doc = json.loads(bytes(body))
    except (ValueError, RecursionError):
        return None  # not a document this package can read: the caller's fallback applies
    return doc if isinstance(doc, dict) else None


__all__ = ["MAX_SCHEMA_BYTES", "fetch_schema_document", "serves_schema_document"]
