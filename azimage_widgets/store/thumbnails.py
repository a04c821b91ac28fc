"""Preview thumbnails: one size, one format, one encoder for every place that shows images.

WebP rather than JPEG: at the same look it is about half the bytes (a saved
notebook keeps every thumbnail in its widget state), and it keeps the alpha
channel of transparent gpt-image-1 backgrounds. Every front end we support
(JupyterLab, Notebook 7, VS Code, Voila, a static HTML export) shows it.
"""
from __future__ import annotations

import io
from typing import Any

# Registers the WebP encoder now: a save in a format Pillow has not loaded yet imports every
# one of its plugins first (tens of ms), which would otherwise land on the first thumbnail.
from PIL import WebPImagePlugin  # noqa: F401

#: Longest side of a thumbnail, in pixels.
THUMBNAIL_PX = 256
#: ``format`` of an ipywidgets ``Image`` showing a thumbnail.
THUMBNAIL_FORMAT = "webp"
THUMBNAIL_MIME = "image/webp"
THUMBNAIL_SUFFIX = ".webp"
_QUALITY = 80


def make_thumbnail(image: Any, max_px: int = THUMBNAIL_PX, *, method: int = 4) -> bytes:
    """WebP bytes of a Pillow image scaled to fit ``max_px`` (the image itself is not changed).

    ``method``: the encoder's effort, 0 (fastest, a few % more bytes) .. 6.
    """
    thumb = image.copy()
    if thumb.mode not in ("RGB", "RGBA"):
        thumb = thumb.convert("RGBA" if "A" in thumb.getbands() or "transparency" in thumb.info
                              else "RGB")
    thumb.thumbnail((max_px, max_px))
    buf = io.BytesIO()
    thumb.save(buf, format="WEBP", quality=_QUALITY, method=method)
    return buf.getvalue()
