"""Generations: the request body (both flows), and the synchronous calls.

The synchronous flow (api-version 2024-10-21 and later): one call answers with the images.

``POST {endpoint}/openai/deployments/{deployment}/images/generations`` returns
``created`` and ``data`` at once (``Generations.generate``: a DALL-E version's
call; the GPT image versions' generations and edits are v1.py's, recorded
here too); there is no operation to poll. So that Request Image and
Download Image work by id for every version, the client records each answer
under an id it makes (``sync-<uuid4>``): ``request_image`` returns an
ImageOperation with that id and status ``succeeded``, and ``download_image``,
``get_operation`` and ``delete_operation`` of that id read (or drop) the
record, without a request. The records live in the ImageClient (bounded, the
oldest dropped first), so a restarted kernel cannot download a synchronous
id again: its images are in the image store, or in the result already held.

Choices where the contract is silent:
- the deployment is ``deployment=`` of the call, else the connection's
  (``AZURE_OPENAI_DEPLOYMENT``); neither is a ValidationError naming
  ``deployment``;
- the call waits up to ``max(conn.timeout, SYNC_READ_TIMEOUT)`` seconds for
  the answer (the service renders before it answers, often for tens of
  seconds); it is retried like a submit (429 and never-sent errors only), as
  a repeat could make the images twice;
- ``url`` results expire ``RESULT_TTL_SECONDS`` after ``created`` (the
  24 hours of the asynchronous flow); base64 results have no expiry.
"""
from __future__ import annotations

import uuid
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from typing import Any

import httpx

from ..contract.errors import ApiError, ValidationError
from ..contract.limits import RESULT_TTL_SECONDS, version_spec
from ..contract.models import (
    ImageOperation,
    ImageRequest,
    ImageResult,
    ParseError,
    parse_images_response,
)
from ..contract.routes import generations_path
from ..contract.text import check_json_value
from .capped import answer_cap
from .connection import Connection
from .exchange import Answer
from .operations import OperationBook
from .send import Sender, json_of

#: Seconds the synchronous call may take at least (read timeout of that one request).
SYNC_READ_TIMEOUT = 180.0
#: Prefix of the ids the client makes for synchronous answers.
SYNC_ID_PREFIX = "sync-"
_MAX_RECORDS = 1_000


class SyncRecords:
    """Answers of synchronous calls by the id the client gave them (bounded, oldest dropped)."""

    def __init__(self, limit: int = _MAX_RECORDS) -> None:
        self._results: OrderedDict[str, ImageResult] = OrderedDict()
        self._limit = limit

    def add(self, result: ImageResult) -> None:
        self._results[result.id] = result
        self._results.move_to_end(result.id)
        while len(self._results) > self._limit:
            self._results.popitem(last=False)

    def get(self, op_id: Any) -> ImageResult | None:
        return self._results.get(op_id) if isinstance(op_id, str) else None

    def pop(self, op_id: str) -> ImageResult | None:
        return self._results.pop(op_id, None) if isinstance(op_id, str) else None

    def __contains__(self, op_id: object) -> bool:
        return isinstance(op_id, str) and op_id in self._results

    def __len__(self) -> int:
        return len(self._results)


def new_id() -> str:
    return SYNC_ID_PREFIX + str(uuid.uuid4())


def deployment_of(conn: Connection, deployment: str | None, api_version: str) -> str:
    """The deployment to call: the argument, else the connection's; ValidationError if neither."""
    name = deployment if deployment is not None else conn.deployment
    if not isinstance(name, str) or not name.strip():
        spec = version_spec(api_version)
        raise ValidationError(
            "deployment", f"is required for api-version {api_version} ({spec.model}, the "
                          "deployments flow): pass deployment=, Connection(deployment=...) or set "
                          "AZURE_OPENAI_DEPLOYMENT", deployment)
    return name.strip()


def sync_timeout(conn: Connection) -> httpx.Timeout:
    return httpx.Timeout(conn.timeout, read=max(conn.timeout, SYNC_READ_TIMEOUT))


_CONTRACT_FIELDS = ("prompt", "n", "size", "user", "response_format")


def generation_body(prompt: str, *, size: str | None, n: int, user: str | None,
                    api_version: str, options: Mapping[str, Any],
                    extra_body: Mapping[str, Any] | None, omit: Iterable[str]
                    ) -> tuple[ImageRequest, dict[str, Any]]:
    """The checked request and the JSON body of a generation (both flows).

    ``extra_body``: further JSON fields sent as given (an edited schema's added
    fields), never repeating a field of the contract; a key that is an option
    of the version is checked as that option. ``omit``: "n" and/or "size" left
    out of the body, so the service applies its default.
    """
    opts = dict(options)
    extra: dict[str, Any] = {}
    spec = version_spec(api_version)
    for key, value in (extra_body or {}).items():
        if not isinstance(key, str) or key in _CONTRACT_FIELDS:
            raise ValidationError("extra_body", "must not repeat a field of the contract", key)
        check_json_value(f"extra_body.{key}", value)  # before anything is sent
        if key in spec.option_names:  # a field this version has: checked like the argument
            if opts.get(key) is not None:
                raise ValidationError("extra_body", "must not repeat a field of the contract", key)
            opts[key] = value
        else:
            extra[key] = value
    req = ImageRequest(prompt=prompt, size=size, n=n, user=user, api_version=api_version, **opts)
    payload = req.to_json()
    for key in omit:
        if key not in ("n", "size"):
            raise ValidationError("omit", "only n and size can be left out", key)
        payload.pop(key, None)
    payload.update(extra)
    return req, payload


class Generations:
    """The synchronous calls of one client, and the answers it recorded under ids it made."""

    def __init__(self, sender: Sender, book: OperationBook) -> None:
        self._sender = sender
        self._book = book
        self.records = SyncRecords()

    @property
    def sender(self) -> Sender:
        """The send chain these calls go through (v1.py and streaming.py send with it too)."""
        return self._sender

    def keep(self, result: ImageResult, noted: Mapping[str, Any], api_version: str) -> None:
        """Record ``result`` under its id, and what was asked for it (``request_of``)."""
        self.records.add(result)
        self._book.note_request(result.id, dict(noted), api_version)

    def record(self, answer: Answer, payload: Mapping[str, Any], api_version: str, what: str,
               n: int) -> ImageOperation:
        """The images of a synchronous ``answer``, kept under a new id; its operation."""
        body = json_of(answer, what)
        op_id = new_id()
        try:
            result = parse_images_response(body, op_id, ttl=RESULT_TTL_SECONDS, max_items=n)
        except ParseError as exc:
            raise ApiError(answer.status_code, "invalidResponse", f"malformed {what} answer: {exc}",
                           operation_id=op_id) from None
        self.keep(result, payload, api_version)
        return ImageOperation(id=op_id, status="succeeded", created=result.created, location=None)

    async def generate(self, req: ImageRequest, payload: dict[str, Any],
                       deployment: str | None) -> ImageOperation:
        """POST the generations call (a DALL-E version's rules); the answer recorded under a
        new id. The GPT image versions' calls are v1.py's."""
        conn = self._sender.conn
        name = deployment_of(conn, deployment, req.api_version)
        url = self._sender.url(generations_path(name), req.api_version)
        answer = await self._sender.request(
            "POST", url, kind="submit", json=payload, timeout=sync_timeout(conn),
            max_bytes=answer_cap(req.api_version, req.response_format))
        asked = req.n if "n" in payload else version_spec(req.api_version).n_max  # n omitted
        return self.record(answer, {**payload, "deployment": name}, req.api_version,
                           "generations", asked)


__all__ = ["SYNC_ID_PREFIX", "SYNC_READ_TIMEOUT", "Generations", "SyncRecords", "deployment_of",
           "generation_body", "new_id"]
