"""Layout and Style models shared by the widgets of one panel (small widget state).

Every ipywidgets control syncs its own Layout model (about 1 kB of JSON, as
a front end receives it and as a saved notebook keeps it) and most have a
Style model (300-400 bytes), even when nothing about them differs from the
control next to it. ipywidgets lets one Layout or Style instance serve many
widgets, so a panel keeps one ``Look``: one model per distinct set of traits,
made on first use.

    look = Look()
    Button(description="Save", **look(Button, width="auto"))   # layout and style, shared
    Dropdown(description="Size", **look(Dropdown, style={"description_width": "initial"}))
    show(widget, False)   # widget_tree.show: swaps in the shared hidden variant

Rules:

- a shared Layout is never changed after it is handed out. Showing or hiding
  a widget (``widget_tree.show``) swaps its shared Layout for the variant
  with the other ``display`` (also shared: one hidden variant per look, not
  one Layout per hidden widget); only a widget's own Layout is changed in
  place. Whatever is resized or restyled later gets ``own_layout=True`` (a
  fresh, unshared Layout);
- shared models are closed with their owner, not with a widget that uses
  them: ``widget_tree.close_tree`` skips them and closes the Look of every
  owner it closes (``Look.own(widget)``), so closing a tile keeps the
  panel's shared layouts and closing the panel closes them all.
"""
from __future__ import annotations

from typing import Any

from ipywidgets import Layout, Widget
from traitlets import HasTraits

#: A style whose description takes the room it needs (long labels such as "Supported versions").
INITIAL = {"description_width": "initial"}
SHARED_MARK = "_azimage_shared"
OWNER_MARK = "_azimage_look"
VARIANT_MARK = "_azimage_layout_of"  # on a shared Layout: (its Look, its traits)


def style_class(widget_cls: type[HasTraits]) -> type | None:
    """The Style class a widget class syncs (None when it has no ``style`` trait)."""
    trait = widget_cls.class_traits().get("style")
    return getattr(trait, "klass", None) if trait is not None else None


def is_shared(widget: Widget) -> bool:
    return bool(getattr(widget, SHARED_MARK, False))


def owned_look(widget: Widget) -> Look | None:
    return getattr(widget, OWNER_MARK, None)


def set_display(widget: Widget, display: str | None) -> None:
    """Show (None) or hide ("none") ``widget`` without changing a Layout other widgets share.

    A shared Layout is swapped for its variant with that ``display``; a widget's
    own Layout is changed in place.
    """
    layout = widget.layout
    if layout.display == display:
        return
    origin = getattr(layout, VARIANT_MARK, None)
    if origin is not None and layout.comm is not None:
        look, traits = origin
        widget.layout = look.layout(**{**traits, "display": display})
    else:
        layout.display = display


class Look:
    """Layout and Style instances shared by the widgets of one owner (a panel, a grid)."""

    def __init__(self) -> None:
        self._models: dict[tuple[Any, ...], Widget] = {}

    @staticmethod
    def _key(kind: Any, traits: dict[str, Any]) -> tuple[Any, ...]:
        return (kind, tuple(sorted(traits.items())))

    def _shared(self, key: tuple[Any, ...], make: Any) -> Any:
        model = self._models.get(key)
        if model is None or model.comm is None:
            model = self._models[key] = make()
            setattr(model, SHARED_MARK, True)
        return model

    def layout(self, **traits: Any) -> Layout:
        """The shared Layout with these traits (the rest default)."""
        traits = {k: v for k, v in traits.items() if v is not None}

        def make() -> Layout:
            made = Layout(**traits)
            setattr(made, VARIANT_MARK, (self, traits))
            return made

        return self._shared(self._key(Layout, traits), make)

    def style(self, widget_cls: type, **traits: Any) -> Any:
        """The shared Style of ``widget_cls``'s kind with these traits; None when it has none."""
        klass = style_class(widget_cls)
        if klass is None:
            return None
        return self._shared(self._key(klass, traits), lambda: klass(**traits))

    def __call__(self, widget_cls: type, *, own_layout: bool = False,
                 style: dict[str, Any] | None = None, **layout: Any) -> dict[str, Any]:
        """Keyword arguments ``layout=`` and ``style=`` for a ``widget_cls`` built with this look.

        ``own_layout=True``: a new Layout of its own (for widgets whose layout is
        changed later other than by ``widget_tree.show``); otherwise the shared
        Layout with the ``layout`` traits.
        """
        kw: dict[str, Any] = {"layout": Layout(**layout) if own_layout else self.layout(**layout)}
        shared_style = self.style(widget_cls, **(style or {}))
        if shared_style is not None:
            kw["style"] = shared_style
        return kw

    def own(self, owner: Widget) -> Look:
        """Tie this look's models to ``owner``: ``close_tree(owner)`` closes them."""
        setattr(owner, OWNER_MARK, self)
        return self

    def models(self) -> list[Widget]:
        return [m for m in self._models.values() if m.comm is not None]

    def close(self) -> None:
        """Close every shared model (the owner's widgets are closed or about to be)."""
        for model in list(self._models.values()):
            if model.comm is not None:
                Widget.close(model)
        self._models.clear()


__all__ = ["INITIAL", "Look", "is_shared", "owned_look", "set_display", "style_class"]
