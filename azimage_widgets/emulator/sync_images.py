"""Images of the synchronous flow: output formats, transparent backgrounds, edits.

Built on ``images.render_png`` (the same deterministic picture of a prompt),
then re-encoded as the request asks: JPEG at the asked compression, a PNG
with a transparent surround for ``background="transparent"``, or, for an
edit, the input image with the prompt's picture painted where the mask is
transparent (everywhere, half blended, without a mask).
"""
from __future__ import annotations

import io
import math

from PIL import Image, ImageDraw

from . import images

#: What ``size="auto"`` renders.
AUTO_SIZE = "1024x1024"
#: Largest input image side the emulator decodes (its own limit; the service documents bytes only).
MAX_INPUT_SIDE = 4096

#: Output tokens per image of 1024x1024 by quality (gpt-image-1's published table);
#: the oblong sizes cost about 1.5 times as much.
_OUTPUT_TOKENS = {"low": 272, "medium": 1056, "high": 4160, "auto": 1056}


def actual_size(size: str | None, default: str = AUTO_SIZE) -> str:
    return default if not size or size == "auto" else size


def encode(img: Image.Image, output_format: str, compression: int | None) -> bytes:
    out = io.BytesIO()
    if output_format == "jpeg":
        quality = 95 if compression is None else max(5, min(95, int(compression)))
        img.convert("RGB").save(out, format="JPEG", quality=quality)
    else:
        img.save(out, format="PNG", compress_level=6)
    return out.getvalue()


def render(prompt: str, index: int, size: str, output_format: str = "png",
           background: str = "auto", compression: int | None = None) -> bytes:
    """The picture of ``prompt`` (image ``index``) in the asked format and background."""
    size = actual_size(size)
    if output_format == "png" and background != "transparent":
        return images.render_png(prompt, index, size)
    img = Image.open(io.BytesIO(images.render_png(prompt, index, size))).convert("RGBA")
    if background == "transparent":
        alpha = Image.new("L", img.size, 0)
        w, h = img.size
        ImageDraw.Draw(alpha).ellipse((w * 0.04, h * 0.04, w * 0.96, h * 0.96), fill=255)
        img.putalpha(alpha)
    return encode(img, output_format, compression)


class BadImage(ValueError):
    """An input image or mask the emulator cannot use; ``param`` names the field."""

    def __init__(self, param: str, message: str) -> None:
        super().__init__(message)
        self.param = param


def open_input(data: bytes, param: str) -> Image.Image:
    """Decode an uploaded image; BadImage when it is not one or is too large."""
    try:
        img = Image.open(io.BytesIO(data))
        if max(img.size) > MAX_INPUT_SIDE:
            raise BadImage(param, f"{param}: at most {MAX_INPUT_SIDE} pixels on a side "
                                  f"(got {img.size[0]}x{img.size[1]})")
        img.load()
    except BadImage:
        raise
    except Exception:  # noqa: BLE001 - any decoder failure is the client's bad file
        raise BadImage(param, f"{param}: not a valid PNG or JPEG image") from None
    return img


def render_edit(base: bytes, mask: bytes | None, prompt: str, index: int, size: str | None,
                output_format: str = "png") -> bytes:
    """The edit of ``base``: the prompt's picture where ``mask`` is transparent (or blended)."""
    src = open_input(base, "image").convert("RGBA")
    msk = None
    if mask is not None:
        msk = open_input(mask, "mask")
        if msk.size != src.size:
            raise BadImage("mask", f"mask: must have the image's dimensions {src.size[0]}x"
                                   f"{src.size[1]} (got {msk.size[0]}x{msk.size[1]})")
        msk = msk.convert("RGBA")
    out_size = f"{src.size[0]}x{src.size[1]}" if not size or size == "auto" else size
    w, h = images.parse_size(out_size)
    src = src.resize((w, h))
    painted = Image.open(io.BytesIO(images.render_png(prompt, index, f"{w}x{h}"))).convert("RGBA")
    if msk is None:
        result = Image.blend(src, painted, 0.5)
    else:
        # edit where the mask is fully transparent (alpha 0): paste the picture there
        where = msk.resize((w, h)).getchannel("A").point(lambda a: 255 if a == 0 else 0)
        result = src.copy()
        result.paste(painted, (0, 0), where)
    return encode(result, output_format, None)


def usage(prompt: str, n: int, size: str | None, quality: str | None,
          input_images: int = 0) -> dict:
    """gpt-image-1's ``usage``: text tokens about len/4, 65 per input image tile, output by quality."""
    text_tokens = max(1, math.ceil(len(prompt) / 4))
    image_tokens = 65 * 4 * input_images
    per_image = _OUTPUT_TOKENS.get(quality or "auto", 1056)
    if size and size not in ("auto", "1024x1024"):
        per_image = int(per_image * 1.5)
    output_tokens = per_image * n
    input_tokens = text_tokens + image_tokens
    return {"total_tokens": input_tokens + output_tokens, "input_tokens": input_tokens,
            "output_tokens": output_tokens,
            "input_tokens_details": {"text_tokens": text_tokens, "image_tokens": image_tokens}}
