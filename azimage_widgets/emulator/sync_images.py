"""Images of the synchronous flow: output formats, transparent backgrounds, edits.

Built on ``images.render_png`` (the same deterministic picture of a prompt),
then re-encoded as the request asks: JPEG at the asked compression, a PNG
with a transparent surround for ``background="transparent"``, or, for an
edit, the input image with the prompt's picture painted where the mask is
transparent (everywhere, half blended, without a mask).
"""
from __future__ import annotations

import io

from PIL import Image, ImageDraw, ImageFilter

from . import images

#: What ``size="auto"`` renders.
AUTO_SIZE = "1024x1024"
#: Largest input image side the emulator decodes (its own limit; the service documents bytes only).
MAX_INPUT_SIDE = 4096


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
                output_format: str = "png", references: tuple[bytes, ...] = (),
                compression: int | None = None) -> bytes:
    """The edit of ``base``: the prompt's picture where ``mask`` is transparent (or blended).

    ``references`` (the other input images) show in the painted part as vertical
    bands blended over the picture, one band per image, so every input is used.
    """
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
    for i, ref in enumerate(references):
        band = (w * i // len(references), 0, w * (i + 1) // len(references), h)
        if band[2] <= band[0]:
            continue
        part = open_input(ref, f"image[{i + 1}]").convert("RGBA").resize(
            (band[2] - band[0], h))
        painted.paste(Image.blend(painted.crop(band), part, 0.6), band[:2])
    if msk is None:
        result = Image.blend(src, painted, 0.5)
    else:
        # edit where the mask is fully transparent (alpha 0): paste the picture there
        where = msk.resize((w, h)).getchannel("A").point(lambda a: 255 if a == 0 else 0)
        result = src.copy()
        result.paste(painted, (0, 0), where)
    return encode(result, output_format, compression)


def render_partial(final: bytes, step: int, steps: int, output_format: str = "png") -> bytes:
    """Partial image ``step`` (0-based) of ``steps`` before ``final``: a person sees it form.

    The top ``(step + 1) / (steps + 1)`` of the picture is shown, blurred less at
    each step; the rest is a heavy blur of the picture, a wash of its colours.
    Worked at a quarter of the size and saved with light compression, so a
    partial costs a fraction of the final image.
    """
    with Image.open(io.BytesIO(final)) as opened:
        img = opened.convert("RGBA" if opened.mode in ("RGBA", "LA", "P") else "RGB")
    w, h = img.size
    small = img.reduce(4) if min(w, h) >= 64 else img
    done = (step + 1) / (steps + 1)
    sw, sh = small.size
    wash = small.filter(ImageFilter.GaussianBlur(max(sw, sh) / 12))
    radius = (1.0 - done) * max(sw, sh) / 30
    shown = small.filter(ImageFilter.GaussianBlur(radius)) if radius >= 0.3 else small
    top = max(1, round(sh * done))
    wash.paste(shown.crop((0, 0, sw, top)), (0, 0))
    out = io.BytesIO()
    wash = wash.resize((w, h), Image.Resampling.BILINEAR)
    if output_format == "jpeg":
        wash.convert("RGB").save(out, format="JPEG", quality=80)
    else:
        wash.save(out, format="PNG", compress_level=1)
    return out.getvalue()
