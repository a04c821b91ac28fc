"""URL paths of the REST contract, shared by the client and the emulator."""
from __future__ import annotations

from urllib.parse import quote

BASE = "/openai"
SUBMIT_PATH = "/openai/images/generations:submit"
OPERATION_PREFIX = "/openai/operations/images/"
API_KEY_HEADER = "api-key"
OPERATION_LOCATION_HEADER = "operation-location"


def operation_path(operation_id: str) -> str:
    """The path an operation is polled and deleted at."""
    return OPERATION_PREFIX + quote(operation_id, safe="")
