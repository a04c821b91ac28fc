"""Every knob of the emulator in one mutable dataclass.

The handlers read the live object on each request, so a test can write
``emu.config.rpm_limit = 5`` while the emulator runs and the next request
obeys it. Two knobs are read once only: ``seed`` (the random source is made
at start) and ``processing_time``, which each operation copies when it is
submitted, so changing it never moves a job that is already running.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from ..contract import RESULT_TTL_SECONDS
from ..contract.image_models import model_spec

#: A prompt containing this word (any case) fails with ``contentFilter``.
DEFAULT_CONTENT_FILTER_WORD = "CONTENT_FILTER"
#: A prompt containing this word (any case) succeeds with its last image filtered.
DEFAULT_PARTIAL_FILTER_WORD = "PARTIAL_FILTER"
#: A prompt containing this word (any case) ends ``canceled`` (Azure: the task timed out).
DEFAULT_CANCEL_WORD = "CANCEL_TASK"


@dataclass
class EmulatorConfig:
    """Knobs of one emulator; all may be changed while it runs.

    Authentication: a request is let in when its ``api-key`` header equals
    ``api_key``, or its ``Authorization: Bearer <token>`` has a token in
    ``bearer_tokens``, or has any non-empty token while ``accept_any_bearer``
    is true (handy for trying an Entra ``token_provider`` without Azure).
    Bearer tokens are refused by default.

    Rates are fractions from 0 to 1, drawn from one ``random.Random(seed)``,
    so a test with a seed sees the same faults on every run.
    """

    #: The key clients must send in ``api-key``; None: a random one is made at start.
    api_key: str | None = None
    #: Bearer tokens accepted in ``Authorization``.
    bearer_tokens: set[str] = field(default_factory=set)
    #: Accept any non-empty Bearer token.
    accept_any_bearer: bool = False
    #: Seconds added before every answer of the API listener (not the image host).
    latency: float = 0.0
    #: Seconds from submit to a terminal status; ``notRunning`` for the first 10 %.
    processing_time: float = 2.0
    #: ``Retry-After`` seconds sent on every poll answer; None: the header is not sent.
    retry_after: int | None = 1
    #: Requests per minute over the whole API (sliding 60 s window); None: no limit.
    rpm_limit: int | None = None
    #: Fraction of authenticated API requests answered with a status from ``failure_statuses``.
    failure_rate: float = 0.0
    failure_statuses: tuple[int, ...] = (500, 503)
    #: Prompt word that makes the operation fail with ``contentFilter``; None: off.
    content_filter_word: str | None = DEFAULT_CONTENT_FILTER_WORD
    #: Prompt word that makes the last image of the result a ``contentFilter`` error; None: off.
    partial_filter_word: str | None = DEFAULT_PARTIAL_FILTER_WORD
    #: Prompt word that makes the operation end ``canceled``; None: off.
    cancel_word: str | None = DEFAULT_CANCEL_WORD
    #: Fraction of API requests whose connection is closed with no answer at all.
    drop_rate: float = 0.0
    #: Fraction of image downloads answered with bytes that are not a valid PNG.
    corrupt_rate: float = 0.0
    #: Seconds an operation's image URLs stay valid after it was created.
    image_ttl: float = float(RESULT_TTL_SECONDS)
    #: Seed of the random source behind the rates; None: seeded from the OS.
    seed: int | None = None
    #: The deployments of the synchronous and v1 routes (``/openai/deployments/{name}/...``,
    #: ``"model": name`` on v1): a mapping NAME -> MODEL (None: the model the name
    #: names), or a set of names; None: any name. Another name gets Azure's 404
    #: ``DeploymentNotFound``. A deployment answers as its model (see ``deployment_model``).
    deployments: dict[str, str | None] | None = None
    #: Images per minute per deployment (sliding 60 s window), then 429 + Retry-After; None: off.
    images_per_minute: int | None = None
    #: A file that gets one JSON line per answered request (see request_log.py); None: off.
    request_log: str | None = None

    def __post_init__(self) -> None:
        self.bearer_tokens = set(self.bearer_tokens)
        self.failure_statuses = tuple(self.failure_statuses)
        self.deployments = deployment_map(self.deployments)

    def deployment_model(self, name: str) -> tuple[bool, str | None]:
        """(known, model) of deployment ``name``: model None means "read it from the name".

        Reads ``deployments`` as it is now, even if a test assigned a plain set to it.
        """
        table = deployment_map(self.deployments)
        if table is None:
            return True, None
        return name in table, table.get(name)

    def __repr__(self) -> str:
        parts = []
        for f in fields(self):
            value = getattr(self, f.name)
            shown = _hidden(value) if f.name in _SECRET_FIELDS else repr(value)
            parts.append(f"{f.name}={shown}")
        return f"EmulatorConfig({', '.join(parts)})"

    def update(self, **knobs: Any) -> None:
        """Set several knobs at once; an unknown name is a TypeError, not a silent no-op."""
        names = {f.name for f in fields(self)}
        unknown = sorted(set(knobs) - names)
        if unknown:
            raise TypeError(f"unknown emulator knob(s): {', '.join(unknown)}")
        for name, value in knobs.items():
            setattr(self, name, value)
        self.__post_init__()


_SECRET_FIELDS = ("api_key", "bearer_tokens")


def deployment_map(value: Any) -> dict[str, str | None] | None:
    """``deployments`` as NAME -> MODEL: a name, a set of names or a mapping; model names checked.

    ValidationError (a ValueError) for a model the contract does not know.
    """
    if value is None:
        return None
    if isinstance(value, str):
        value = {value}
    if isinstance(value, Mapping):
        table = {str(k): (None if v in (None, "") else model_spec(str(v)).name)
                 for k, v in value.items()}
    else:
        table = {str(k): None for k in value}
    return table


def parse_deployment(text: str) -> tuple[str, str | None]:
    """``NAME=MODEL`` (or a bare ``NAME``) from the command line."""
    name, sep, model = text.partition("=")
    if not name.strip() or (sep and not model.strip()):
        raise ValueError(f"expected NAME=MODEL, got {text!r}")
    return name.strip(), (model_spec(model.strip()).name if sep else None)


def _hidden(value: Any) -> str:
    """Secrets are shown only as present or absent."""
    if isinstance(value, (set, frozenset)):
        return f"<{len(value)} token(s)>"
    return "<set>" if value else "None"
