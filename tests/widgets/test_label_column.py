"""Optional settings: one label column, kept when a version change brings other controls."""
from __future__ import annotations

import uuid

import azimage_widgets as aw
from azimage_widgets.widgets import walk
from azimage_widgets.widgets.widget_tree import LABEL_COLUMN


def label_widths(panel) -> dict[str, str]:
    return {w.description: w.style.description_width for w in walk(panel.optional)
            if getattr(w, "description", "") and hasattr(getattr(w, "style", None), "description_width")}


def test_every_labelled_optional_control_has_the_same_label_width():
    p = aw.RequestImagePanel(name=f"lc-{uuid.uuid4().hex[:6]}", prompt="a fox", namespace={})
    widths = label_widths(p)
    assert len(widths) >= 4 and set(widths.values()) == {LABEL_COLUMN["description_width"]}, widths
    p.activity.api_version = "2025-04-01-preview"  # other settings (quality, output format, ...)
    widths = label_widths(p)
    assert set(widths.values()) == {LABEL_COLUMN["description_width"]}, widths
    # the Name field outside Optional settings keeps its own width
    assert p.fields["name"].input.style.description_width != LABEL_COLUMN["description_width"] \
        or "name" not in p.fields
    p.close()
