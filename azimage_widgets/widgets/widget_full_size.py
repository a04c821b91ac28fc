"""FullSizeView: one image at full size in an overlay over the page (anywidget).

A full-size image placed in the widget tree opens below every thumbnail,
often out of sight, and an ``<img>`` stretched to the output's width
up-scales a small image. This view instead opens an overlay over the page,
where the user is looking: the image at its own size, or fitted down to the
window (never up), with a caption; a click anywhere or Escape closes it.

The image goes to the browser as a custom message with a binary buffer (not
in widget state); the browser says ``closed`` when the user closes it, which
calls ``on_close``. The overlay is attached to ``document.body`` by the model
(``initialize``), not by a view, so a widget shown twice opens one overlay.

CSS classes: ``azimage-full-overlay`` (the backdrop), ``azimage-full`` (the
``<img>``), ``azimage-full-caption``, ``azimage-full-close``.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anywidget

_ESM = r"""
function initialize({ model }) {
  let overlay = null, url = null;
  const close = (tell) => {
    if (!overlay) return;
    overlay.remove();
    overlay = null;
    if (url) URL.revokeObjectURL(url);
    url = null;
    document.removeEventListener("keydown", onKey, true);
    if (tell) model.send({ kind: "closed" });
  };
  const onKey = (ev) => {
    if (ev.key === "Escape") { ev.stopPropagation(); ev.preventDefault(); close(true); }
  };
  const open = (msg, buffers) => {
    close(false);
    url = URL.createObjectURL(new Blob([buffers[0]], { type: msg.mime || "image/png" }));
    overlay = document.createElement("div");
    overlay.className = "azimage-full-overlay";
    overlay.setAttribute("role", "dialog");
    overlay.setAttribute("aria-label", msg.caption || "image at full size");
    overlay.innerHTML = `<figure><img class="azimage-full" alt="">
      <figcaption><span class="azimage-full-caption"></span>
      <button class="azimage-full-close" title="Close (Escape)">Close</button></figcaption></figure>`;
    overlay.querySelector(".azimage-full-caption").textContent = msg.caption || "";
    overlay.querySelector("img").src = url;
    overlay.addEventListener("click", () => close(true));
    document.addEventListener("keydown", onKey, true);
    document.body.appendChild(overlay);
    overlay.querySelector("button").focus();
  };
  const onMsg = (msg, buffers) => {
    if (msg && msg.kind === "show" && buffers && buffers.length) open(msg, buffers);
    else if (msg && msg.kind === "hide") close(false);
  };
  model.on("msg:custom", onMsg);
  return () => { model.off("msg:custom", onMsg); close(false); };
}
function render({ el }) { el.classList.add("azimage-full-size-view"); }
export default { initialize, render };
"""

# Styles for an element outside the widget: anywidget adds _css to the page's <head>.
_CSS = """
.azimage-full-size-view { display: none; }
.azimage-full-overlay { position: fixed; inset: 0; z-index: 10000; display: flex;
  align-items: center; justify-content: center; background: rgba(0, 0, 0, 0.6); cursor: zoom-out; }
.azimage-full-overlay figure { margin: 0; padding: 8px; display: flex; flex-direction: column;
  gap: 6px; max-width: 96vw; max-height: 96vh; box-sizing: border-box;
  background: var(--jp-layout-color1, #fff); color: var(--jp-ui-font-color1, #1f1f1f);
  border: 1px solid var(--jp-border-color1, #9e9e9e);
  font-family: var(--jp-ui-font-family, sans-serif); font-size: var(--jp-ui-font-size1, 13px); }
.azimage-full-overlay img { display: block; align-self: center; max-width: calc(96vw - 18px);
  max-height: calc(96vh - 60px); width: auto; height: auto; object-fit: contain; }
.azimage-full-overlay figcaption { display: flex; gap: 8px; align-items: center;
  justify-content: space-between; }
.azimage-full-overlay button { font: inherit; padding: 2px 10px; cursor: pointer;
  color: var(--jp-ui-font-color1, #1f1f1f); background: var(--jp-layout-color2, #eee);
  border: 1px solid var(--jp-border-color1, #9e9e9e); }
"""


class FullSizeView(anywidget.AnyWidget):
    """Opens an image in an overlay over the page; ``showing`` is its caption while open."""

    _esm = _ESM
    _css = _CSS

    def __init__(self, on_close: Callable[[], None] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.showing: str | None = None
        self._on_close = on_close
        self.on_msg(self._on_front_end)

    def show_image(self, data: bytes, caption: str, mime: str = "image/png") -> None:
        """Open the overlay with ``data`` (replacing an open one)."""
        self.showing = caption
        self.send({"kind": "show", "caption": caption, "mime": mime}, buffers=[bytes(data)])

    def hide(self) -> None:
        """Close the overlay (if open)."""
        was_open = self.showing is not None
        self.showing = None
        if was_open:
            self.send({"kind": "hide"})

    def _on_front_end(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if isinstance(content, dict) and content.get("kind") == "closed":
            self.showing = None
            if self._on_close is not None:
                self._on_close()


__all__ = ["FullSizeView"]
