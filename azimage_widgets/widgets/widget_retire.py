"""A panel replaced by a newer one of the same name: kept on the page, disabled, saying so.

Closing its widgets would leave its cell showing "model not found" after a page reload;
so the panel stays open with every control disabled and a notice on top naming the newer
panel and where it was made: the notebook cell (IPython's execution count) and the time.
CSS classes: ``azimage-retired`` (the panel), ``azimage-replaced`` (the notice).
"""
from __future__ import annotations

import html
import sys
import time
from typing import Any

from ipywidgets import HTML

from .widget_colours import tone
from .widget_tree import walk


def where_created() -> str:
    """``"(created in cell [N] at HH:MM:SS)"``, or ``"(created at HH:MM:SS)"`` outside IPython."""
    stamp = time.strftime("%H:%M:%S")
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    count = getattr(shell, "execution_count", None)
    if isinstance(count, int) and count > 1 and getattr(shell, "kernel", None) is not None:
        # IPython counts the running cell before it runs: its prompt shows the count less one
        return f"(created in cell [{count - 1}] at {stamp})"
    return f"(created at {stamp})"


def retire(panel: Any, message: str) -> None:
    """Stop ``panel``'s tasks and field bindings, disable every control, show ``message`` on top."""
    for task in list(panel._tasks):
        task.cancel()
    for binding in panel.bindings.values():
        binding.unbind()
    panel.bindings.clear()
    for w in walk(panel):
        if w.has_trait("disabled"):
            w.disabled = True
    notice = HTML(f'<span style="color:{tone("error")}">{html.escape(message, quote=False)}</span>',
                  **panel.look(HTML))
    notice.add_class("azimage-replaced")
    panel.retired_notice = notice
    panel.add_class("azimage-retired")
    panel.children = (notice, *panel.children)


__all__ = ["retire", "where_created"]
