"""Limits, sizes, versions and statuses of Azure OpenAI image generation.

One place for every number the client, the emulator and the panels check,
so a limit changes in one line (CONTRACT.md section 1).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

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


#: The synchronous deployments flow (CONTRACT.md section 2).
DALLE3_API_VERSION = "2024-10-21"
GPT_IMAGE_API_VERSION = "2025-04-01-preview"

#: The v1 API (CONTRACT.md section 4): ``/openai/v1/images/...``, the deployment in the body.
V1_API_VERSION = "v1"
#: What a client sends as ``?api-version=`` on v1 (images are a preview feature of v1;
#: Microsoft's samples send it). ``version_spec`` reads it as v1.
V1_PREVIEW_QUERY = "preview"
#: ``api-version`` values a v1 route accepts besides none at all.
V1_QUERY_VALUES: tuple[str, ...] = (V1_API_VERSION, V1_PREVIEW_QUERY)


@dataclass(frozen=True)
class OptionSpec:
    """One version-specific request field: its choices (or integer range) and default.

    ``choices`` is empty for an integer option, which has ``minimum``..``maximum``
    instead. ``default`` is what the service applies when the field is left out.
    """

    name: str
    choices: tuple[str, ...] = ()
    default: str | int | None = None
    minimum: int | None = None
    maximum: int | None = None
    label: str = ""

    @property
    def is_int(self) -> bool:
        return not self.choices


@dataclass(frozen=True)
class VersionSpec:
    """What one api-version accepts: the panels, the client and the emulator read it.

    ``flow`` is "async" (submit + poll, 2023-06-01-preview), "sync" (one
    ``POST /openai/deployments/{deployment}/images/generations`` answered with
    the images) or "v1" (one ``POST /openai/v1/images/generations`` with the
    deployment as ``model`` in the body). ``options`` are the fields beyond
    prompt, n, size and user this version takes (quality, style, ...);
    ``model`` is the image model the version is modelled on: the emulator
    answers as that model when a deployment's name names none (v1: "gpt-image",
    the rules every GPT image model shares; see ``image_models``).

    ``retires`` is the date Azure retired (or retires) what the version serves
    for images, None when no date is announced; ``replacement`` what to use then.
    """

    version: str
    flow: str  # "async" (submit + poll), "sync" (deployments, one call) or "v1"
    sizes: tuple[str, ...]
    default_size: str
    n_max: int
    prompt_max: int
    model: str = "dall-e-2"
    options: tuple[OptionSpec, ...] = ()
    #: Image edits (``POST .../images/edits``, multipart image + optional mask).
    edits: bool = False
    #: The answer carries ``usage`` token counts.
    usage: bool = False
    #: The answer carries ``revised_prompt`` per image.
    revised_prompt: bool = False
    #: The Azure retirement date of the version's image flow (None: none announced).
    retires: date | None = None
    #: The version to use instead once retired.
    replacement: str | None = None

    @property
    def is_sync(self) -> bool:
        """One call answers with the images (no operation to poll): deployments path or v1."""
        return self.flow in ("sync", "v1")

    @property
    def is_v1(self) -> bool:
        """The v1 API: ``/openai/v1/...``, deployment in the body, api-version optional."""
        return self.flow == "v1"

    def is_retired(self, today: date | None = None) -> bool:
        """True once ``retires`` has come (``today`` defaults to the real date)."""
        return self.retires is not None and (today or date.today()) >= self.retires

    @property
    def option_names(self) -> tuple[str, ...]:
        return tuple(o.name for o in self.options)

    def option(self, name: str) -> OptionSpec | None:
        """The option called ``name``, or None when this version does not take it."""
        return next((o for o in self.options if o.name == name), None)

    def choices(self, name: str) -> tuple[str, ...]:
        """The allowed values of a string option ("size" too); () when not taken."""
        if name == "size":
            return self.sizes
        opt = self.option(name)
        return opt.choices if opt is not None else ()


#: Version-specific fields, in the order the panels show them.
OPTION_NAMES: tuple[str, ...] = ("quality", "style", "response_format", "output_format",
                                 "background", "output_compression")

#: The options every GPT image model takes (the deployments path of 2025-04-01-preview and v1).
#: They always answer base64 data; url is dall-e-3 only (spec excerpt).
GPT_IMAGE_OPTIONS: tuple[OptionSpec, ...] = (
    OptionSpec("quality", ("low", "medium", "high", "auto"), "auto", label="Quality"),
    OptionSpec("output_format", ("png", "jpeg"), "png", label="Output format"),
    OptionSpec("background", ("transparent", "opaque", "auto"), "auto", label="Background"),
    OptionSpec("response_format", ("b64_json",), "b64_json", label="Response format"),
    OptionSpec("output_compression", (), 100, minimum=0, maximum=100, label="Output compression"),
)


VERSIONS: dict[str, VersionSpec] = {
    LEGACY_API_VERSION: VersionSpec(
        version=LEGACY_API_VERSION,
        flow="async",
        sizes=SIZES,
        default_size=DEFAULT_SIZE,
        n_max=N_MAX,
        prompt_max=PROMPT_MAX_CHARS,
        model="dall-e-2",
        # the submit route only ever served dall-e-2 (CONTRACT.md section 0)
        retires=date(2025, 1, 27),
        replacement=V1_API_VERSION,
        # response_format (url | b64_json) is accepted too, but is no panel option (see models)
    ),
    DALLE3_API_VERSION: VersionSpec(
        version=DALLE3_API_VERSION,
        flow="sync",
        sizes=("1024x1024", "1792x1024", "1024x1792"),
        default_size="1024x1024",
        n_max=1,
        prompt_max=4000,
        model="dall-e-3",
        options=(
            OptionSpec("quality", ("standard", "hd"), "standard", label="Quality"),
            OptionSpec("style", ("vivid", "natural"), "vivid", label="Style"),
            OptionSpec("response_format", RESPONSE_FORMATS, "url", label="Response format"),
        ),
        revised_prompt=True,
        # its image model, dall-e-3, is retired; the version itself serves no newer image model
        retires=date(2026, 3, 4),
        replacement=V1_API_VERSION,
    ),
    GPT_IMAGE_API_VERSION: VersionSpec(
        version=GPT_IMAGE_API_VERSION,
        flow="sync",
        sizes=("auto", "1024x1024", "1024x1536", "1536x1024"),
        default_size="auto",
        n_max=10,
        prompt_max=32000,
        model="gpt-image-1",
        options=GPT_IMAGE_OPTIONS,
        edits=True,
        usage=True,
        # gpt-image-1 is retired (2026-10-23), but the deployments path of this version still
        # serves gpt-image-1-mini, 1.5 and 2: no date for the version itself
    ),
    V1_API_VERSION: VersionSpec(
        version=V1_API_VERSION,
        flow="v1",
        sizes=("auto", "1024x1024", "1024x1536", "1536x1024"),
        default_size="auto",
        n_max=10,
        prompt_max=32000,
        model="gpt-image",
        options=GPT_IMAGE_OPTIONS,
        edits=True,
        usage=True,
    ),
}
API_VERSIONS: tuple[str, ...] = tuple(VERSIONS)


def version_spec(api_version: str) -> VersionSpec:
    """The spec of a known version; a ValidationError names the known ones."""
    from .errors import ValidationError

    if api_version == V1_PREVIEW_QUERY:
        return VERSIONS[V1_API_VERSION]
    try:
        return VERSIONS[api_version]
    except (KeyError, TypeError):
        raise ValidationError(
            "api_version", f"must be one of {', '.join(API_VERSIONS)}", api_version
        ) from None
