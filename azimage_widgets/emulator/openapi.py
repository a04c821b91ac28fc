"""The OpenAPI document the emulator serves at ``/openapi.json``.

Generated from the contract, so schema Refresh against the emulator reads
exactly the fields the emulator accepts. A module of its own so a test can
swap the document and see Refresh pick the change up.
"""
from __future__ import annotations

from typing import Any

from ..contract.openapi import openapi_document


def document(api_version: str, server: str | None = None) -> dict[str, Any]:
    """The document for one api-version, with ``server`` as its base URL."""
    return openapi_document(api_version, server=server)
