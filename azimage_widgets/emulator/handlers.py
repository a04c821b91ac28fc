"""The emulator's base handlers: what every request on either listener shares.

``EmulatorHandler`` gives Azure-shaped errors, request ids and request records;
``ApiHandler`` adds the checks every API request passes (auth, rate limit,
injected failures, api-version). The async flow (app.py), the sync flow
(sync_app.py) and the v1 API (v1_app.py) all build on them, so they live
below those three modules.
"""
from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any

import tornado.web

from ..contract import error_body
from ..contract.limits import VERSIONS
from ..contract.routes import API_KEY_HEADER
from . import request_log
from .config import EmulatorConfig
from .quota import admit_request
from .state import EmulatorState, RequestRecord

#: Path of image ``index`` of operation ``op_id`` on the image host.
IMAGE_PATH = "/private/images/{op_id}/generated_{index:02d}.png"
IMAGE_PATTERN = r"/private/images/([0-9a-f-]{36})/generated_(\d{2})\.png"


class EmulatorHandler(tornado.web.RequestHandler):
    """Azure-shaped errors, request ids and request records for both listeners."""

    listener = "api"

    def initialize(self, state: EmulatorState) -> None:
        self.state = state

    def set_default_headers(self) -> None:
        self.set_header("apim-request-id", str(uuid.uuid4()))
        self.set_header("x-ms-region", "Emulator")

    def fail(self, status: int, code: str, message: str, **extra: Any) -> None:
        body = error_body(code, message)
        body["error"].update(extra)
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.set_header("x-ms-error-code", code)
        self.finish(json.dumps(body))

    def allowed_methods(self) -> list[str]:
        """The methods this handler implements (what a 405's ``Allow`` header lists)."""
        base = tornado.web.RequestHandler
        return [m for m in self.SUPPORTED_METHODS
                if getattr(type(self), m.lower(), None) is not getattr(base, m.lower(), None)]

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        # Anything tornado itself rejects (bad method, oversized body) stays Azure-shaped.
        if status_code == 405:  # RFC 9110: a 405 lists the methods the resource has
            self.set_header("Allow", ", ".join(self.allowed_methods()))
        reason = self._reason or "error"
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(error_body(str(status_code), reason)))

    def finish(self, chunk: Any = None) -> Any:
        # Recorded before the answer goes out: tornado calls on_finish only after the bytes
        # are flushed, so a client holding its answer could look in handle.requests too early.
        if not self._finished:
            self.record(self.get_status())
        return super().finish(chunk)

    def record(self, status: int) -> None:
        """Note this request in ``state.requests`` (status 0: dropped with no answer)."""
        h = self.request.headers
        self.state.requests.append(RequestRecord(
            self.request.method or "", self.request.path, status, self.listener,
            API_KEY_HEADER in h or "Authorization" in h))
        if self.state.config.request_log:
            request_log.append(self.state.config.request_log, self.request.method or "",
                               self.request.path, status, self.listener, self.request.body)


class ApiHandler(EmulatorHandler):
    """The checks every API request passes, in Azure's order, before its handler runs."""

    async def prepare(self) -> None:
        cfg = self.state.config
        if cfg.latency > 0:
            await asyncio.sleep(cfg.latency)
        if self.state.chance(cfg.drop_rate):
            self.record(0)  # credentials as sent, not assumed
            self.detach().close()  # no status line at all: a dropped connection
            return
        if not self._authorized(cfg):
            return self.fail(401, "401", "Access denied due to invalid subscription key or wrong "
                                         "API endpoint. Make sure to provide a valid key for an "
                                         "active subscription and use a correct regional API "
                                         "endpoint for your resource.")
        if cfg.rpm_limit is not None:
            wait = admit_request(self.state.window, cfg.rpm_limit, time.monotonic())
            if wait is not None:
                self.set_header("Retry-After", str(wait))
                return self.fail(429, "429", "Requests to the Images API have exceeded the rate "
                                             f"limit of the emulator. Please retry after {wait} "
                                             "seconds.")
        if self.state.chance(cfg.failure_rate):
            status = self.state.rng.choice(cfg.failure_statuses or (500,))
            code = "ServiceUnavailable" if status == 503 else "InternalServerError"
            return self.fail(status, code, "The server had an error while processing your "
                                           "request (injected by the emulator).")
        self.check_api_version(self.get_query_argument("api-version", None))

    def check_api_version(self, version: str | None) -> None:
        """Set ``api_version``, or answer 400 (missing) / 404 (unknown) as Azure does."""
        if version is None:
            return self.fail(400, "MissingApiVersionParameter",
                             "The api-version query parameter (?api-version=) is required.")
        if version not in VERSIONS:
            return self.fail(404, "404", "Resource not found")
        self.api_version = version

    #: The api key is accepted as ``Authorization: Bearer <key>`` too (the v1 routes).
    key_as_bearer = False

    def _authorized(self, cfg: EmulatorConfig) -> bool:
        key = self.request.headers.get(API_KEY_HEADER)
        if key is not None:
            return cfg.api_key is not None and key == cfg.api_key
        auth = self.request.headers.get("Authorization", "")
        scheme, _, token = auth.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return False
        if self.key_as_bearer and cfg.api_key is not None and token == cfg.api_key:
            return True
        return token in cfg.bearer_tokens or cfg.accept_any_bearer

    def base_url(self) -> str:
        """This listener's own origin, as the client reached it."""
        return f"{self.request.protocol}://{self.request.host}"


__all__ = ["IMAGE_PATH", "IMAGE_PATTERN", "ApiHandler", "EmulatorHandler"]
