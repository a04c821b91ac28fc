"""Limits, sizes, versions and statuses of Azure OpenAI image generation.

One place for every number the client, the emulator and the panels check,
so a limit changes in one line (CONTRACT.md section 1).
"""
from __future__ import annotations

from dataclasses import dataclass

PROMPT_MAX_CHARS = 1000
N_MIN = 1
N_MAX = 5
SIZES: tuple[str, ...] = ("1024x1024", "512x512", "256x256")
DEFAULT_SIZE = "1024x1024"
DEFAULT_N = 1
RESPONSE_FORMATS: tuple[str, ...] = ("url", "b64_json")

LEGACY_API_VERSION = "2023-06-01-preview"
DEFAULT_API_VERSION = LEGACY_API_VERSION

#: Operation statuses, in the order an operation moves through them.
STATUSES: tuple[str, ...] = ("notRunning", "running", "succeeded", "failed", "canceled", "deleted")
#: Statuses after which polling stops (openai 0.28.1 only knows the first two).
TERMINAL_STATUSES: frozenset[str] = frozenset({"succeeded", "failed", "canceled", "deleted"})

#: Result URLs live this long after the operation was created.
RESULT_TTL_SECONDS = 24 * 60 * 60


@dataclass(frozen=True)
class VersionSpec:
    """What one api-version accepts: the panels and the validator read it."""

    version: str
    flow: str  # "async" (submit + poll) or "sync" (deployments, one call)
    sizes: tuple[str, ...]
    default_size: str
    n_max: int
    prompt_max: int


VERSIONS: dict[str, VersionSpec] = {
    LEGACY_API_VERSION: VersionSpec(
        version=LEGACY_API_VERSION,
        flow="async",
        sizes=SIZES,
        default_size=DEFAULT_SIZE,
        n_max=N_MAX,
        prompt_max=PROMPT_MAX_CHARS,
    ),
}
API_VERSIONS: tuple[str, ...] = tuple(VERSIONS)


def version_spec(api_version: str) -> VersionSpec:
    """The spec of a known version; a ValidationError names the known ones."""
    from .errors import ValidationError

    try:
        return VERSIONS[api_version]
    except KeyError:
        raise ValidationError(
            "api_version", f"must be one of {', '.join(API_VERSIONS)}", api_version
        ) from None
