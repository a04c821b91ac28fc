"""MaskPainter: paint the edit mask over the image in the browser (anywidget + canvas).

An image edit takes an optional PNG mask of the image's size whose
transparent pixels mark where to edit. Drawing one in another program and
uploading it is a detour; here the user paints over the image with a brush
(and takes paint away with the eraser), and each finished stroke sends the
mask to Python as a PNG: opaque black everywhere, transparent where painted,
exactly the image's width and height.

The image goes to the browser as a custom message with a binary buffer, not
as a synced trait, so its bytes never enter widget state or a saved notebook;
a view that is rendered later (a reload) asks for it. The mask comes back the
same way and lands in ``mask`` (bytes, or None while nothing is painted),
after a check that it is a PNG of the image's size.

CSS classes inside the widget: ``azimage-mask-canvas`` (the paint layer over
``azimage-mask-image``), ``azimage-mask-brush``, ``azimage-mask-eraser``,
``azimage-mask-size`` (brush size), ``azimage-mask-clear`` and
``azimage-mask-note`` (what was painted, or why a mask was refused).
"""
from __future__ import annotations

import io
from typing import Any

import anywidget
from traitlets import Any as AnyTrait
from traitlets import Unicode

_ESM = r"""
function render({ model, el }) {
  el.classList.add("azimage-mp");
  el.innerHTML = `<div class="azimage-mp-tools">
    <button class="azimage-mask-brush" aria-pressed="true"
      title="Paint where the image may change">Brush</button>
    <button class="azimage-mask-eraser" aria-pressed="false" title="Take paint away">Eraser</button>
    <label>Size <input class="azimage-mask-size" type="range" min="2" max="200" value="40"></label>
    <button class="azimage-mask-clear" title="Remove all paint: no mask">Clear mask</button>
    <span class="azimage-mask-note" role="status"></span></div>
    <div class="azimage-mp-stage"><img class="azimage-mask-image" alt="image to edit">
    <canvas class="azimage-mask-canvas"></canvas></div>`;
  const q = (s) => el.querySelector(s);
  const img = q("img"), canvas = q("canvas"), note = q(".azimage-mask-note");
  const brush = q(".azimage-mask-brush"), eraser = q(".azimage-mask-eraser");
  const sizeInput = q(".azimage-mask-size");
  const ctx = canvas.getContext("2d");
  let erasing = false, drawing = false, painted = false, last = null, url = null;
  const setTool = (e) => {
    erasing = e;
    brush.setAttribute("aria-pressed", String(!e));
    eraser.setAttribute("aria-pressed", String(e));
  };
  brush.onclick = () => setTool(false);
  eraser.onclick = () => setTool(true);
  const showNote = () => { note.textContent = model.get("note"); };
  const pos = (ev) => {
    const r = canvas.getBoundingClientRect();
    return [(ev.clientX - r.left) * canvas.width / r.width,
            (ev.clientY - r.top) * canvas.height / r.height];
  };
  const stroke = (p) => {
    const r = canvas.getBoundingClientRect();
    ctx.globalCompositeOperation = erasing ? "destination-out" : "source-over";
    ctx.strokeStyle = ctx.fillStyle = "#ff00ff";
    ctx.lineCap = ctx.lineJoin = "round";
    ctx.lineWidth = Number(sizeInput.value) * canvas.width / Math.max(r.width, 1);
    ctx.beginPath();
    ctx.moveTo(...(last || p));
    ctx.lineTo(...p);
    ctx.stroke();
    last = p;
  };
  const send = () => {
    const data = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
    painted = false;
    for (let i = 3; i < data.length; i += 4) { if (data[i]) { painted = true; break; } }
    if (!painted) { model.send({ kind: "mask", empty: true }); return; }
    const out = document.createElement("canvas");
    out.width = canvas.width;
    out.height = canvas.height;
    const o = out.getContext("2d");
    o.fillStyle = "#000";
    o.fillRect(0, 0, out.width, out.height);
    o.globalCompositeOperation = "destination-out";
    o.drawImage(canvas, 0, 0);
    out.toBlob(async (blob) => {
      model.send({ kind: "mask", empty: false }, undefined, [await blob.arrayBuffer()]);
    }, "image/png");
  };
  canvas.addEventListener("pointerdown", (ev) => {
    if (!canvas.width) return;
    drawing = true;
    last = null;
    canvas.setPointerCapture(ev.pointerId);
    stroke(pos(ev));
  });
  canvas.addEventListener("pointermove", (ev) => { if (drawing) stroke(pos(ev)); });
  const end = () => { if (drawing) { drawing = false; last = null; send(); } };
  canvas.addEventListener("pointerup", end);
  canvas.addEventListener("pointercancel", end);
  q(".azimage-mask-clear").onclick = () => {
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    send();
  };
  const onMsg = (msg, buffers) => {
    if (!msg || msg.kind !== "image") return;
    if (url) URL.revokeObjectURL(url);
    url = null;
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    if (!buffers || !buffers.length) {
      img.removeAttribute("src");
      canvas.width = canvas.height = 0;
      el.classList.add("azimage-mp-empty");
      return;
    }
    el.classList.remove("azimage-mp-empty");
    url = URL.createObjectURL(new Blob([buffers[0]], { type: msg.mime }));
    img.onload = () => {
      canvas.width = img.naturalWidth;
      canvas.height = img.naturalHeight;
      el.dataset.imageSize = img.naturalWidth + "x" + img.naturalHeight;
    };
    img.src = url;
  };
  model.on("msg:custom", onMsg);
  model.on("change:note", showNote);
  showNote();
  el.classList.add("azimage-mp-empty");
  model.send({ kind: "need-image" });
  return () => {
    model.off("msg:custom", onMsg);
    model.off("change:note", showNote);
    if (url) URL.revokeObjectURL(url);
  };
}
export default { render };
"""

_CSS = """
.azimage-mp { display: flex; flex-direction: column; gap: 4px;
  font-family: var(--jp-ui-font-family, sans-serif); font-size: var(--jp-ui-font-size1, 13px);
  color: var(--jp-ui-font-color1, #1f1f1f); }
.azimage-mp.azimage-mp-empty { display: none; }
.azimage-mp-tools { display: flex; gap: 6px; align-items: center; flex-wrap: wrap; }
.azimage-mp-tools button { font: inherit; padding: 2px 10px; cursor: pointer;
  color: var(--jp-ui-font-color1, #1f1f1f); background: var(--jp-layout-color2, #eee);
  border: 1px solid var(--jp-border-color1, #9e9e9e); border-radius: 2px; }
.azimage-mp-tools button[aria-pressed="true"] { background: var(--jp-brand-color1, #1976d2);
  color: var(--jp-ui-inverse-font-color1, #fff); border-color: var(--jp-brand-color1, #1976d2); }
.azimage-mp-stage { position: relative; display: inline-block; align-self: flex-start;
  max-width: min(100%, var(--azimage-mask-max, 384px)); line-height: 0;
  border: 1px solid var(--jp-border-color2, #ccc); }
.azimage-mp-stage img { max-width: 100%; height: auto; display: block; }
.azimage-mp-stage canvas { position: absolute; inset: 0; width: 100%; height: 100%;
  opacity: 0.5; cursor: crosshair; touch-action: none; }
.azimage-mask-note { color: var(--jp-ui-font-color2, #555); }
"""


def image_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) of image bytes; None when Pillow cannot read them."""
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as im:
            width, height = im.size
            return int(width), int(height)
    except Exception:  # noqa: BLE001 - any decoding failure means "not an image"
        return None


def painted_fraction(mask: bytes) -> float:
    """The share of a mask's pixels that are transparent (0.0-1.0)."""
    from PIL import Image

    with Image.open(io.BytesIO(mask)) as im:
        alpha = im.convert("RGBA").getchannel("A")
        hist = alpha.histogram()
        return float(sum(hist[:128]) / max(1, alpha.width * alpha.height))


class MaskPainter(anywidget.AnyWidget):
    """Brush and eraser over an image; ``mask`` is the PNG the edit wants (or None)."""

    _esm = _ESM
    _css = _CSS

    note = Unicode("", help="What was painted, or why a mask was refused.").tag(sync=True)
    mask = AnyTrait(None, allow_none=True,
                    help="The painted mask as PNG bytes (None: nothing painted). Not synced.")

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._image: bytes | None = None
        self._mime = "image/png"
        self.size: tuple[int, int] | None = None
        self.on_msg(self._on_front_end)

    # -- Python -> browser ---------------------------------------------------------
    def set_image(self, data: bytes | None, mime: str = "image/png") -> None:
        """Paint over ``data`` (PNG or JPEG bytes); None hides the painter. Any old mask goes."""
        self._image = None if data is None else bytes(data)
        self._mime = mime
        self.size = None if data is None else image_size(self._image or b"")
        self.mask = None
        self.note = ""
        self._send_image()

    def _send_image(self) -> None:
        if self._image is None:
            self.send({"kind": "image"})
        else:
            self.send({"kind": "image", "mime": self._mime}, buffers=[self._image])

    # -- browser -> Python ---------------------------------------------------------
    def _on_front_end(self, _widget: Any, content: Any, buffers: Any) -> None:
        if not isinstance(content, dict):
            return
        kind = content.get("kind")
        if kind == "need-image":
            if self._image is not None:
                self._send_image()
        elif kind == "mask":
            if content.get("empty") or not buffers:
                self.mask = None
                self.note = "Nothing painted: no mask (the whole image may change)."
            else:
                self.receive_mask(bytes(buffers[0]))

    def receive_mask(self, data: bytes) -> bool:
        """Take a painted mask if it is a PNG of the image's size; else say why in ``note``."""
        from ..contract.edits import image_kind

        size = image_size(data)
        if image_kind(data) != "png" or size is None:
            self.note = "The painted mask was refused: not a PNG."
            return False
        if self.size is not None and size != self.size:
            self.note = (f"The painted mask was refused: it is {size[0]}x{size[1]}, the image "
                         f"{self.size[0]}x{self.size[1]}.")
            return False
        self.mask = data
        share = painted_fraction(data)
        self.note = f"Mask: {share:.0%} of the image painted (those pixels may change)."
        return True


__all__ = ["MaskPainter", "image_size", "painted_fraction"]
