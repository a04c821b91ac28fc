"""URL paths of the REST contract, shared by the client and the emulator."""
from __future__ import annotations

from urllib.parse import quote

from .text import check_operation_id

BASE = "/openai"
SUBMIT_PATH = "/openai/images/generations:submit"
OPERATION_PREFIX = "/openai/operations/images/"
API_KEY_HEADER = "api-key"
OPERATION_LOCATION_HEADER = "operation-location"


def operation_path(operation_id: str) -> str:
    """The path an operation is polled and deleted at.

    ValidationError("operation_id") for an id that is not one (see
    ``text.check_operation_id``: ``.``, ``..``, ``/``, lone surrogates, ...).
    """
    return OPERATION_PREFIX + quote(check_operation_id(operation_id), safe="")


# -- the synchronous deployments flow (2024-10-21 and later, CONTRACT.md section 2) --------
DEPLOYMENTS_PREFIX = "/openai/deployments/"
GENERATIONS_SUFFIX = "/images/generations"
EDITS_SUFFIX = "/images/edits"


def generations_path(deployment: str) -> str:
    """``/openai/deployments/{deployment}/images/generations``, the name percent-encoded."""
    return DEPLOYMENTS_PREFIX + quote(deployment, safe="") + GENERATIONS_SUFFIX


def edits_path(deployment: str) -> str:
    """``/openai/deployments/{deployment}/images/edits`` (gpt-image-1)."""
    return DEPLOYMENTS_PREFIX + quote(deployment, safe="") + EDITS_SUFFIX


# -- the v1 API (CONTRACT.md section 4): the deployment goes in the body as ``model`` --------
V1_PREFIX = "/openai/v1"
V1_GENERATIONS_PATH = V1_PREFIX + GENERATIONS_SUFFIX
V1_EDITS_PATH = V1_PREFIX + EDITS_SUFFIX
