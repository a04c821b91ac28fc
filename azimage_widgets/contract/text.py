"""Checks of free text and of operation ids, shared by every layer.

A browser's JSON can carry a lone surrogate (``"\\ud800"``, half an emoji): Python
decodes it into a ``str`` that cannot be encoded as UTF-8, so the HTTP layer would
fail with UnicodeEncodeError long after validation. ``check_text`` refuses such
text with a ValidationError naming the field.

An operation id becomes one path segment (``operation_path``). Percent-encoding
keeps ``.`` and ``..`` as they are, and URL normalization (httpx, any proxy)
removes such dot segments, so a GET or DELETE of operation ``..`` would go to
another resource. ``check_operation_id`` is the one place that says what an id
may be: a non-empty string of printable characters, at most
``OPERATION_ID_MAX_CHARS`` long, with no ``/`` and not ``.`` or ``..``.
"""
from __future__ import annotations

from typing import Any

from .errors import ValidationError

#: Longest operation id accepted (the service's are 36-character UUIDs).
OPERATION_ID_MAX_CHARS = 256
UNICODE_LIMIT = "must be valid Unicode text (no lone surrogates)"


def is_valid_unicode(text: str) -> bool:
    """True when ``text`` can be encoded as UTF-8 (it holds no surrogate code points)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def check_text(field: str, value: str) -> str:
    """``value`` unchanged, or ValidationError(field) when it holds a lone surrogate."""
    if not is_valid_unicode(value):
        raise ValidationError(field, UNICODE_LIMIT, value)
    return value


def check_operation_id(value: Any, field: str = "operation_id") -> str:
    """``value`` unchanged when it can be an operation id; ValidationError(field) otherwise."""
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(field, "must be a non-empty string", value)
    if len(value) > OPERATION_ID_MAX_CHARS:
        raise ValidationError(field, f"at most {OPERATION_ID_MAX_CHARS} characters, got {len(value)}")
    check_text(field, value)
    if value in (".", ".."):
        raise ValidationError(field, "must not be '.' or '..' (a URL path would drop it)", value)
    if "/" in value:
        raise ValidationError(field, "an operation id has no /", value)
    if not value.isprintable():
        raise ValidationError(field, "must be printable text (no control characters)", value)
    return value


__all__ = ["OPERATION_ID_MAX_CHARS", "UNICODE_LIMIT", "check_operation_id", "check_text",
           "is_valid_unicode"]
