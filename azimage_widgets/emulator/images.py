"""Deterministic procedural PNGs that show which prompt made them.

A picture depends only on (prompt, index) for its colours and shapes and on
size for its resolution, so the same request always gives the same bytes
(tests compare them) while a person looking at a notebook can still read the
prompt and the image number drawn on it. Renders are cached because a
1024x1024 one costs tens of milliseconds.
"""
from __future__ import annotations

import hashlib
import io
import textwrap
from functools import lru_cache

from PIL import Image, ImageDraw, ImageFont

#: Rendered images kept in memory (a 1024x1024 PNG is a few hundred kB).
CACHE_SIZE = 64


def parse_size(size: str) -> tuple[int, int]:
    """'512x512' -> (512, 512); the contract's sizes are all of this form."""
    w, _, h = size.partition("x")
    return int(w), int(h)


def render_png(prompt: str, index: int, size: str) -> bytes:
    """The PNG bytes of image ``index`` of ``prompt`` at ``size`` (cached)."""
    return _render_cached(prompt, index, size)


@lru_cache(maxsize=CACHE_SIZE)
def _render_cached(prompt: str, index: int, size: str) -> bytes:
    width, height = parse_size(size)
    digest = _digest(prompt, index)
    img = _background(digest, width, height)
    _shapes(img, digest)
    _caption(img, prompt, index, size)
    out = io.BytesIO()
    img.save(out, format="PNG", compress_level=6)
    return out.getvalue()


def corrupt(data: bytes) -> bytes:
    """Bytes that look like a cut-off download no decoder accepts.

    The first half of the file with its PNG signature inverted: Pillow refuses
    it at open, whatever its truncated-image setting says.
    """
    half = data[: max(16, len(data) // 2)]
    return bytes(b ^ 0xFF for b in half[:8]) + half[8:]


def _digest(prompt: str, index: int) -> bytes:
    text = prompt.encode("utf-8", "surrogatepass")
    return hashlib.sha256(text + b"\x00" + str(index).encode()).digest()


def _colour(digest: bytes, at: int, alpha: int | None = None) -> tuple[int, ...]:
    rgb = (digest[at % 32], digest[(at + 1) % 32], digest[(at + 2) % 32])
    return rgb if alpha is None else (*rgb, alpha)


def _background(digest: bytes, width: int, height: int) -> Image.Image:
    """A smooth four-corner gradient: a 2x2 image scaled up bilinearly."""
    corners = Image.new("RGB", (2, 2))
    corners.putdata([_colour(digest, 0), _colour(digest, 3), _colour(digest, 6), _colour(digest, 9)])
    return corners.resize((width, height), Image.Resampling.BILINEAR).convert("RGBA")


def _shapes(img: Image.Image, digest: bytes) -> None:
    """Six translucent ellipses and rectangles placed by the hash."""
    width, height = img.size
    layer = Image.new("RGBA", img.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    for k in range(6):
        b = digest[(k * 5) % 32 : (k * 5) % 32 + 5].ljust(5, b"\x00")
        cx, cy = b[0] / 255 * width, b[1] / 255 * height
        r = (0.08 + b[2] / 255 * 0.22) * min(width, height)
        box = (cx - r, cy - r, cx + r, cy + r)
        fill = _colour(digest, 12 + k * 3, 140)
        if b[3] % 2:
            draw.ellipse(box, fill=fill)
        else:
            draw.rectangle(box, fill=fill)
    img.alpha_composite(layer)


def _caption(img: Image.Image, prompt: str, index: int, size: str) -> None:
    """The prompt, wrapped, on a dark band at the bottom; on top the image number, 1-based as
    every caption in the panels."""
    width, height = img.size
    font_px = max(10, width // 24)
    font = _font(font_px)
    text = prompt.encode("utf-8", "replace").decode("utf-8")
    text = " ".join(text.split())
    chars_per_line = max(8, int(width / (font_px * 0.55)) - 2)
    max_lines = max(2, int(height * 0.45 / (font_px * 1.25)))
    lines = textwrap.wrap(text, chars_per_line, break_long_words=True) or [""]
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] = lines[-1][: max(0, chars_per_line - 1)] + "\u2026"
    line_h = int(font_px * 1.25)
    pad = max(4, font_px // 2)
    band_top = height - pad * 2 - line_h * len(lines)
    overlay = Image.new("RGBA", img.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    draw.rectangle((0, band_top, width, height), fill=(0, 0, 0, 170))
    label = f"image {index + 1}  {size}"  # 1-based, as the panels caption it
    draw.rectangle((0, 0, pad * 2 + int(font_px * 0.62 * len(label)), line_h + pad * 2),
                   fill=(0, 0, 0, 170))
    img.alpha_composite(overlay)
    draw = ImageDraw.Draw(img)
    draw.text((pad, pad), label, font=font, fill=(255, 255, 255, 255))
    for i, line in enumerate(lines):
        draw.text((pad, band_top + pad + i * line_h), line, font=font, fill=(255, 255, 255, 255))


@lru_cache(maxsize=16)
def _font(px: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """Pillow's bundled font: no system font needed, same glyphs on every machine."""
    try:
        return ImageFont.load_default(size=px)
    except (TypeError, ImportError, OSError):  # Pillow built without FreeType
        return ImageFont.load_default()
