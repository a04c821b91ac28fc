"""What a "not found" answer means on a retired api-version or model: said with the date.

Azure answers a retired deployment or version with a plain 404 (or
``DeploymentNotFound``); ``with_retirement_note`` adds the contract's note
(``image_models.retirement_note``: when, and what to use instead).
"""
from __future__ import annotations

from ..contract.errors import ApiError, ValidationError
from ..contract.image_models import MODEL_NAMES, ImageModel, retirement_note


def retirement_hint(api_version: str, model: ImageModel | None) -> str | None:
    """What a "not found" answer most likely means when the version or model is retired."""
    try:
        note = retirement_note(api_version)
    except ValidationError:
        note = None
    if note is None and model is not None and model.name in MODEL_NAMES:
        note = retirement_note(model.name)
    return note


def with_retirement_note(error: ApiError, api_version: str, model: ImageModel | None) -> ApiError:
    """``error`` with the retirement note appended when it is a 404 / DeploymentNotFound on a
    retired version or model (the same error otherwise)."""
    if error.status_code != 404 and error.code != "DeploymentNotFound":
        return error
    note = retirement_hint(api_version, model)
    if note is None or note in error.message:
        return error
    return type(error)(error.status_code, error.code, f"{error.message} ({note})",
                       operation_id=error.operation_id, retry_after=error.retry_after)


__all__ = ["retirement_hint", "with_retirement_note"]
