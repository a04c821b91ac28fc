"""Text colours that read in JupyterLab's Light and Dark themes (and where no theme is loaded).

A fixed colour suits one background: a dark green that reads on white is
about 2.4:1 on Lab's dark background. JupyterLab's own ``--jp-success-color1``
(and error, warn, info) change with the theme but fall just under the 4.5:1
text contrast of WCAG AA in one theme or the other. So each tone is the
theme's colour mixed with the theme's strongest text colour
(``--jp-ui-font-color0``: black in Light, white in Dark): darker on a light
background, lighter on a dark one, still recognisably green, red, amber or
blue. Where the variables are not defined the fallbacks give the same colours
as the Light theme.
"""
from __future__ import annotations

_BASE = {
    "success": "var(--jp-success-color1, #388e3c)",
    "error": "var(--jp-error-color1, #d32f2f)",
    "warn": "var(--jp-warn-color1, #f57c00)",
    "info": "var(--jp-info-color1, #0097a7)",
}
#: Secondary text (captions, counts): the theme's second text colour.
MUTED = "var(--jp-ui-font-color2, rgba(0, 0, 0, 0.6))"
#: How much of the theme colour is kept; the rest is the text colour.
_KEEP = {"success": 60, "error": 60, "warn": 50, "info": 55}

#: Run statuses and the tone they are shown in (others: "info").
STATUS_TONES = {"succeeded": "success", "failed": "error", "error": "error",
                "canceled": "warn", "stopped": "warn", "deleted": "muted"}


def tone(name: str) -> str:
    """A CSS colour for ``name``: "success", "error", "warn", "info" or "muted"."""
    if name == "muted":
        return MUTED
    base = _BASE[name]
    return (f"color-mix(in srgb, {base} {_KEEP[name]}%, "
            f"var(--jp-ui-font-color0, #000))")


def status_colour(status: str) -> str:
    """The colour a run status is shown in."""
    return tone(STATUS_TONES.get(status, "info"))


__all__ = ["MUTED", "STATUS_TONES", "status_colour", "tone"]
