"""Request and response data schemas of each activity, per api-version.

What step 2 of a panel shows ("Review the Data Schemas"): the fields an
activity sends and receives, derived from CONTRACT.md section 1 (the
asynchronous flow of 2023-06-01-preview). Nested fields use a dotted path
with ``[]`` for list items, e.g. ``result.data[].url``.

Choices where the contract is silent or loose:
- ``response_format`` is left out of the Request Image request: only one
  generated spec lists it, and the activities always ask for URLs.
- ``created`` on the submit answer is optional (only the spec example has it).
- The Download Image request is the operation ``id`` (a path parameter in
  the REST call); no body is sent.

Synchronous versions (2024-10-21, 2025-04-01-preview; CONTRACT.md section 2):
the Request Image request adds the version's options (quality, style, ...)
and its response is the generations answer (``created``, ``data[]``, and
``usage`` for gpt-image-1). The Download Image request is still an ``id``:
the one the client gave that answer; its response is the answer recorded
under it, with the ``id`` and a ``status`` of succeeded.
"""
from __future__ import annotations

from dataclasses import dataclass

from .limits import N_MIN, OptionSpec, VersionSpec, version_spec

REQUEST_IMAGE = "request_image"
DOWNLOAD_IMAGE = "download_image"
ACTIVITY_KINDS: tuple[str, ...] = (REQUEST_IMAGE, DOWNLOAD_IMAGE)


@dataclass(frozen=True)
class SchemaField:
    """One field of a data schema: a dotted path, its JSON type and whether it must be there."""

    name: str
    type: str  # "string" | "integer" | "object" | "array"
    required: bool
    description: str

    @property
    def depth(self) -> int:
        """How deeply nested the field is (``result.data[].url`` is 2)."""
        return self.name.count(".")


def _option_field(opt: OptionSpec) -> SchemaField:
    if opt.is_int:
        return SchemaField(opt.name, "integer", False,
                           f"{opt.label}, {opt.minimum} to {opt.maximum}; {opt.default} when left out.")
    return SchemaField(opt.name, "string", False,
                       f"{opt.label}, one of {', '.join(opt.choices)}; {opt.default} when left out.")


def _answer_fields(spec: VersionSpec) -> tuple[SchemaField, ...]:
    """The generations answer of a synchronous version."""
    out = [
        SchemaField("created", "integer", True, "When the images were made, in Unix seconds."),
        SchemaField("data", "array", True, "One entry per image, in order."),
    ]
    if spec.option("response_format") is not None and "url" in spec.choices("response_format"):
        out.append(SchemaField("data[].url", "string", False,
                               "A signed link to the PNG (response_format url); needs no key; "
                               "expires after 24 hours."))
    out.append(SchemaField("data[].b64_json", "string", False,
                           "The image file itself, base64-encoded (response_format b64_json)."))
    if spec.revised_prompt:
        out.append(SchemaField("data[].revised_prompt", "string", False,
                               "The prompt the model actually drew, as it rewrote it."))
        out.append(SchemaField("data[].content_filter_results", "object", False,
                               "What the safety system found in the image (severity per category)."))
    if spec.usage:
        out += [
            SchemaField("usage", "object", False, "Tokens this request used."),
            SchemaField("usage.total_tokens", "integer", False, "Input plus output tokens."),
            SchemaField("usage.input_tokens", "integer", False, "Tokens of the prompt and input images."),
            SchemaField("usage.output_tokens", "integer", False, "Tokens of the made images."),
        ]
    return tuple(out)


def _request_image(api_version: str) -> tuple[tuple[SchemaField, ...], tuple[SchemaField, ...]]:
    spec = version_spec(api_version)
    sizes = ", ".join(spec.sizes)
    if spec.is_sync:
        request = (
            SchemaField("prompt", "string", True,
                        f"What the image should show; 1 to {spec.prompt_max} characters, not blank."),
            SchemaField("n", "integer", False,
                        f"How many images to make, {N_MIN} to {spec.n_max}; 1 when left out."
                        if spec.n_max > 1 else f"How many images to make: {spec.model} makes 1."),
            SchemaField("size", "string", False,
                        f"Width x height in pixels, one of {sizes}; {spec.default_size} when left out."),
            SchemaField("user", "string", False,
                        "Your own label for the end user, passed to the service for abuse monitoring."),
            *(_option_field(o) for o in spec.options),
        )
        return request, _answer_fields(spec)
    request = (
        SchemaField("prompt", "string", True,
                    f"What the image should show; 1 to {spec.prompt_max} characters, not blank."),
        SchemaField("n", "integer", False,
                    f"How many images to make, {N_MIN} to {spec.n_max}; 1 when left out."),
        SchemaField("size", "string", False,
                    f"Width x height in pixels, one of {sizes}; {spec.default_size} when left out."),
        SchemaField("user", "string", False,
                    "Your own label for the end user, passed to the service for abuse monitoring."),
    )
    response = (
        SchemaField("id", "string", True,
                    "The operation id; give it to Download Image to fetch the images."),
        SchemaField("status", "string", True,
                    "Where the job stands right after submitting, usually notRunning."),
        SchemaField("created", "integer", False,
                    "When the job was accepted, in Unix seconds (not always sent)."),
    )
    return request, response


def _download_image(api_version: str) -> tuple[tuple[SchemaField, ...], tuple[SchemaField, ...]]:
    spec = version_spec(api_version)
    if spec.is_sync:
        request = (SchemaField("id", "string", True,
                               "The id Request Image returned (the client recorded the answer "
                               "under it; no request is sent)."),)
        response = (
            SchemaField("id", "string", True, "The id that was asked for."),
            SchemaField("status", "string", True, "Always succeeded: the answer came with the images."),
            *_answer_fields(spec),
        )
        return request, response
    request = (
        SchemaField("id", "string", True,
                    "The operation id returned by Request Image (sent in the URL path)."),
    )
    response = (
        SchemaField("id", "string", True, "The operation id that was asked for."),
        SchemaField("status", "string", True,
                    "notRunning, running, succeeded, failed, canceled (timed out) or deleted."),
        SchemaField("created", "integer", False, "When the job was accepted, in Unix seconds."),
        SchemaField("expires", "integer", False,
                    "When the image links and the images stop working, in Unix seconds "
                    "(about 24 hours after created)."),
        SchemaField("result", "object", False, "Present once the job has succeeded."),
        SchemaField("result.created", "integer", False, "When the images were made, in Unix seconds."),
        SchemaField("result.data", "array", False, "One entry per requested image, in order."),
        SchemaField("result.data[].url", "string", False,
                    "A signed link to the PNG on blob storage; needs no key; expires with the result."),
        SchemaField("result.data[].error", "object", False,
                    "Instead of url when this one image was refused."),
        SchemaField("result.data[].error.code", "string", False,
                    "Why the image was refused, e.g. contentFilter."),
        SchemaField("result.data[].error.message", "string", False,
                    "The service's explanation for that image."),
        SchemaField("error", "object", False, "Present when the whole job failed."),
        SchemaField("error.code", "string", False, "Why the job failed, e.g. contentFilter."),
        SchemaField("error.message", "string", False, "The service's explanation of the failure."),
    )
    return request, response


_BUILDERS = {REQUEST_IMAGE: _request_image, DOWNLOAD_IMAGE: _download_image}


def schemas_for(
    activity_kind: str, api_version: str
) -> tuple[tuple[SchemaField, ...], tuple[SchemaField, ...]]:
    """(request fields, response fields) of an activity kind under an api-version.

    ``activity_kind`` is ``"request_image"`` or ``"download_image"`` (the
    class names ``RequestImage`` / ``DownloadImage`` are accepted too). An
    unknown kind or version raises ValidationError naming the field.
    """
    from .errors import ValidationError

    kind = _normalise_kind(activity_kind)
    builder = _BUILDERS.get(kind)
    if builder is None:
        raise ValidationError(
            "activity_kind", f"must be one of {', '.join(ACTIVITY_KINDS)}", activity_kind
        )
    return builder(api_version)


def _normalise_kind(kind: str) -> str:
    if not isinstance(kind, str):
        return ""
    out = []
    for i, ch in enumerate(kind):
        if ch.isupper() and i:
            out.append("_")
        out.append(ch.lower())
    return "".join(out).replace(" ", "_").replace("-", "_")


__all__ = ["ACTIVITY_KINDS", "DOWNLOAD_IMAGE", "REQUEST_IMAGE", "SchemaField", "schemas_for"]
