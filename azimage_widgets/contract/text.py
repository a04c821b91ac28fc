"""Checks of free text and of operation ids, shared by every layer.

A browser's JSON can carry a lone surrogate (``"\\ud800"``, half an emoji): Python
decodes it into a ``str`` that cannot be encoded as UTF-8, so the HTTP layer would
fail with UnicodeEncodeError long after validation. ``check_text`` refuses such
text with a ValidationError naming the field. Names (of activities, panels)
are stricter: ``check_display_name`` also refuses characters that show
nothing or reorder the text around them (controls, bidi overrides, zero-width
characters), and ``is_blank`` counts such characters as blank.

An operation id becomes one path segment (``operation_path``). Percent-encoding
keeps ``.`` and ``..`` as they are, and URL normalization (httpx, any proxy)
removes such dot segments, so a GET or DELETE of operation ``..`` would go to
another resource. ``check_operation_id`` is the one place that says what an id
may be: a non-empty string of printable characters, at most
``OPERATION_ID_MAX_CHARS`` long, with no ``/`` and not ``.`` or ``..``.
"""
from __future__ import annotations

import math
import unicodedata
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


#: Unicode categories that draw nothing or steer other text: controls (NUL, newline, ESC),
#: format characters (bidi overrides, zero-width space/joiners, BOM), surrogates, line and
#: paragraph separators.
_HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
#: Letters and marks that render as nothing (Hangul fillers, braille blank, grapheme joiner).
_BLANK_LOOKALIKES = frozenset("\u115f\u1160\u3164\uffa0\u2800\u034f")
NAME_LIMIT = ("must be visible text: no control, format (bidi, zero-width) or "
              "separator characters and no lone surrogates")
#: Deepest nesting accepted in a JSON value built from user data.
JSON_MAX_DEPTH = 64


def is_hidden_char(ch: str) -> bool:
    """True for a character that shows nothing or reorders text around it."""
    return unicodedata.category(ch) in _HIDDEN_CATEGORIES


def is_blank(text: str) -> bool:
    """True when ``text`` shows nothing: only spaces, controls, zero-width or other invisible characters."""
    return all(ch.isspace() or is_hidden_char(ch) or ch in _BLANK_LOOKALIKES
               or unicodedata.category(ch) == "Zs" for ch in text)


def check_display_name(field: str, value: str) -> str:
    """``value`` unchanged when it can name something on screen and in a file; ValidationError(field).

    Refused: lone surrogates, NUL and other control characters, bidi overrides,
    zero-width and other format characters, line and paragraph separators. The
    value is never echoed (it may carry such characters).
    """
    if any(is_hidden_char(ch) for ch in value):
        raise ValidationError(field, NAME_LIMIT)
    return value


def check_json_value(field: str, value: Any, _depth: int = 0) -> Any:
    """``value`` unchanged when it is plain JSON (finite numbers, valid text, str keys).

    Refused: NaN and infinities, bytes, sets and other objects, text with lone
    surrogates, nesting deeper than ``JSON_MAX_DEPTH``.
    """
    if _depth > JSON_MAX_DEPTH:
        raise ValidationError(field, f"must be JSON nested at most {JSON_MAX_DEPTH} deep")
    if value is None or isinstance(value, (bool, int)):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValidationError(field, "must be JSON: a finite number (not NaN or infinity)", value)
        return value
    if isinstance(value, str):
        return check_text(field, value)
    if isinstance(value, (list, tuple)):
        for item in value:
            check_json_value(field, item, _depth + 1)
        return value
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValidationError(field, "must be JSON: object keys are strings", type(key).__name__)
            check_text(field, key)
            check_json_value(field, item, _depth + 1)
        return value
    raise ValidationError(field, "must be JSON (text, number, true/false, null, list or object)",
                          type(value).__name__)


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


__all__ = ["JSON_MAX_DEPTH", "NAME_LIMIT", "OPERATION_ID_MAX_CHARS", "UNICODE_LIMIT",
           "check_display_name", "check_json_value", "check_operation_id", "check_text", "is_blank",
           "is_hidden_char", "is_valid_unicode"]
