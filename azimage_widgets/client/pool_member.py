"""One endpoint of a pooled client: its ImageClient, cool-down, pace and counts.

``NO_RETRY`` is set while the pool submits, so a member's client neither
retries nor sleeps on its own and a throttled endpoint hands the job on at once.
"""
from __future__ import annotations

import contextvars
import logging
from collections.abc import Sequence
from typing import Any

from ..contract import ApiError
from .connection import Connection
from .image_client import ImageClient
from .pacing import Pace, pace_for
from .retry import RetryPolicy

log = logging.getLogger("azimage_widgets.client.pool")

# Set while a pool submits: the member client must not retry (or sleep) on its own,
# so a throttled endpoint hands the job to the next one at once.
NO_RETRY: contextvars.ContextVar[bool] = contextvars.ContextVar("azimage_pool_no_retry",
                                                                 default=False)


class MemberPolicy(RetryPolicy):
    """The member's usual retry policy, except no retries during a pool's submit."""

    def can_retry(self, attempt: int) -> bool:
        if NO_RETRY.get():
            return False
        return super().can_retry(attempt)


class Member:
    """One endpoint of a pooled client: its ImageClient and its cool-down."""

    def __init__(self, index: int, conn: Connection, client: ImageClient) -> None:
        self.index = index
        self.conn = conn
        self.client = client
        self.cool_until = 0.0
        self.pace: Pace = pace_for(conn)
        #: Why the member was taken out of the pool ('' while it is in): 401 or 404 on a submit.
        self.removed = ""
        self.submitted = 0
        self.throttled = 0
        self.failed = 0

    def cooling(self, now: float) -> bool:
        return self.cool_until > now

    def stats(self, now: float) -> dict[str, Any]:
        left = max(0.0, self.cool_until - now)
        return {"endpoint": self.conn.endpoint, "deployment": self.conn.deployment,
                "submitted": self.submitted, "throttled": self.throttled, "failed": self.failed,
                "cooling_for": round(left, 3), "pace": self.pace.stats(),
                "removed": self.removed}


def take_out(member: Member, exc: ApiError) -> None:
    """A member that answers a submit 401 (wrong key) or 404 (deployment gone) gets no more."""
    why = "the key was refused (401)" if exc.status_code == 401 else \
        "the deployment or path was not found (404)"
    member.removed = (f"{member.conn.endpoint} deployment {member.conn.deployment or '-'}: "
                      f"{why}; taken out of the pool")
    log.warning("%s", member.removed)


def exhausted(members: Sequence[Member], status: int | None) -> ApiError | None:
    """The error when every member was taken out, else None."""
    if not all(m.removed for m in members):
        return None
    return ApiError(status, "poolExhausted", "every endpoint of the pool was taken out: "
                    + "; ".join(m.removed for m in members))


__all__ = ["NO_RETRY", "Member", "MemberPolicy", "exhausted", "take_out"]
