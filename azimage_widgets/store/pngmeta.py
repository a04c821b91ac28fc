"""Text metadata in PNG files without re-encoding the pixels.

``with_text(png, {"prompt": ...})`` returns the same PNG with tEXt chunks
(iTXt when a value is not Latin-1) placed right after IHDR, so any viewer
and ``PIL.Image.open(f).text`` show the prompt. The chunk payloads are made
by Pillow's ``PngInfo``; only the splicing is done here, which keeps the
service's image data byte for byte (no decode, no re-encode). Existing text
chunks with the same keys are dropped so the metadata is never duplicated.
"""
from __future__ import annotations

import struct
import zlib
from collections.abc import Mapping

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_TEXT_TYPES = (b"tEXt", b"iTXt", b"zTXt")


class NotPNG(ValueError):
    """The bytes are not a well-formed PNG (signature or chunk structure)."""


def is_png(data: bytes) -> bool:
    return data[:8] == PNG_SIGNATURE


def _chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """(type, payload) of every chunk; NotPNG when the structure is broken."""
    if not is_png(data):
        raise NotPNG("no PNG signature")
    out: list[tuple[bytes, bytes]] = []
    pos = 8
    while pos < len(data):
        if pos + 8 > len(data):
            raise NotPNG("truncated chunk header")
        length, ctype = struct.unpack(">I4s", data[pos:pos + 8])
        end = pos + 12 + length
        if end > len(data):
            raise NotPNG("truncated chunk")
        out.append((ctype, data[pos + 8:pos + 8 + length]))
        pos = end
        if ctype == b"IEND":
            break
    if not out or out[0][0] != b"IHDR":
        raise NotPNG("first chunk is not IHDR")
    return out


def _chunk(ctype: bytes, payload: bytes) -> bytes:
    return (struct.pack(">I", len(payload)) + ctype + payload
            + struct.pack(">I", zlib.crc32(ctype + payload) & 0xFFFFFFFF))


def _text_key(ctype: bytes, payload: bytes) -> str | None:
    if ctype not in _TEXT_TYPES:
        return None
    return payload.split(b"\x00", 1)[0].decode("latin-1", "replace")


def with_text(data: bytes, text: Mapping[str, str]) -> bytes:
    """``data`` (a PNG) with ``text`` as text chunks after IHDR; NotPNG for other bytes."""
    from PIL.PngImagePlugin import PngInfo

    chunks = _chunks(data)
    info = PngInfo()
    for key, value in text.items():
        if value is None:
            continue
        # keys are 1..79 Latin-1 characters; values lose NULs (the chunk separator)
        info.add_text(str(key)[:79], str(value).replace("\x00", ""))
    new = [_chunk(entry[0], entry[1]) for entry in info.chunks]
    keys = {str(k)[:79] for k, v in text.items() if v is not None}
    parts = [PNG_SIGNATURE, _chunk(*chunks[0]), *new]
    for ctype, payload in chunks[1:]:
        if _text_key(ctype, payload) in keys:
            continue
        parts.append(_chunk(ctype, payload))
    return b"".join(parts)


__all__ = ["NotPNG", "PNG_SIGNATURE", "is_png", "with_text"]
