"""What a panel or a log line shows of a failure: its code, message and field.

One place turns any exception of a run into that information (``error_info``)
and into one line of text (``format_error``).
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..contract import ApiError, ImageFetchError, OperationTimeout, ValidationError


def error_info(exc: BaseException) -> dict[str, Any]:
    """What a panel shows of a failure: code, message and, for validation, the field."""
    info: dict[str, Any] = {"type": type(exc).__name__, "code": None, "message": str(exc),
                            "field": None, "status_code": None}
    if isinstance(exc, ValidationError):
        info.update(code="validation", field=exc.field, message=str(exc))
    elif isinstance(exc, ApiError):
        info.update(code=exc.code or (str(exc.status_code) if exc.status_code else "error"),
                    message=exc.message, status_code=exc.status_code)
    elif isinstance(exc, OperationTimeout):
        info.update(code="timeout")
    elif isinstance(exc, ImageFetchError):
        info.update(code="fetch", status_code=exc.status_code)
    else:
        info.update(code=type(exc).__name__)
    return info


def format_error(info: Mapping[str, Any] | None) -> str:
    """One line: ``code: message``."""
    if not info:
        return ""
    code = info.get("code")
    msg = info.get("message") or ""
    return f"{code}: {msg}" if code and not msg.startswith(f"{code}:") else msg


__all__ = ["error_info", "format_error"]
