"""The synchronous flow (api-version 2024-10-21 and later): one call answers with the images.

``POST {endpoint}/openai/deployments/{deployment}/images/generations`` (and
``.../images/edits`` for gpt-image-1, multipart) returns ``created`` and
``data`` at once; there is no operation to poll. So that Request Image and
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
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import httpx

from ..contract import (
    RESULT_TTL_SECONDS,
    ApiError,
    ImageOperation,
    ImageRequest,
    ImageResult,
    ParseError,
    ValidationError,
    parse_images_response,
    version_spec,
)
from ..contract.edits import ImageEditRequest, as_images, image_kind
from ..contract.routes import edits_path, generations_path
from .answer_caps import answer_cap
from .exchange import Answer

if TYPE_CHECKING:
    from .image_client import ImageClient

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


def deployment_of(client: ImageClient, deployment: str | None, api_version: str) -> str:
    """The deployment to call: the argument, else the connection's; ValidationError if neither."""
    name = deployment if deployment is not None else client.connection.deployment
    if not isinstance(name, str) or not name.strip():
        spec = version_spec(api_version)
        raise ValidationError(
            "deployment", f"is required for api-version {api_version} ({spec.model}, the "
                          "deployments flow): pass deployment=, Connection(deployment=...) or set "
                          "AZURE_OPENAI_DEPLOYMENT", deployment)
    return name.strip()


def sync_timeout(client: ImageClient) -> httpx.Timeout:
    conn = client.connection
    return httpx.Timeout(conn.timeout, read=max(conn.timeout, SYNC_READ_TIMEOUT))


def _record(client: ImageClient, answer: Answer, payload: Mapping[str, Any],
            api_version: str, what: str, n: int) -> ImageOperation:
    body = client._json(answer, what)
    op_id = new_id()
    try:
        result = parse_images_response(body, op_id, ttl=RESULT_TTL_SECONDS, max_items=n)
    except ParseError as exc:
        raise ApiError(answer.status_code, "invalidResponse", f"malformed {what} answer: {exc}",
                       operation_id=op_id) from None
    client._sync.add(result)
    client._note_request(op_id, payload, api_version)
    return ImageOperation(id=op_id, status="succeeded", created=result.created, location=None)


async def generate_sync(client: ImageClient, req: ImageRequest, payload: dict[str, Any],
                        deployment: str | None) -> ImageOperation:
    """POST the generations call; the answer recorded under a new id."""
    name = deployment_of(client, deployment, req.api_version)
    url = client._url(generations_path(name), req.api_version)
    resp = await client._request("POST", url, kind="submit", json=payload,
                                 timeout=sync_timeout(client),
                                 max_bytes=answer_cap(req.api_version, req.response_format))
    asked = req.n if "n" in payload else version_spec(req.api_version).n_max  # n may be omitted
    return _record(client, resp, {**payload, "deployment": name}, req.api_version, "generations",
                   asked)


async def edit_sync(client: ImageClient, image: Any, prompt: str, *, mask: bytes | None,
                    n: int, size: str | None, quality: str | None, response_format: str | None,
                    user: str | None, api_version: str, deployment: str | None) -> ImageOperation:
    """POST a multipart edit; the answer recorded under a new id."""
    req = ImageEditRequest(images=as_images(image), prompt=prompt, mask=mask, n=n, size=size,
                           quality=quality, response_format=response_format, user=user,
                           api_version=api_version)
    name = deployment_of(client, deployment, api_version)
    files: list[tuple[str, tuple[str, bytes, str]]] = []
    field = "image" if len(req.images) == 1 else "image[]"
    for i, data in enumerate(req.images):
        kind = image_kind(data) or "png"
        files.append((field, (f"image_{i}.{'jpg' if kind == 'jpeg' else 'png'}", data,
                              f"image/{kind}")))
    if req.mask is not None:
        files.append(("mask", ("mask.png", req.mask, "image/png")))
    url = client._url(edits_path(name), api_version)
    resp = await client._request("POST", url, kind="submit", data=req.form_fields(), files=files,
                                 timeout=sync_timeout(client),
                                 max_bytes=answer_cap(api_version, req.response_format))
    noted = {**req.form_fields(), "n": req.n, "deployment": name, "edit": True,
             "images": len(req.images), "mask": req.mask is not None}
    return _record(client, resp, noted, api_version, "edits", req.n)


async def report(result: ImageResult, on_status: Any) -> None:
    """Tell an on_status callback about a recorded answer, as a poll would."""
    from .poll import call_back

    await call_back(on_status, result)


__all__ = ["SYNC_ID_PREFIX", "SYNC_READ_TIMEOUT", "SyncRecords", "deployment_of", "edit_sync",
           "generate_sync", "new_id"]
