"""Several endpoints (or deployments) as one: ConnectionPool, a value like Connection.

    pool = aw.Connection.pool([conn_a, conn_b, conn_c])
    async with PooledImageClient(pool) as client:      # azimage_widgets.client
        op = await client.request_image("a red fox")   # goes to the next endpoint free to take it
        res = await client.download_image(op.id)       # polled on the endpoint that accepted it

A pool goes wherever a Connection goes (both are ``ConnectionLike``): the
activities and panels (``conn=pool``), ``client_for(pool)`` and
``shared_client(pool)``. How its client spreads requests over the members
is pooled_client.py's to say; this module holds what the pool is: the
members, the failover statuses and the waiting bounds, with no I/O.

How requests are spread: submits go round-robin over the endpoints that
are not cooling down. An endpoint that answers 429 or a 5xx (any request:
submit, poll or fetch from its own origin) cools down for its
``Retry-After`` (``retry-after-ms`` too), or ``cooldown`` seconds when it
sent none; a cooling endpoint gets no new submits until then. A submit
answered with a status in ``failover_statuses``, or whose connection could
not be made, is sent to the next endpoint at once. When every endpoint is
cooling, the submit waits for the first one to come back (bounded by
``max_wait`` seconds in all and ``max_attempts`` tries).

Choice where the issue is silent, and the trade-off: by default submits
fail over on 429, 500, 502, 503 and 504. 429 and 503 prove the job was
not taken; a 500/502/504 may hide an accepted job, so failing over can (rarely)
make a duplicate, billed generation. Pass ``failover_statuses={429, 503}``
to never risk that (the 5xx is then raised, as a single ImageClient does).
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from ..contract.errors import ValidationError, redact
from .connection import Connection
from .image_client import ImageClient

DEFAULT_FAILOVER_STATUSES: frozenset[int] = frozenset({429, 500, 502, 503, 504})


class ConnectionPool:
    """Several Connections used as one; see the module doc. Build with ``Connection.pool([...])``."""

    def __init__(
        self,
        connections: Iterable[Connection],
        *,
        failover_statuses: Iterable[int] = DEFAULT_FAILOVER_STATUSES,
        cooldown: float = 1.0,
        max_wait: float = 120.0,
        max_attempts: int | None = None,
    ) -> None:
        if isinstance(connections, (str, bytes, Connection)) or not isinstance(connections, Iterable):
            raise ValidationError("connections", "must be a list of Connection objects",
                                  type(connections).__name__)
        members = tuple(connections)
        if not members:
            raise ValidationError("connections", "must hold at least one Connection")
        for i, c in enumerate(members):
            if not isinstance(c, Connection):
                raise ValidationError(f"connections[{i}]", "must be an azimage_widgets.Connection",
                                      type(c).__name__)
        if len(set(map(id, members))) != len(members):
            raise ValidationError("connections", "holds the same Connection twice")
        statuses = frozenset(failover_statuses)
        bad = [s for s in statuses if isinstance(s, bool) or not isinstance(s, int)
               or not (s == 429 or 500 <= s <= 599)]
        if bad:
            raise ValidationError("failover_statuses", "may hold only 429 and 5xx statuses", bad[0])
        for name, value in (("cooldown", cooldown), ("max_wait", max_wait)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) \
                    or not 0 <= value < float("inf"):
                raise ValidationError(name, "must be a number of seconds >= 0", value)
        if max_attempts is None:
            max_attempts = len(members) * (1 + max(c.max_retries for c in members))
        if isinstance(max_attempts, bool) or not isinstance(max_attempts, int) or max_attempts < 1:
            raise ValidationError("max_attempts", "must be a whole number >= 1", max_attempts)
        self._members = members
        self._failover = statuses
        self._cooldown = float(cooldown)
        self._max_wait = float(max_wait)
        self._max_attempts = max_attempts

    # -- what the pool is ------------------------------------------------------
    @property
    def connections(self) -> tuple[Connection, ...]:
        return self._members

    members = connections

    @property
    def failover_statuses(self) -> frozenset[int]:
        return self._failover

    @property
    def cooldown(self) -> float:
        return self._cooldown

    @property
    def max_wait(self) -> float:
        return self._max_wait

    @property
    def max_attempts(self) -> int:
        return self._max_attempts

    def __len__(self) -> int:
        return len(self._members)

    def __iter__(self) -> Iterator[Connection]:
        return iter(self._members)

    # -- enough of Connection's face to go where one goes ------------------------
    @property
    def endpoint(self) -> str:
        """The first member's endpoint (what a single-endpoint caller shows)."""
        return self._members[0].endpoint

    @property
    def endpoints(self) -> list[str]:
        return [c.endpoint for c in self._members]

    @property
    def api_version(self) -> str:
        return self._members[0].api_version

    @property
    def deployment(self) -> str | None:
        return self._members[0].deployment

    @property
    def timeout(self) -> float:
        return max(c.timeout for c in self._members)

    @property
    def poll_timeout(self) -> float:
        return max(c.poll_timeout for c in self._members)

    @property
    def max_retries(self) -> int:
        return max(c.max_retries for c in self._members)

    @property
    def auth_kind(self) -> str | None:
        kinds = {c.auth_kind for c in self._members}
        return kinds.pop() if len(kinds) == 1 else "mixed"

    def member_for_url(self, url: str) -> Connection | None:
        """The member whose endpoint has ``url``'s origin, or None."""
        for c in self._members:
            if c.is_same_origin(url):
                return c
        return None

    def is_same_origin(self, url: str) -> bool:
        return self.member_for_url(url) is not None

    async def auth_headers(self, url: str) -> dict[str, str]:
        """The credentials of the member on ``url``'s origin; none for any other origin."""
        member = self.member_for_url(url)
        return {} if member is None else await member.auth_headers(url)

    def secrets(self) -> list[str]:
        """Every member's credentials handed out so far (for ``contract.errors.redact``)."""
        return [s for c in self._members for s in c.secrets()]

    def redact(self, text: str) -> str:
        return redact(text, self.secrets())

    def to_dict(self) -> dict[str, Any]:
        return {"pool": [c.to_dict() for c in self._members],
                "failover_statuses": sorted(self._failover), "cooldown": self._cooldown,
                "max_wait": self._max_wait, "max_attempts": self._max_attempts}

    def __repr__(self) -> str:
        inner = ", ".join(repr(c) for c in self._members)
        return f"ConnectionPool([{inner}])"

    __str__ = __repr__

    def __copy__(self) -> ConnectionPool:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> ConnectionPool:
        return self

    async def aclose(self) -> None:
        """Close the shared clients of this pool (see ``ImageClient.shared``)."""
        await ImageClient.close_shared(self)


__all__ = ["ConnectionPool", "DEFAULT_FAILOVER_STATUSES"]
