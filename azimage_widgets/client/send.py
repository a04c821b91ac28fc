"""The send chain of API requests, split as httpx splits ``send``.

``Sender.request`` = the retry step (retry.send_with_retries) -> one bounded exchange
(exchange.exchange: a total deadline, a capped read into bytes). What comes
back is a 2xx Answer, or an ApiError built from Azure's error body
(ThrottledError for 429, ContentFilterError for safety refusals) or from the
transport's failure. Credentials are the httpx client's ``auth`` (auth.py),
attached only for the endpoint's origin. Debug logs name the method, the URL without its query and
the status: never headers.
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any
from urllib.parse import quote

import httpx

from ..contract.errors import (
    ApiError,
    ContentFilterError,
    ThrottledError,
    parse_error_body,
    redact_exception,
    strip_query,
)
from ..contract.models import ParseError
from .capped import MAX_API_RESPONSE_BYTES
from .connection import Connection
from .exchange import Answer, exchange
from .poll import DeadlinePassed
from .retired import with_retirement_note
from .retry import (
    RequestKind,
    RetryPolicy,
    is_retryable,
    never_sent,
    parse_retry_after,
    passed,
    send_with_retries,
)

#: Error codes that mean the safety system refused (async flow, then sync flow).
CONTENT_FILTER_CODES = frozenset(
    {"contentFilter", "content_filter", "content_policy_violation", "ResponsibleAIPolicyViolation"})
_MAX_MESSAGE = 500


class Sender:
    """Sends the API requests of one connection through one httpx client.

    ``http()`` gives the (lazily made, loop-bound) httpx client; ``sleep`` is
    how retries wait (read at each request, so a test may swap it).
    """

    def __init__(self, conn: Connection, http: Callable[[], httpx.AsyncClient],
                 policy: RetryPolicy, sleep: Callable[[float], Awaitable[Any]]) -> None:
        self.conn = conn
        self.policy = policy
        self._http = http
        self._sleep = sleep

    def url(self, path: str, api_version: str) -> str:
        """The endpoint's URL of ``path`` with its api-version."""
        return f"{self.conn.endpoint}{path}?api-version={quote(api_version, safe='')}"

    async def request(
        self,
        method: str,
        url: str,
        *,
        kind: RequestKind,
        json: Any = None,
        operation_id: str | None = None,
        deadline: float | None = None,
        data: Mapping[str, Any] | None = None,
        files: Any = None,
        timeout: httpx.Timeout | None = None,
        max_bytes: int = MAX_API_RESPONSE_BYTES,
    ) -> Answer:
        """Send with bounded retries (see retry.py); a 2xx Answer or an ApiError.

        ``data``/``files``: a multipart body (image edits); ``timeout`` overrides
        the client's for this request (the synchronous flow waits longer).
        Each attempt, connect to last body byte, ends within the read timeout
        (``conn.timeout`` unless overridden): past it ApiError("timeout"). The
        body is read up to ``max_bytes``; a longer one is
        ApiError("responseTooLarge") at once. ``deadline`` (polls): no retry
        past it, an attempt may only take what it leaves, and a timeout once it
        passed is DeadlinePassed.
        """
        extra: dict[str, Any] = {}
        if data is not None or files is not None:
            extra.update(data=data, files=files)
        if timeout is not None:
            extra["timeout"] = timeout
        total = timeout.read if timeout is not None else self.conn.timeout
        http = self._http()
        shown = strip_query(url)

        def too_large(status: int, size: str) -> ApiError:
            return ApiError(status, "responseTooLarge",
                            f"the answer to {method} {shown} is {size}, over the {max_bytes}-byte "
                            "cap of an API answer; reading stopped there", operation_id=operation_id)

        async def once(budget: float | None) -> Answer:
            # credentials come from the httpx client's auth (conn.auth), endpoint origin only
            request = http.build_request(method, url, json=json, **extra)
            return await exchange(http, request, budget=budget, max_bytes=max_bytes,
                                  too_large=too_large)

        try:
            answer = await send_with_retries(once, kind=kind, policy=self.policy, timeout=total,
                                             deadline=deadline, sleep=self._sleep,
                                             what=f"{method} {shown}")
        except httpx.HTTPError as exc:
            if isinstance(exc, httpx.TimeoutException) and passed(deadline):
                # the attempt's time was cut to what the deadline left: the operation's
                # timeout, not the request's (poll_until_terminal makes it OperationTimeout)
                raise DeadlinePassed(f"{method} {shown}: {type(exc).__name__}") from exc
            raise self.transport_error(method, url, kind, exc, operation_id) from exc
        if answer.is_success:
            return answer
        raise self.api_error(answer, operation_id, parse_retry_after(answer.headers))

    def transport_error(self, method: str, url: str, kind: RequestKind, exc: Exception,
                        operation_id: str | None) -> ApiError:
        """ApiError("timeout" or "connectionError") for a request the transport failed."""
        code = "timeout" if isinstance(exc, httpx.TimeoutException) else "connectionError"
        redact_exception(exc, self.conn.secrets())  # it becomes the __cause__ of ours
        text = f"{method} {strip_query(url)} failed: {type(exc).__name__}: {exc}"
        if kind == "submit" and not never_sent(exc) and not is_retryable("submit", error=exc):
            text += ("; the service may have accepted the job, so it was not sent again "
                     "(that could make a duplicate generation)")
        return ApiError(None, code, self.conn.redact(text), operation_id=operation_id)

    def api_error(self, answer: Answer, operation_id: str | None,
                  retry_after: float | None) -> ApiError:
        """The ApiError of a non-2xx answer, from its Azure error body when it has one."""
        body = answer.json_or_none()
        code, message = parse_error_body(body)
        code = code or answer.headers.get("x-ms-error-code")
        if message is None and answer.content and body is None:
            message = f"{answer.reason_phrase or 'request failed'} (the error body is not JSON " \
                      "this client can read)"
        message = self.conn.redact((message or answer.reason_phrase or "request failed")
                                   [:_MAX_MESSAGE])
        status = answer.status_code
        if status == 429:
            return ThrottledError(status, code or "429", message, operation_id=operation_id,
                                  retry_after=retry_after)
        if code in CONTENT_FILTER_CODES:
            return ContentFilterError(status, code, message, operation_id=operation_id)
        # a 404 on a retired version or model says so, with the date and what to use
        return with_retirement_note(ApiError(status, code, message, operation_id=operation_id),
                                    self.conn.api_version, self.conn.image_model)


def json_of(answer: Answer, what: str, operation_id: str | None = None) -> Any:
    """The answer's JSON; ApiError("invalidResponse") when the contract cannot hold it."""
    try:
        return answer.json()
    except ParseError as exc:
        raise ApiError(answer.status_code, "invalidResponse",
                       f"the {what} answer is not JSON the contract can hold: {exc}",
                       operation_id=operation_id) from None


__all__ = ["CONTENT_FILTER_CODES", "Sender", "json_of"]
