"""The progress of an activity's current batch: what a panel's progress bar draws.

One BatchProgress per activity (or Operation), made on first use and kept
on the object; ``run(data)`` resets and updates it as datasets finish.
"""
from __future__ import annotations

from typing import Any

from traitlets import Bool, Float, HasTraits, Int, List, Unicode


class BatchProgress(HasTraits):
    """The progress of an activity's current batch (panels draw a progress bar from it)."""

    total = Int(0)
    done = Int(0)
    failed = Int(0)
    running = Bool(False)
    text = Unicode("")
    results: List[Any] = List(help="Per dataset: its DownloadResult (or None), for previews.")
    eta = Float(None, allow_none=True, help="Seconds still needed, from the deployments' pace.")
    note = Unicode("", help="Resumed from the batch journal, or why the batch is not durable.")


def batch_progress(activity: Any) -> BatchProgress:
    """The BatchProgress of an activity (made on first use)."""
    bp = activity.__dict__.get("_batch_progress")
    if not isinstance(bp, BatchProgress):
        bp = BatchProgress()
        activity.__dict__["_batch_progress"] = bp
    return bp


__all__ = ["BatchProgress", "batch_progress"]
