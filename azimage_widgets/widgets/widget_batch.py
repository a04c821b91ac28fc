"""A progress bar over a batch run (``run(data)``): done / total, failures counted.

    bar = BatchProgressBar(batch_progress(activity))   # or of an Operation: op.progress

CSS classes: ``azimage-batch`` (root HBox), ``azimage-batch-bar`` (the
IntProgress), ``azimage-batch-text`` (``7 / 20 (1 failed)``). Hidden until a
batch starts. The bar turns red ("danger") once a dataset has failed.
"""
from __future__ import annotations

from typing import Any

from ipywidgets import HTML, HBox, IntProgress

from ..activities.batch_progress import BatchProgress
from .widget_style import Look
from .widget_tree import OwnsParts, show


class BatchProgressBar(OwnsParts, HBox):
    """Follows a BatchProgress."""

    def __init__(self, progress: BatchProgress, look: Look | None = None) -> None:
        owns = look is None
        look = look or Look()
        self.progress = progress
        self.bar = IntProgress(min=0, max=1, value=0, description="Datasets",
                               **look(IntProgress, width="360px"))
        self.bar.add_class("azimage-batch-bar")
        self.text = HTML(**look(HTML))
        self.text.add_class("azimage-batch-text")
        super().__init__([self.bar, self.text], **look(HBox))
        self.add_class("azimage-batch")
        if owns:
            look.own(self)
        progress.observe(self._update, names=["total", "done", "failed", "running", "text"])
        self._update()
        self._built = True

    def _update(self, _change: Any = None) -> None:
        p = self.progress
        self.bar.max = max(1, p.total)
        self.bar.value = min(p.done, self.bar.max)
        self.bar.bar_style = "danger" if p.failed else ("success" if p.total and not p.running
                                                        and p.done == p.total else "info")
        state = "running" if p.running else "finished"
        self.text.value = f"{p.text} &middot; {state}" if p.total else ""
        show(self, p.total > 0)

    def close_parts(self) -> None:
        try:
            self.progress.unobserve(self._update,
                                    names=["total", "done", "failed", "running", "text"])
        except ValueError:
            pass


__all__ = ["BatchProgressBar"]
