"""Walking and closing a tree of widgets (children, layout, style and any other widget trait)."""
from __future__ import annotations

from collections.abc import Iterator

from ipywidgets import Box, Widget

from .widget_style import Look, is_shared, owned_look, set_display


def walk(root: Widget) -> Iterator[Widget]:
    """Every widget reachable from ``root`` through its synced traits, once, in document order."""
    seen: set[int] = set()
    stack = [root]
    while stack:
        w = stack.pop()
        if id(w) in seen:
            continue
        seen.add(id(w))
        yield w
        found: list[Widget] = []
        for key in w.keys:
            try:
                value = getattr(w, key)
            except Exception:  # noqa: BLE001 - a closed or odd widget
                continue
            if isinstance(value, Widget):
                found.append(value)
            elif isinstance(value, (list, tuple)):
                found.extend(v for v in value if isinstance(v, Widget))
        stack.extend(reversed(found))


def close_tree(root: Widget) -> None:
    """Close ``root`` and every widget under it (their comms, so views disappear).

    Shared Layout/Style models (widget_style) are left open, since other widgets
    still use them, unless their owner is in the tree: the Look of every closed
    owner is closed with it.
    """
    widgets = list(walk(root))
    for w in widgets:
        if w.comm is not None and not is_shared(w):
            Widget.close(w)
    for w in widgets:
        look = owned_look(w)
        if look is not None:
            look.close()


def show(widget: Widget, visible: bool) -> None:
    """Show or hide a widget through its layout (a shared layout is swapped, never changed)."""
    set_display(widget, None if visible else "none")


def visible(widget: Widget) -> bool:
    return bool(widget.layout.display != "none")


class OwnsParts:
    """Mixin (before the ipywidgets base) for a widget whose ``close()`` also ends what its
    ``__init__`` started: tasks, observers on other objects, child widgets.

    ipywidgets' ``Widget.__del__`` calls ``close()`` on every instance, including one whose
    ``__init__`` raised (a refused name or setting): that widget has none of its parts, and
    touching them printed "Exception ignored in Widget.__del__". A subclass puts its cleanup
    in ``close_parts()`` and sets ``self._built = True`` once the parts exist; ``close()``
    runs the cleanup once, and only for a built widget, then closes the widget itself.
    """

    _built = False
    _parts_closed = False

    def close_parts(self) -> None:
        """End the parts made by ``__init__`` (runs at most once)."""

    def close(self) -> None:
        if self._built and not self._parts_closed:
            self._parts_closed = True
            self.close_parts()
        super().close()  # type: ignore[misc]  # the ipywidgets base after this mixin


#: The label column of a settings group: every labelled control's input starts at one x.
LABEL_COLUMN = {"description_width": "140px"}
ALIGN_MARK = "_azimage_aligned"  # on a box whose new children align_labels aligns


def align_labels(root: Widget, look: Look) -> None:
    """Give every labelled control under ``root`` (not buttons) the LABEL_COLUMN width, so
    their inputs line up; a checkbox's box is indented by the same width. Controls added
    later to any box under ``root`` are aligned when they arrive."""
    for w in walk(root):
        if isinstance(w, Box) and not getattr(w, ALIGN_MARK, False):
            setattr(w, ALIGN_MARK, True)
            w.observe(lambda _c: align_labels(root, look), names="children")
        style = getattr(w, "style", None)
        if style is None or not getattr(w, "description", "") or not hasattr(style, "description_width"):
            continue
        if style.description_width != LABEL_COLUMN["description_width"]:
            w.style = look(type(w), style=LABEL_COLUMN)["style"]
