"""Requests, operations and results, and their JSON forms.

Plain frozen dataclasses: the client builds them from the wire, the emulator
builds the wire from them, and the panels display them.
"""
from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import ValidationError
from .limits import (
    DEFAULT_API_VERSION,
    DEFAULT_N,
    OPTION_NAMES,
    RESPONSE_FORMATS,
    STATUSES,
    TERMINAL_STATUSES,
    VersionSpec,
    version_spec,
)
from .text import check_text, is_blank


@dataclass(frozen=True)
class ImageRequest:
    """One image generation request, checked against its api-version's limits."""

    prompt: str
    size: str | None = None
    n: int = DEFAULT_N
    user: str | None = None
    response_format: str | None = None
    api_version: str = DEFAULT_API_VERSION
    # version-specific fields (see VersionSpec.options): None leaves them out
    quality: str | None = None
    style: str | None = None
    output_format: str | None = None
    background: str | None = None
    output_compression: int | None = None

    def __post_init__(self) -> None:
        validate_request(self)

    @property
    def options(self) -> dict[str, Any]:
        """The version-specific fields that are set (response_format included)."""
        return {k: getattr(self, k) for k in OPTION_NAMES if getattr(self, k) is not None}

    def to_json(self) -> dict[str, Any]:
        """The request body; optional fields are left out when unset."""
        body: dict[str, Any] = {"prompt": self.prompt, "n": self.n,
                                "size": self.size or version_spec(self.api_version).default_size}
        if self.user is not None:
            body["user"] = self.user
        body.update(self.options)
        return body


def validate_request(req: ImageRequest) -> None:
    """Raise ValidationError naming the first field that breaks a limit."""
    spec = version_spec(req.api_version)
    check_prompt(spec, req.prompt)
    check_n(spec, req.n)
    check_size_and_user(spec, req.size, req.user)
    for name in OPTION_NAMES:
        check_option(spec, name, getattr(req, name))


def check_prompt(spec: VersionSpec, p: Any, *, allow_blank: bool = False) -> None:
    """ValidationError("prompt") unless ``p`` is a non-blank string within the version's cap.

    Blank includes text made only of invisible characters (zero-width, controls).
    ``allow_blank``: the prompt may still be empty or blank; the rest holds.
    """
    if not isinstance(p, str):
        raise ValidationError("prompt", "must be a string", type(p).__name__)
    if not allow_blank and is_blank(p):
        raise ValidationError("prompt", "must not be empty or blank")
    check_text("prompt", p)
    check_prompt_length(spec, p)


def check_prompt_length(spec: VersionSpec, p: str) -> None:
    """ValidationError("prompt") when ``p`` is longer than the version's cap."""
    if len(p) > spec.prompt_max:
        raise ValidationError("prompt", f"at most {spec.prompt_max} characters, got {len(p)}")


def check_n(spec: VersionSpec, n: Any) -> None:
    """ValidationError("n") unless ``n`` is a whole number of images the version makes at once."""
    if isinstance(n, bool) or not isinstance(n, int):
        raise ValidationError("n", f"must be a whole number from 1 to {spec.n_max}", n)
    if not 1 <= n <= spec.n_max:
        if spec.n_max == 1:
            raise ValidationError("n", f"must be 1 ({spec.model} makes one image per request)", n)
        raise ValidationError("n", f"must be from 1 to {spec.n_max}", n)


def check_size(spec: VersionSpec, size: Any) -> None:
    """ValidationError("size") unless ``size`` is one the version lists (or None: its default)."""
    if size is not None and size not in spec.sizes:
        raise ValidationError("size", f"must be one of {', '.join(spec.sizes)}", size)


def check_size_and_user(spec: VersionSpec, size: Any, user: Any) -> None:
    """ValidationError naming size or user: a size the version lists (or None), a user string."""
    check_size(spec, size)
    if user is not None and not isinstance(user, str):
        raise ValidationError("user", "must be a string", type(user).__name__)
    if user is not None:
        check_text("user", user)


def check_option(spec: VersionSpec, name: str, value: Any) -> None:
    """ValidationError naming ``name`` when ``value`` is not allowed under ``spec`` (None is)."""
    if value is None:
        return
    opt = spec.option(name)
    if opt is None and name == "response_format" and not spec.is_sync:
        choices: tuple[str, ...] = RESPONSE_FORMATS  # the seeds' version takes it, unshown
    elif opt is None:
        raise ValidationError(
            name, f"is not a setting of api-version {spec.version} ({spec.model}); it takes "
                  f"{', '.join(spec.option_names) or 'no such settings'}", value)
    elif opt.is_int:
        if isinstance(value, bool) or not isinstance(value, int) \
                or not opt.minimum <= value <= opt.maximum:  # type: ignore[operator]
            raise ValidationError(name, f"must be a whole number from {opt.minimum} to "
                                        f"{opt.maximum}", value)
        return
    else:
        choices = opt.choices
    if not isinstance(value, str) or value not in choices:
        raise ValidationError(name, f"must be one of {', '.join(choices)}", value)


@dataclass(frozen=True)
class ImageOperation:
    """A submitted operation: what Request Image returns."""

    id: str
    status: str
    created: int | None = None
    location: str | None = None  # absolute URL to poll

    @property
    def done(self) -> bool:
        return self.status in TERMINAL_STATUSES


@dataclass(frozen=True)
class ImageItem:
    """One image slot of a result: a URL (or base64 data), or that image's error."""

    index: int
    url: str | None = None
    b64_json: str | None = None
    error_code: str | None = None
    error_message: str | None = None
    #: The prompt the service actually used (dall-e-3 rewrites prompts).
    revised_prompt: str | None = None

    @property
    def ok(self) -> bool:
        return self.error_code is None and (self.url is not None or self.b64_json is not None)


@dataclass(frozen=True)
class ImageResult:
    """A terminal (or last seen) operation: what Download Image returns."""

    id: str
    status: str
    items: tuple[ImageItem, ...] = ()
    created: int | None = None
    expires: int | None = None
    error_code: str | None = None
    error_message: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)
    #: Token counts of a gpt-image-1 answer (total_tokens, input_tokens, ...), else None.
    usage: Mapping[str, Any] | None = field(default=None, compare=False)

    @property
    def urls(self) -> list[str]:
        """URLs of the images that were made (filtered images are left out)."""
        return [i.url for i in self.items if i.url is not None and i.error_code is None]

    @property
    def errors(self) -> list[ImageItem]:
        """Images refused one by one (for example by the content filter)."""
        return [i for i in self.items if i.error_code is not None]

    @property
    def done(self) -> bool:
        return self.status in TERMINAL_STATUSES

    @property
    def succeeded(self) -> bool:
        return self.status == "succeeded"


class ParseError(ValueError):
    """The service's answer does not have the contract's shape."""


#: The deepest JSON nesting an answer may have (the contract's own answers stay under 6).
MAX_ANSWER_DEPTH = 32
#: The latest Unix time ``created``/``expires`` may name (the end of year 9999, which
#: ``datetime`` can still show).
MAX_TIMESTAMP = 253_402_300_799


def load_answer(data: bytes | str) -> Any:
    """An answer's JSON; ParseError for anything the contract cannot hold.

    That is: not JSON, the non-standard ``NaN``/``Infinity`` literals, a number
    past float range (``1e400``) or with thousands of digits, nesting deeper
    than MAX_ANSWER_DEPTH (a deep one would exhaust the parser's recursion).
    """
    try:
        value = json.loads(data, parse_constant=_refuse_constant, parse_float=_finite_float)
    except RecursionError:
        raise ParseError("the answer's JSON is nested too deeply") from None
    except ParseError:
        raise
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, int digit limit
        raise ParseError(f"the answer is not JSON ({type(exc).__name__})") from None
    _check_depth(value)
    return value


def _refuse_constant(name: str) -> Any:
    raise ParseError(f"the answer holds {name}, which is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ParseError("the answer holds a number past the range of a float")
    return value


def _check_depth(value: Any) -> None:
    """ParseError if containers nest deeper than MAX_ANSWER_DEPTH (iterative: no recursion)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > MAX_ANSWER_DEPTH:
            raise ParseError(f"the answer's JSON nests deeper than {MAX_ANSWER_DEPTH} levels")
        stack.extend((child, depth + 1) for child in children
                     if isinstance(child, (dict, list)))


def _check_count(items: int, max_items: int | None) -> None:
    if max_items is not None and items > max_items:
        raise ParseError(f"the answer has {items} images, more than the {max_items} asked for")


def parse_operation(body: Any, *, max_items: int | None = None) -> ImageResult:
    """Read a poll (or submit) answer; accepts `result.data` and top-level `data`.

    ``max_items``: the images asked for (n); an answer with more is a ParseError.
    """
    if not isinstance(body, Mapping):
        raise ParseError(f"operation answer is not a JSON object but {type(body).__name__}")
    op_id = body.get("id")
    status = body.get("status")
    if not isinstance(op_id, str) or not op_id:
        raise ParseError("operation answer has no string 'id'")
    if status not in STATUSES:
        raise ParseError(f"operation answer has an unknown 'status': {status!r}")
    result = body.get("result")
    data = None
    if isinstance(result, Mapping):
        data = result.get("data")
    if data is None:
        data = body.get("data")
    items: list[ImageItem] = []
    if data is not None:
        if not isinstance(data, list):
            raise ParseError("operation 'data' is not a list")
        _check_count(len(data), max_items)
        for idx, entry in enumerate(data):
            items.append(_parse_item(idx, entry))
    err = body.get("error")
    code = msg = None
    if isinstance(err, Mapping):
        code = _opt_str(err.get("code"))
        msg = _opt_str(err.get("message"))
    return ImageResult(
        id=op_id,
        status=status,
        items=tuple(items),
        created=parse_timestamp(body, "created"),
        expires=parse_timestamp(body, "expires"),
        error_code=code,
        error_message=msg,
        raw=dict(body),
    )


def _parse_item(idx: int, entry: Any) -> ImageItem:
    if not isinstance(entry, Mapping):
        raise ParseError(f"data[{idx}] is not a JSON object")
    err = entry.get("error")
    if isinstance(err, Mapping):
        return ImageItem(idx, error_code=_opt_str(err.get("code")) or "error",
                         error_message=_opt_str(err.get("message")) or "")
    url = entry.get("url")
    b64 = entry.get("b64_json")
    revised = entry.get("revised_prompt")
    revised = revised if isinstance(revised, str) else None
    if url is not None and not isinstance(url, str):
        raise ParseError(f"data[{idx}].url is not a string")
    if b64 is not None and not isinstance(b64, str):
        raise ParseError(f"data[{idx}].b64_json is not a string")
    if url is None and b64 is None:
        raise ParseError(f"data[{idx}] has neither 'url' nor 'b64_json' nor 'error'")
    return ImageItem(idx, url=url, b64_json=b64, revised_prompt=revised)


def parse_images_response(body: Any, op_id: str, *, ttl: int | None = None,
                          max_items: int | None = None) -> ImageResult:
    """Read a synchronous generations (or edits) answer as a succeeded ImageResult under ``op_id``.

    The answer has no id of its own: the client records it under one it makes.
    ``ttl``: seconds its URLs live after ``created`` (sets ``expires`` when
    there are URLs; base64 images do not expire). ``max_items``: as in parse_operation.
    """
    if not isinstance(body, Mapping):
        raise ParseError(f"images answer is not a JSON object but {type(body).__name__}")
    data = body.get("data")
    if not isinstance(data, list):
        raise ParseError("images answer has no 'data' list")
    _check_count(len(data), max_items)
    items = tuple(_parse_item(i, entry) for i, entry in enumerate(data))
    created = parse_timestamp(body, "created")
    expires = None
    if ttl is not None and created is not None and any(i.url for i in items):
        expires = created + ttl
    usage = body.get("usage")
    return ImageResult(id=op_id, status="succeeded", items=items, created=created,
                       expires=expires, raw=dict(body),
                       usage=dict(usage) if isinstance(usage, Mapping) else None)


def _opt_str(v: Any) -> str | None:
    return None if v is None else str(v)


def parse_timestamp(body: Mapping[str, Any], key: str) -> int | None:
    """``body[key]`` as whole Unix seconds; None when absent or not a number; ParseError when
    it is a number no date can hold (negative, NaN, past year 9999)."""
    v = body.get(key)
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    if not (math.isfinite(v) and 0 <= v <= MAX_TIMESTAMP):
        raise ParseError(f"'{key}' is not a time the contract can hold")
    return int(v)


def operation_json(
    op_id: str,
    status: str,
    created: int,
    expires: int | None = None,
    data: list[dict[str, Any]] | None = None,
    error: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The poll answer's JSON, as the service shapes it (used by the emulator)."""
    body: dict[str, Any] = {"id": op_id, "status": status, "created": created}
    if expires is not None:
        body["expires"] = expires
    if data is not None:
        body["result"] = {"created": created, "data": data}
    if error is not None:
        body["error"] = error
    return body
