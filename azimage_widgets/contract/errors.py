"""Errors shared by every layer, and the Azure error body shape.

ValidationError is raised before anything is sent; ApiError carries what the
service answered. Messages never contain credentials: they are built only from
field names, limits and the service's own error text.
"""
from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote


class AzimageError(Exception):
    """Base of every error this package raises on purpose."""


class ValidationError(AzimageError, ValueError):
    """Bad input, caught before any request; names the field and the limit."""

    def __init__(self, field: str, limit: str, value: Any = None) -> None:
        self.field = field
        self.limit = limit
        self.value = value
        super().__init__(f"{field}: {limit}" + _shown(value))


def _shown(value: Any) -> str:
    if value is None:
        return ""
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f" (got {text})"


class ApiError(AzimageError):
    """The service answered with an error (HTTP status, or a failed operation)."""

    def __init__(
        self,
        status_code: int | None,
        code: str | None,
        message: str,
        *,
        operation_id: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.status_code = status_code
        self.code = code
        self.message = message
        self.operation_id = operation_id
        self.retry_after = retry_after
        parts = []
        if status_code is not None:
            parts.append(f"HTTP {status_code}")
        if code:
            parts.append(str(code))
        head = " ".join(parts) or "error"
        where = f" (operation {operation_id})" if operation_id else ""
        super().__init__(f"{head}: {message}{where}")


class ContentFilterError(ApiError):
    """The safety system refused the prompt or every image of it."""


class ThrottledError(ApiError):
    """429: the quota is used up; ``retry_after`` says for how long, when known."""


class OperationTimeout(AzimageError, TimeoutError):
    """The operation did not reach a terminal status within the client's timeout."""

    def __init__(self, operation_id: str, seconds: float, last_status: str | None) -> None:
        self.operation_id = operation_id
        self.seconds = seconds
        self.last_status = last_status
        super().__init__(
            f"operation {operation_id} not finished after {seconds:g} s "
            f"(last status: {last_status or 'unknown'}); the service may still finish it"
        )


class ImageFetchError(AzimageError):
    """An image URL could not be fetched: expired, refused, too big or not an image."""

    def __init__(self, url: str, reason: str, status_code: int | None = None) -> None:
        self.url = strip_query(url)
        self.reason = reason
        self.status_code = status_code
        super().__init__(f"cannot fetch image {self.url}: {reason}")


def strip_query(url: str) -> str:
    """A URL without its query: SAS signatures stay out of messages."""
    return url.split("?", 1)[0]


#: Shown instead of a secret.
REDACTED = "***"

#: Query parameters whose values are credentials: a SAS signature, a key or a token.
SECRET_QUERY_NAMES = ("sig", "signature", "api-key", "api_key", "apikey", "key", "code", "token",
                      "access_token", "client_secret", "password", "secret", "x-amz-signature")
_SECRET_QUERY = re.compile(
    r"([?&;](?:" + "|".join(re.escape(n) for n in SECRET_QUERY_NAMES) + r")=)[^&;#\s\"'<>]*",
    re.IGNORECASE)


def secret_forms(secret: str) -> list[str]:
    """Every way ``secret`` can show up in text, longest first.

    As is, escaped as a str repr or a bytes repr shows it (``\\n``, ``\\x00``),
    JSON-escaped, percent-encoded, and with surrounding whitespace stripped.
    """
    forms: set[str] = set()
    for value in {secret, secret.strip()}:
        if not value:
            continue
        raw = value.encode("utf-8", "backslashreplace")
        forms.update({
            value,
            repr(value)[1:-1],
            repr(raw)[2:-1],
            value.encode("unicode_escape").decode("ascii"),
            quote(value, safe=""),
            raw.decode("latin-1"),
        })
        forms.add(json.dumps(value)[1:-1])
    return sorted((f for f in forms if f), key=len, reverse=True)


def redact(text: str, secrets: Iterable[str | None]) -> str:
    """``text`` with each secret, in each of its ``secret_forms``, replaced by ***."""
    for secret in secrets:
        if secret:
            for form in secret_forms(secret):
                if form in text:
                    text = text.replace(form, REDACTED)
    return text


def redact_query(text: str) -> str:
    """``text`` with the values of credential query parameters (``sig=``, ``api-key=``, ...) hidden."""
    return _SECRET_QUERY.sub(lambda m: m.group(1) + REDACTED, text)


def redact_exception(exc: BaseException, secrets: Iterable[str | None]) -> BaseException:
    """Scrub the secrets from the messages of ``exc`` and of its cause/context chain, in place.

    For an exception about to be chained under one of ours: a lower layer's
    message (h11 quoting a header it refused) must not carry a credential
    into a traceback. Exceptions nested in ``args`` are scrubbed too.
    """
    keys = [s for s in secrets if s]
    if not keys:
        return exc
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        args: list[object] = []
        for arg in current.args:
            if isinstance(arg, BaseException):
                todo.append(arg)
                args.append(arg)
                continue
            text = arg.decode("latin-1") if isinstance(arg, bytes) else arg if isinstance(arg, str) \
                else repr(arg)
            cleaned = redact(text, keys)
            args.append(arg if cleaned == text else cleaned)
        try:
            current.args = tuple(args)
        except (AttributeError, TypeError):  # pragma: no cover - a read-only args
            pass
        todo.extend(e for e in (current.__cause__, current.__context__) if e is not None)
    return exc


def error_body(code: str, message: str, **inner: Any) -> dict[str, Any]:
    """The JSON body Azure sends with an error."""
    err: dict[str, Any] = {"code": code, "message": message}
    if inner:
        err["innererror"] = inner
    return {"error": err}


def parse_error_body(body: Any) -> tuple[str | None, str | None]:
    """(code, message) from an Azure error body, tolerant of any other shape."""
    if isinstance(body, dict):
        err = body.get("error", body)
        if isinstance(err, dict):
            code = err.get("code")
            msg = err.get("message")
            return (str(code) if code is not None else None, str(msg) if msg is not None else None)
    return None, None
