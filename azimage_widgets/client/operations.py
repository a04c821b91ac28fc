"""Asynchronous operations: what a client remembers of them, their submit and poll answers.

The client remembers, for each operation it submitted (bounded, oldest
dropped), where to poll it and when it was accepted, and the fields it sent
(``request_of``; n bounds the images a poll may bring back). An id it did not
submit is polled at the endpoint with the connection's (or a given) version.
"""
from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, unquote, urljoin, urlsplit

from ..contract.errors import ApiError, ContentFilterError, strip_query
from ..contract.limits import STATUSES, VERSIONS
from ..contract.models import (
    ImageOperation,
    ImageResult,
    ParseError,
    parse_operation,
    parse_timestamp,
)
from ..contract.routes import operation_path
from ..contract.text import check_operation_id
from .capped import MAX_B64_RESPONSE_BYTES, answer_cap
from .retry import parse_retry_after
from .send import CONTENT_FILTER_CODES, Sender, json_of

log = logging.getLogger("azimage_widgets.client")

_MAX_REMEMBERED_OPS = 10_000


def _bounded_put(book: OrderedDict[str, Any], key: str, value: Any) -> None:
    book[key] = value
    book.move_to_end(key)
    while len(book) > _MAX_REMEMBERED_OPS:
        book.popitem(last=False)


class OperationBook:
    """Where each operation is polled, when it was accepted, and what was asked for it."""

    def __init__(self, sender: Sender) -> None:
        self._sender = sender
        # op id -> (absolute poll URL, monotonic time the submit was answered)
        self._ops: OrderedDict[str, tuple[str, float]] = OrderedDict()
        # op id -> the request's fields (prompt, size, ...) and its api_version
        self._requests: OrderedDict[str, dict[str, Any]] = OrderedDict()

    def operation_url(self, op_id: str, header: str | None, api_version: str) -> str:
        """The service's operation-location when it is on the endpoint's origin, else built."""
        conn = self._sender.conn
        if header:
            absolute = urljoin(conn.endpoint + "/", header.strip())
            if conn.is_same_origin(absolute):
                if "api-version=" not in (urlsplit(absolute).query or ""):
                    sep = "&" if "?" in absolute else "?"
                    absolute += f"{sep}api-version={quote(api_version, safe='')}"
                return absolute
            log.debug("operation-location on another origin ignored: %s", strip_query(absolute))
        return self._sender.url(operation_path(op_id), api_version)

    def remember(self, op_id: str, url: str, submitted_at: float) -> None:
        _bounded_put(self._ops, op_id, (url, submitted_at))

    def note_request(self, op_id: str, payload: Mapping[str, Any], api_version: str) -> None:
        _bounded_put(self._requests, op_id, {**payload, "api_version": api_version})

    def asked(self, op_id: str) -> dict[str, Any] | None:
        """What was sent for ``op_id`` (not a copy), or None."""
        return self._requests.get(op_id)

    def request_of(self, op: str | ImageOperation) -> dict[str, Any] | None:
        """The fields sent for an operation submitted here (prompt, size, n, ...), or None."""
        op_id = op.id if isinstance(op, ImageOperation) else op
        got = self._requests.get(op_id) if isinstance(op_id, str) else None
        return dict(got) if got is not None else None

    def locate(self, op: str | ImageOperation,
               api_version: str | None = None) -> tuple[str, str, float | None]:
        """(op id, poll URL, submit time or None) of an id or an ImageOperation.

        An operation submitted here keeps the URL (and version) of its submit;
        another is addressed with ``api_version`` (default: the connection's).
        """
        if isinstance(op, ImageOperation):
            op_id, location = op.id, op.location
        else:
            op_id, location = op, None
        check_operation_id(op_id)  # before anything is sent: no "..", "/", lone surrogates
        known = self._ops.get(op_id)
        if known is not None:
            return op_id, known[0], known[1]
        url = self.operation_url(op_id, location, api_version or self._sender.conn.api_version)
        return op_id, url, None

    def accepted(self, answer_body: Any, header: str | None, status_code: int,
                 api_version: str, payload: Mapping[str, Any], submitted_at: float
                 ) -> ImageOperation:
        """The operation a submit answer names (its id, else the operation-location's last part),
        remembered with what was asked; ApiError("invalidResponse") when it names none."""
        body = answer_body if isinstance(answer_body, dict) else {}
        op_id = body.get("id")
        if not isinstance(op_id, str) or not op_id:
            op_id = unquote(urlsplit(header).path.rstrip("/").rsplit("/", 1)[-1]) if header else ""
        if not op_id:
            raise ApiError(status_code, "invalidResponse",
                           "the submit answer has no operation id and no operation-location")
        status = body.get("status")
        if status not in STATUSES:
            status = "notRunning"
        try:
            created = parse_timestamp(body, "created")
        except ParseError:
            created = None  # the job was accepted: an odd time must not lose its id
        location = self.operation_url(op_id, header, api_version)
        self.remember(op_id, location, submitted_at)
        self.note_request(op_id, payload, api_version)
        return ImageOperation(id=op_id, status=status, created=created or None, location=location)

    async def poll_once(self, op_id: str, url: str,
                        deadline: float | None) -> tuple[ImageResult, float | None]:
        """One poll: the operation as the service reports it, and its Retry-After if any."""
        asked = self._requests.get(op_id)
        cap = MAX_B64_RESPONSE_BYTES if asked is None else answer_cap(
            asked["api_version"], asked.get("response_format"), poll=True)
        answer = await self._sender.request("GET", url, kind="idempotent", operation_id=op_id,
                                            deadline=deadline, max_bytes=cap)
        body = json_of(answer, "operation", op_id)
        try:
            result = parse_operation(body, max_items=images_asked(asked))
        except ParseError as exc:
            raise ApiError(answer.status_code, "invalidResponse",
                           f"malformed operation answer: {exc}", operation_id=op_id) from None
        return result, parse_retry_after(answer.headers)


def images_asked(asked: Mapping[str, Any] | None) -> int:
    """How many images a request asked for: its n, else the most its version (or any) makes."""
    n = asked.get("n") if asked is not None else None
    if isinstance(n, int) and not isinstance(n, bool) and n > 0:
        return n
    version = asked.get("api_version") if asked is not None else None
    if isinstance(version, str) and version in VERSIONS:
        return VERSIONS[version].n_max
    return max(spec.n_max for spec in VERSIONS.values())


def check_terminal(result: ImageResult) -> ImageResult:
    """The result if it succeeded with at least one image kept; the matching error otherwise."""
    op_id = result.id
    if result.status == "succeeded":
        filtered = [e for e in result.errors if e.error_code in CONTENT_FILTER_CODES]
        if result.items and not any(i.ok for i in result.items) and filtered:
            raise ContentFilterError(None, filtered[0].error_code, filtered[0].error_message
                                     or "every image was filtered", operation_id=op_id)
        return result
    if result.status == "failed":
        code = result.error_code
        message = result.error_message or "the operation failed"
        if code in CONTENT_FILTER_CODES:
            raise ContentFilterError(None, code, message, operation_id=op_id)
        raise ApiError(None, code or "failed", message, operation_id=op_id)
    if result.status == "canceled":
        raise ApiError(None, "canceled",
                       "the operation was canceled (the service cancels a job that timed out)",
                       operation_id=op_id)
    if result.status == "deleted":
        raise ApiError(None, "deleted", "the operation was deleted; its images are gone",
                       operation_id=op_id)
    raise ApiError(None, "invalidResponse", f"not a terminal status: {result.status}",
                   operation_id=op_id)


__all__ = ["CONTENT_FILTER_CODES", "OperationBook", "check_terminal", "images_asked"]
