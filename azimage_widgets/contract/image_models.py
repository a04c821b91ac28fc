"""The image models Azure OpenAI has served, as data: sizes, settings, limits, retirement.

A version (``limits.VERSIONS``) says how a request travels; a model says what
it may ask for. The model of a request is named outright (``model=``), or read
from a deployment name that contains a model's name (the longest one wins:
``my-gpt-image-1-mini`` is gpt-image-1-mini, not gpt-image-1), else the rules
every GPT image model shares apply (``GPT_IMAGE_COMMON``): the preset sizes,
and no setting that only some models take (input_fidelity, custom sizes).

Dates are Azure's (CONTRACT.md section 0). Retired models stay in the table:
the seeds' flow and the emulator still speak them, and a user who picks one is
told the date and what to use instead (``retirement_note``).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from .errors import ValidationError
from .limits import VERSIONS, version_spec

#: The sizes every GPT image model takes.
GPT_IMAGE_SIZES: tuple[str, ...] = ("auto", "1024x1024", "1536x1024", "1024x1536")
GPT_IMAGE_QUALITIES: tuple[str, ...] = ("low", "medium", "high", "auto")
#: Output formats on Azure: webp is in the v1 spec but refused by the service (Microsoft's how-to).
OUTPUT_FORMATS: tuple[str, ...] = ("png", "jpeg")
BACKGROUNDS: tuple[str, ...] = ("transparent", "opaque", "auto")
MODERATIONS: tuple[str, ...] = ("low", "auto")
INPUT_FIDELITIES: tuple[str, ...] = ("high", "low")
PARTIAL_IMAGES_MAX = 3
OUTPUT_COMPRESSION_MAX = 100


@dataclass(frozen=True)
class CustomSizeRule:
    """The ``WxH`` sizes a model takes beyond its presets (gpt-image-2)."""

    multiple: int = 16
    max_edge: int = 3840
    max_ratio: float = 3.0
    min_pixels: int = 655_360
    max_pixels: int = 8_294_400


@dataclass(frozen=True)
class ImageModel:
    """One image model: what a request for it may carry, and when Azure retires it.

    ``default_quality`` is what ``quality`` left out (or ``auto``) means;
    ``default_size`` what ``size`` left out means (``auto``: the service picks,
    a square image in practice). Empty ``qualities`` (dall-e-2): no quality field.
    """

    name: str
    family: str  # "dall-e" or "gpt-image"
    sizes: tuple[str, ...]
    default_size: str
    qualities: tuple[str, ...]
    default_quality: str | None
    n_max: int
    prompt_max: int
    retires: date | None = None
    replacement: str | None = None
    #: Names a deployment may carry for this model besides ``name`` (lower case).
    aliases: tuple[str, ...] = ()
    custom_sizes: CustomSizeRule | None = None
    output_formats: tuple[str, ...] = ()
    backgrounds: tuple[str, ...] = ()
    moderations: tuple[str, ...] = ()
    styles: tuple[str, ...] = ()
    response_formats: tuple[str, ...] = ("b64_json",)
    #: Edits take ``input_fidelity`` (not gpt-image-1-mini).
    input_fidelity: bool = False
    #: ``stream: true`` with ``partial_images`` 0..PARTIAL_IMAGES_MAX.
    streams: bool = False
    edits: bool = False
    #: Answers carry ``usage`` token counts.
    usage: bool = False
    #: Shown beside the name where a user picks it.
    label: str = ""

    @property
    def is_gpt_image(self) -> bool:
        return self.family == "gpt-image"

    def is_retired(self, today: date | None = None) -> bool:
        """True once ``retires`` has come (``today`` defaults to the real date)."""
        return self.retires is not None and (today or date.today()) >= self.retires


def _gpt_image(name: str, *, retires: date | None, replacement: str | None = None,
               default_quality: str = "high", custom: bool = False, fidelity: bool = True,
               aliases: tuple[str, ...] = (), label: str = "") -> ImageModel:
    return ImageModel(
        name=name, family="gpt-image", sizes=GPT_IMAGE_SIZES, default_size="auto",
        qualities=GPT_IMAGE_QUALITIES, default_quality=default_quality, n_max=10,
        prompt_max=32000, retires=retires, replacement=replacement, aliases=aliases,
        custom_sizes=CustomSizeRule() if custom else None, output_formats=OUTPUT_FORMATS,
        backgrounds=BACKGROUNDS, moderations=MODERATIONS, input_fidelity=fidelity,
        streams=True, edits=True, usage=True, label=label)


#: Newest first: the order a user picks from.
MODELS: dict[str, ImageModel] = {m.name: m for m in (
    _gpt_image("gpt-image-2", retires=date(2027, 10, 21), custom=True,
               label="any WxH size, up to 3840 px"),
    _gpt_image("gpt-image-1.5", retires=date(2027, 6, 16), replacement="gpt-image-2",
               aliases=("gpt-image-1-5", "gpt-image-15"), label="limited access"),
    _gpt_image("gpt-image-1-mini", retires=date(2027, 4, 7), replacement="gpt-image-2",
               default_quality="medium", fidelity=False, aliases=("gpt-image-mini",),
               label="cheapest"),
    _gpt_image("gpt-image-1", retires=date(2026, 10, 23), replacement="gpt-image-2"),
    ImageModel(
        name="dall-e-3", family="dall-e", sizes=("1024x1024", "1792x1024", "1024x1792"),
        default_size="1024x1024", qualities=("standard", "hd"), default_quality="standard",
        n_max=1, prompt_max=4000, retires=date(2026, 3, 4), replacement="gpt-image-2",
        aliases=("dalle-3", "dalle3", "dall-e3"), styles=("vivid", "natural"),
        response_formats=("url", "b64_json")),
    ImageModel(
        name="dall-e-2", family="dall-e", sizes=("256x256", "512x512", "1024x1024"),
        default_size="1024x1024", qualities=(), default_quality=None, n_max=5,
        prompt_max=1000, retires=date(2025, 1, 27), replacement="gpt-image-2",
        aliases=("dalle-2", "dalle2", "dall-e2"), response_formats=("url", "b64_json"),
        edits=True),
)}

#: The rules every GPT image model shares: what applies when the model is not known.
GPT_IMAGE_COMMON = _gpt_image("gpt-image", retires=None, fidelity=False,
                              label="rules common to all GPT image models")

#: Model names, newest first.
MODEL_NAMES: tuple[str, ...] = tuple(MODELS)


def model_spec(name: str) -> ImageModel:
    """The model called ``name`` ("gpt-image": the common rules); ValidationError("model") else."""
    if isinstance(name, str):
        key = name.strip().lower()
        if key == GPT_IMAGE_COMMON.name:
            return GPT_IMAGE_COMMON
        if key in MODELS:
            return MODELS[key]
    raise ValidationError("model", f"must be one of {', '.join(MODEL_NAMES)}", name)


def model_in_name(deployment: str) -> ImageModel | None:
    """The model whose name (or alias) is the longest one inside ``deployment``, or None.

    Case does not matter and ``_`` counts as ``-`` (``Prod_GPT_Image_2`` is gpt-image-2).
    """
    if not isinstance(deployment, str):
        return None
    text = deployment.lower().replace("_", "-")
    best: tuple[int, ImageModel] | None = None
    for model in MODELS.values():
        for name in (model.name, *model.aliases):
            if name in text and (best is None or len(name) > best[0]):
                best = (len(name), model)
    return best[1] if best else None


def resolve_model(model: str | None = None, deployment: str | None = None) -> ImageModel:
    """The rules of a request: ``model`` when given, else the one a deployment name names,
    else ``GPT_IMAGE_COMMON``."""
    if model is not None and model != "":
        return model_spec(model)
    found = model_in_name(deployment) if deployment else None
    return found or GPT_IMAGE_COMMON


def uses_model_rules(api_version: str) -> bool:
    """Whether requests of ``api_version`` follow their model's rules rather than the
    version's: the versions that serve GPT image models (v1, and the deployments path of
    2025-04-01-preview); the DALL-E versions keep their own."""
    spec = version_spec(api_version)
    own = MODELS.get(spec.model)
    return own is None or own.is_gpt_image


def model_for_version(api_version: str, model: str | None = None,
                      deployment: str | None = None) -> ImageModel:
    """The rules of a request under ``api_version``: the one owner of the choice.

    Where the version serves GPT image models (``uses_model_rules``): ``model``
    when given (a call's, else the connection's: the caller passes the first that
    is set), else the model the deployment's name names, else the version's own
    model (2025-04-01-preview: gpt-image-1) or, on v1, the rules common to all GPT
    image models. The DALL-E versions serve only the model they were made for
    (``model``, when given, must still be a known one).
    """
    if not uses_model_rules(api_version):
        if model is not None and model != "":
            model_spec(model)  # ValidationError("model") for an unknown name
        return MODELS[version_spec(api_version).model]
    spec = version_spec(api_version)
    resolved = resolve_model(model, deployment)
    if resolved is GPT_IMAGE_COMMON and spec.model in MODELS:
        return MODELS[spec.model]
    return resolved


# -- retirement ------------------------------------------------------------------------------

def retirement_date(name: str) -> date | None:
    """The Azure retirement date of a model or api-version name; None when none is known."""
    if name in VERSIONS or name == "preview":
        return version_spec(name).retires
    try:
        return model_spec(name).retires
    except ValidationError:
        return None


def retirement_label(name: str, today: date | None = None) -> str:
    """"retired 2026-10-23", "retires 2027-04-07" or "": what a picker shows beside ``name``."""
    when = retirement_date(name)
    if when is None:
        return ""
    return f"retired {when.isoformat()}" if (today or date.today()) >= when \
        else f"retires {when.isoformat()}"


def retirement_note(name: str, today: date | None = None) -> str | None:
    """"gpt-image-1 was retired on Azure on 2026-10-23; use gpt-image-2 instead." for a
    retired model or api-version, None for one that is not (yet) retired or unknown."""
    when = retirement_date(name)
    if when is None or (today or date.today()) < when:
        return None
    if name in VERSIONS:
        kind, instead = "api-version", version_spec(name).replacement
    else:
        kind, instead = "model", model_spec(name).replacement
    tail = f"; use {instead} instead" if instead else ""
    return f"{kind} {name} was retired on Azure on {when.isoformat()}{tail}."


__all__ = ["BACKGROUNDS", "GPT_IMAGE_COMMON", "GPT_IMAGE_QUALITIES", "GPT_IMAGE_SIZES",
           "INPUT_FIDELITIES", "MODELS", "MODEL_NAMES", "MODERATIONS", "OUTPUT_COMPRESSION_MAX",
           "OUTPUT_FORMATS", "PARTIAL_IMAGES_MAX", "CustomSizeRule", "ImageModel",
           "model_for_version", "model_in_name", "model_spec", "resolve_model",
           "retirement_date", "retirement_label", "retirement_note", "uses_model_rules"]
