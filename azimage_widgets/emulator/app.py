"""Tornado handlers of the emulator: the API listener and the image host.

Why tornado: every Jupyter kernel and server already ships it, it runs on an
IOLoop of its own in a background thread (so a notebook's loop is never
borrowed), and the same handlers can be mounted in a Jupyter server under its
base URL.

Choices where Azure's documents are silent (CONTRACT.md):
- a missing ``api-version`` is a 400 ``MissingApiVersionParameter``; an
  unknown one, like a wrong path, a 404 ``Resource not found``;
- the checks run in the order authentication (401), rate limit (429),
  injected failure (5xx), api-version, then the request itself;
- a bad submit body is a 400 with code ``InvalidPayload`` and ``target``
  naming the field; unknown body fields are ignored, as the service does;
- DELETE answers 204 once the operation is terminal (again on a repeat, as
  DELETE is idempotent) and 409 ``conflict`` before; afterwards GET answers
  200 with status ``deleted`` and no result, and the image links give 404;
- ``/openapi.json`` serves the contract's OpenAPI document (schema Refresh).
- api-versions of the synchronous flow (2024-10-21 and later) are served on
  ``/openai/deployments/{name}/images/...`` (sync_app.py), the v1 API on
  ``/openai/v1/images/...`` (v1_app.py); the submit route answers them 404,
  as a path the version does not have.
"""
from __future__ import annotations

import asyncio
import base64
import json
import logging
import time
from typing import Any

import tornado.web

from ..contract import (
    DEFAULT_API_VERSION,
    LEGACY_API_VERSION,
    ImageRequest,
    ValidationError,
    operation_json,
)
from ..contract.limits import VERSIONS
from ..contract.openapi import OPENAPI_PATH
from ..contract.routes import (
    OPERATION_LOCATION_HEADER,
    OPERATION_PREFIX,
    SUBMIT_PATH,
    operation_path,
)
from . import images, openapi
from .handlers import IMAGE_PATH, IMAGE_PATTERN, ApiHandler, EmulatorHandler
from .state import EmulatorState, RequestRecord, StreamRecord
from .sync_app import sync_routes
from .v1_app import v1_routes

FILTER_FAIL_MESSAGE = "Your task failed as a result of our safety system."
FILTER_IMAGE_MESSAGE = "Generated image was filtered as a result of our safety system."


class SubmitHandler(ApiHandler):
    """POST /openai/images/generations:submit -> 202 with an operation-location."""

    def post(self) -> None:
        if VERSIONS[self.api_version].is_sync:
            # 2024-10-21 and later have no submit route (sync_app.py has theirs)
            return self.fail(404, "404", "Resource not found")
        try:
            body = json.loads(self.request.body or b"")
        except (ValueError, UnicodeDecodeError, RecursionError):
            # RecursionError: absurdly nested JSON is a bad request, not a crash.
            return self.fail(400, "InvalidPayload", "The request body is not valid JSON.")
        if not isinstance(body, dict):
            return self.fail(400, "InvalidPayload", "The request body must be a JSON object.")
        if "prompt" not in body:
            return self.fail(400, "InvalidPayload", "prompt: is required", target="prompt")
        try:
            req = ImageRequest(
                prompt=body["prompt"],
                size=body.get("size"),
                n=body.get("n", 1),
                user=body.get("user"),
                response_format=body.get("response_format"),
                api_version=self.api_version,
            )
        except ValidationError as exc:
            return self.fail(400, "InvalidPayload", str(exc), target=exc.field)
        cfg = self.state.config
        prompt_l = req.prompt.lower()
        outcome = "succeeded"
        if cfg.content_filter_word and cfg.content_filter_word.lower() in prompt_l:
            outcome = "failed"
        elif cfg.cancel_word and cfg.cancel_word.lower() in prompt_l:
            outcome = "canceled"
        filtered = None
        if cfg.partial_filter_word and cfg.partial_filter_word.lower() in prompt_l:
            filtered = req.n - 1
        op = self.state.store.add(
            prompt=req.prompt, n=req.n, size=req.size or "1024x1024",
            response_format=req.response_format or "url", created=int(time.time()),
            started=time.monotonic(), processing_time=max(0.0, float(cfg.processing_time)),
            outcome=outcome, filtered_index=filtered, user=req.user,
        )
        self.set_status(202)
        self.set_header(OPERATION_LOCATION_HEADER,
                        f"{self.base_url()}{operation_path(op.id)}?api-version={self.api_version}")
        self.finish({"id": op.id, "status": "notRunning", "created": op.created})


class OperationHandler(ApiHandler):
    """GET (poll) and DELETE /openai/operations/images/{id}."""

    def get(self, op_id: str) -> None:
        op = self.state.store.get(op_id)
        if op is None:
            return self.fail(404, "404", "Resource not found")
        cfg = self.state.config
        status = op.status()
        expires = op.created + int(cfg.image_ttl)
        data = error = None
        if status == "succeeded":
            data = [self._item(op, i, expires) for i in range(op.n)]
        elif status == "failed":
            error = {"code": "contentFilter", "message": FILTER_FAIL_MESSAGE}
        elif status == "canceled":
            error = {"code": "canceled", "message": "The task timed out and was canceled."}
        if cfg.retry_after is not None and status not in ("succeeded", "failed", "canceled",
                                                          "deleted"):
            self.set_header("Retry-After", str(cfg.retry_after))
        self.finish(operation_json(op.id, status, op.created, expires, data, error))

    def _item(self, op: Any, index: int, expires: int) -> dict[str, Any]:
        if op.filtered_index == index:
            return {"error": {"code": "contentFilter", "message": FILTER_IMAGE_MESSAGE}}
        if op.response_format == "b64_json":
            png = images.render_png(op.prompt, index, op.size)
            return {"b64_json": base64.b64encode(png).decode()}
        path = IMAGE_PATH.format(op_id=op.id, index=index)
        return {"url": f"{self.images_base()}{path}?{self.state.signer.query(path, expires)}"}

    def images_base(self) -> str:
        """Where image links point (a subclass mounted under a prefix points them back through it)."""
        return self.state.images_base

    def delete(self, op_id: str) -> None:
        op = self.state.store.get(op_id)
        if op is None:
            return self.fail(404, "404", "Resource not found")
        if not op.terminal:
            return self.fail(409, "conflict", "The operation can be deleted only once it has "
                                              f"finished; its status is {op.status()}.")
        op.deleted = True
        self.set_status(204)
        self.finish()


class OpenApiHandler(ApiHandler):
    """GET /openapi.json: the contract's document, for schema Refresh."""

    def get(self) -> None:
        self.finish(openapi.document(self.api_version, server=self.base_url() + "/openai"))


class NotFoundHandler(ApiHandler):
    """Any other path on the API listener: Azure's 404 after the usual checks."""

    async def prepare(self) -> None:
        await super().prepare()
        if not self._finished:
            self.fail(404, "404", "Resource not found")


class ImageHandler(EmulatorHandler):
    """GET of a signed image link on the image host: no api key involved."""

    listener = "images"

    async def get(self, op_id: str, index: str) -> None:
        # The signed path is the canonical one, so links work under any mount prefix.
        path = IMAGE_PATH.format(op_id=op_id, index=int(index))
        verdict = self.state.signer.check(path, self.get_query_argument("se", None),
                                          self.get_query_argument("sig", None), time.time())
        if verdict != "ok":
            message = ("Signed expiry time has passed: the link has expired."
                       if verdict == "expired" else
                       "Signature did not match the signed fields of the link.")
            return self._blob_error(403, "AuthenticationFailed", message)
        op = self.state.store.get(op_id)
        i = int(index)
        if op is None or op.deleted or op.status() != "succeeded" or i >= op.n \
                or i == op.filtered_index:
            return self._blob_error(404, "BlobNotFound", "The specified blob does not exist.")
        loop = asyncio.get_running_loop()
        data = await loop.run_in_executor(None, images.render_png, op.prompt, i, op.size)
        if self.state.chance(self.state.config.corrupt_rate):
            data = images.corrupt(data)
        self.set_header("Content-Type", "image/png")
        self.set_header("x-ms-blob-type", "BlockBlob")
        self.finish(data)

    def _blob_error(self, status: int, code: str, message: str) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/xml")
        self.set_header("x-ms-error-code", code)
        self.finish('<?xml version="1.0" encoding="utf-8"?>'
                    f"<Error><Code>{code}</Code><Message>{message}</Message></Error>")


class ImageNotFoundHandler(ImageHandler):
    def get(self, *args: Any) -> None:  # type: ignore[override]
        self._blob_error(404, "ResourceNotFound", "The specified resource does not exist.")

    post = put = delete = get


def api_routes(state: EmulatorState, prefix: str = "") -> list[tuple[str, type, dict[str, Any]]]:
    """The API listener's routes, optionally under a prefix (a Jupyter server's base URL)."""
    kw = {"state": state}
    return [
        *v1_routes(state, prefix),
        *sync_routes(state, prefix),
        (prefix + SUBMIT_PATH, SubmitHandler, kw),
        (prefix + OPERATION_PREFIX + r"([^/?]+)", OperationHandler, kw),
        (prefix + OPENAPI_PATH, OpenApiHandler, kw),
    ]


def image_routes(state: EmulatorState, prefix: str = "") -> list[tuple[str, type, dict[str, Any]]]:
    """The image host's routes."""
    return [(prefix + IMAGE_PATTERN, ImageHandler, {"state": state})]


#: The emulator's access log: debug level, so a notebook's cells never show its 4xx lines.
access_log = logging.getLogger("azimage_widgets.emulator.access")


def _log_request(handler: tornado.web.RequestHandler) -> None:
    """tornado's access log writes 4xx as warnings to stderr; ours stays at debug."""
    req = handler.request
    access_log.debug("%d %s %s %.1fms", handler.get_status(), req.method, req.path,
                     1000.0 * req.request_time())


def make_api_app(state: EmulatorState) -> tornado.web.Application:
    return tornado.web.Application(api_routes(state), default_handler_class=NotFoundHandler,
                                   default_handler_args={"state": state},
                                   log_function=_log_request)


def make_images_app(state: EmulatorState) -> tornado.web.Application:
    return tornado.web.Application(image_routes(state), default_handler_class=ImageNotFoundHandler,
                                   default_handler_args={"state": state},
                                   log_function=_log_request)


__all__ = ["DEFAULT_API_VERSION", "LEGACY_API_VERSION", "EmulatorState", "RequestRecord",
           "StreamRecord",
           "api_routes", "image_routes", "make_api_app", "make_images_app"]
