"""The emulator's pictures number images from 1, as the panels' captions and overlay do."""
from __future__ import annotations

from PIL import ImageDraw

from azimage_widgets.emulator.images import render_png


def test_the_drawn_label_is_one_based(monkeypatch):
    drawn: list[str] = []
    original = ImageDraw.ImageDraw.text

    def spy(self, xy, text, *args, **kwargs):  # type: ignore[no-untyped-def]
        drawn.append(str(text))
        return original(self, xy, text, *args, **kwargs)

    monkeypatch.setattr(ImageDraw.ImageDraw, "text", spy)
    render_png("label check one", 0, "256x256")
    render_png("label check two", 2, "256x256")
    labels = [t for t in drawn if t.startswith(("image ", "#"))]
    assert labels == ["image 1  256x256", "image 3  256x256"]
