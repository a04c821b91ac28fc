"""Streamed answers (``stream: true``, CONTRACT.md section 4): their events, read.

A streamed generation or edit is a run of server-sent events whose ``data``
is a JSON object with a ``type``: ``image_generation.partial_image`` /
``image_edit.partial_image`` (a partly formed image, ``partial_image_index``
0-based) and ``image_generation.completed`` / ``image_edit.completed`` (one
finished image, with ``usage``). Images of ``n > 1`` follow one another; the
events carry no image index, so the order tells them apart. ``read_event``
turns one event's JSON into a PartialImage or a CompletedImage; ``StreamedResult``
gathers the completed ones into the ImageResult every other call returns.
"""
from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .models import ImageItem, ImageResult, ParseError

PARTIAL_SUFFIX = ".partial_image"
COMPLETED_SUFFIX = ".completed"
#: Event type prefixes: generations and edits.
EVENT_PREFIXES: tuple[str, ...] = ("image_generation", "image_edit")


def _decode(b64: str) -> bytes:
    try:
        return base64.b64decode(b64, validate=True)
    except (binascii.Error, ValueError):
        raise ParseError("b64_json is not base64") from None


@dataclass(frozen=True)
class PartialImage:
    """A partly formed image of a streamed request: show it, then the next one in its place.

    ``image_index``: which image of the request (0 .. n-1) it belongs to,
    counted from the completed events seen before it.
    """

    partial_index: int
    b64_json: str = field(repr=False)
    image_index: int = 0
    type: str = "image_generation.partial_image"
    size: str | None = None
    quality: str | None = None
    output_format: str | None = None
    background: str | None = None
    created_at: int | None = None

    @property
    def image_bytes(self) -> bytes:
        """The image file (PNG or JPEG) of this partial."""
        return _decode(self.b64_json)


@dataclass(frozen=True)
class CompletedImage:
    """One finished image of a streamed request, with the token counts it cost."""

    b64_json: str = field(repr=False)
    type: str = "image_generation.completed"
    usage: Mapping[str, Any] | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)


def _opt_str(body: Mapping[str, Any], key: str) -> str | None:
    value = body.get(key)
    return value if isinstance(value, str) else None


def read_event(body: Any, image_index: int = 0) -> PartialImage | CompletedImage | None:
    """The image event in ``body`` (an event's parsed ``data``); None for an event of another
    type (ignored, as a client of a growing API should). ParseError for a malformed one."""
    if not isinstance(body, Mapping):
        raise ParseError(f"a streamed event is not a JSON object but {type(body).__name__}")
    kind = body.get("type")
    if not isinstance(kind, str):
        raise ParseError("a streamed event has no 'type'")
    prefix, dot, _ = kind.partition(".")
    if prefix not in EVENT_PREFIXES or not dot:
        return None
    is_partial = kind.endswith(PARTIAL_SUFFIX)
    if not is_partial and not kind.endswith(COMPLETED_SUFFIX):
        return None
    b64 = body.get("b64_json")
    if not isinstance(b64, str) or not b64:
        raise ParseError(f"a {kind} event has no b64_json")
    if is_partial:
        index = body.get("partial_image_index")
        if isinstance(index, bool) or not isinstance(index, int) or index < 0:
            raise ParseError(f"a {kind} event has no partial_image_index")
        created = body.get("created_at")
        return PartialImage(
            partial_index=index, b64_json=b64, image_index=image_index, type=kind,
            size=_opt_str(body, "size"), quality=_opt_str(body, "quality"),
            output_format=_opt_str(body, "output_format"),
            background=_opt_str(body, "background"),
            created_at=created if isinstance(created, int) and not isinstance(created, bool)
            else None)
    usage = body.get("usage")
    return CompletedImage(b64_json=b64, type=kind,
                          usage=dict(usage) if isinstance(usage, Mapping) else None, raw=dict(body))


def add_usage(total: Mapping[str, Any] | None, more: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """Token counts of two answers added up (nested counts too); None when neither has any."""
    if more is None:
        return None if total is None else dict(total)
    out: dict[str, Any] = dict(total or {})
    for key, value in more.items():
        have = out.get(key)
        if isinstance(value, Mapping):
            out[key] = add_usage(have if isinstance(have, Mapping) else None, value)
        elif isinstance(value, int) and not isinstance(value, bool) and \
                isinstance(have, int) and not isinstance(have, bool):
            out[key] = have + value
        elif key not in out:
            out[key] = value
    return out


@dataclass
class StreamedResult:
    """The completed images of one stream, gathered into an ImageResult."""

    items: list[ImageItem] = field(default_factory=list)
    usage: dict[str, Any] | None = None
    created: int | None = None

    def add(self, done: CompletedImage) -> None:
        self.items.append(ImageItem(len(self.items), b64_json=done.b64_json))
        self.usage = add_usage(self.usage, done.usage)
        created = done.raw.get("created_at")
        if self.created is None and isinstance(created, int) and not isinstance(created, bool):
            self.created = created

    def result(self, op_id: str) -> ImageResult:
        return ImageResult(id=op_id, status="succeeded", items=tuple(self.items),
                           created=self.created, usage=self.usage,
                           raw={"data": [{"b64_json": i.b64_json} for i in self.items],
                                "usage": self.usage, "created": self.created})


__all__ = ["EVENT_PREFIXES", "CompletedImage", "PartialImage", "StreamedResult", "add_usage",
           "read_event"]
