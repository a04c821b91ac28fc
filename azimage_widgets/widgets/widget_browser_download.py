"""BrowserDownload: hand bytes from the kernel to the viewer's browser as a file download.

A file written by the kernel lands on the server, which in Voila or on a
remote JupyterHub is not the viewer's computer. ``BrowserDownload.download``
sends the bytes as a custom comm message with a binary buffer; the widget's
ESM turns it into a ``Blob`` and clicks an ``<a download>`` for it, so the
browser saves the file where it saves downloads (JupyterLab, Notebook 7,
Voila). The browser then answers with a ``delivered`` message, which calls
the ``on_delivered`` callback given with the download (the panels use it to
say "downloaded" beside the button that was clicked).

The handler lives in the ESM's ``initialize`` (once per model, not per view),
so a widget shown twice still downloads once. Without a front end (a script,
nbclient) nothing is delivered and ``on_delivered`` is never called.
"""
from __future__ import annotations

import itertools
import zipfile
from collections.abc import Callable, Iterable
from io import BytesIO
from typing import Any

import anywidget

_ESM = r"""
function initialize({ model }) {
  const onMsg = (msg, buffers) => {
    if (!msg || msg.kind !== "download" || !buffers || !buffers.length) return;
    const blob = new Blob([buffers[0]], { type: msg.mime || "application/octet-stream" });
    const url = URL.createObjectURL(blob);
    const a = document.createElement("a");
    a.href = url;
    a.download = msg.name;
    a.style.display = "none";
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60000);
    model.send({ kind: "delivered", id: msg.id, name: msg.name, size: blob.size });
  };
  model.on("msg:custom", onMsg);
  return () => model.off("msg:custom", onMsg);
}
function render({ el }) { el.classList.add("azimage-browser-download"); }
export default { initialize, render };
"""

_CSS = ".azimage-browser-download { display: none; }"

Delivered = Callable[[str, int], None]
"""Called with the file's name and size once the browser made the download."""


def size_text(n: int) -> str:
    """``n`` bytes for a person: "812 B", "45 kB", "3.2 MB"."""
    if n < 1024:
        return f"{n} B"
    if n < 1024 * 1024:
        return f"{round(n / 1024)} kB"
    return f"{n / (1024 * 1024):.1f} MB"


def zip_bytes(files: Iterable[tuple[str, bytes]]) -> bytes:
    """One zip archive of ``(name, bytes)`` files (stored: images are compressed already);
    a repeated name gets ``-2``, ``-3`` ... before its extension."""
    buf = BytesIO()
    seen: set[str] = set()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED) as zf:
        for name, data in files:
            zf.writestr(unique_name(name, seen), data)
    return buf.getvalue()


def unique_name(name: str, taken: Callable[[str], bool] | set[str]) -> str:
    """``name``, or ``stem-2.ext``, ``stem-3.ext`` ... the first one not ``taken``.

    ``taken`` is a set (the name is added to it) or a predicate (e.g. a path exists).
    """
    is_taken = taken.__contains__ if isinstance(taken, set) else taken
    stem, dot, ext = name.rpartition(".")
    if not dot:
        stem, ext = name, ""
    candidate = name
    for i in itertools.count(2):
        if not is_taken(candidate):
            break
        candidate = f"{stem}-{i}{dot}{ext}"
    if isinstance(taken, set):
        taken.add(candidate)
    return candidate


class BrowserDownload(anywidget.AnyWidget):
    """An invisible widget that makes the viewer's browser download bytes sent from Python."""

    _esm = _ESM
    _css = _CSS

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._ids = itertools.count(1)
        self._waiting: dict[int, Delivered] = {}
        self.delivered: list[tuple[str, int]] = []  # (name, size) the browser confirmed
        self.on_msg(self._on_front_end)

    def download(self, data: bytes, name: str, mime: str = "application/octet-stream",
                 on_delivered: Delivered | None = None) -> None:
        """Send ``data`` to the browser, which saves it as ``name``."""
        request = next(self._ids)
        if on_delivered is not None:
            self._waiting[request] = on_delivered
        self.send({"kind": "download", "id": request, "name": name, "mime": mime},
                  buffers=[bytes(data)])

    def _on_front_end(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if not isinstance(content, dict) or content.get("kind") != "delivered":
            return
        name, size = str(content.get("name", "")), int(content.get("size") or 0)
        self.delivered.append((name, size))
        callback = self._waiting.pop(content.get("id"), None)  # type: ignore[arg-type]
        if callback is not None:
            callback(name, size)


__all__ = ["BrowserDownload", "size_text", "unique_name", "zip_bytes"]
