"""OperationPanel: an operation's chain, a Run button, a progress bar and the log.

    panel = OperationPanel(aw.Operation(req, dl, write_to=True), data=prompts)
    task = panel.submit()      # what Run does: an asyncio.Task; awaiting it gives the RunResults

CSS classes: ``azimage-operation`` (root), ``azimage-operation-chain`` (the
chain, HTML), ``azimage-operation-run`` / ``azimage-operation-cancel``
(buttons), ``azimage-operation-status`` (status line; ``azimage-error``
while it shows a failure), plus the classes of ``BatchProgressBar``
(``azimage-batch``...) and ``OperationLogView`` (``azimage-oplog``...),
which shows only this operation's entries.
"""
from __future__ import annotations

import asyncio
import html
from typing import Any

from ipywidgets import HTML, Button, HBox, VBox

from ..activities.operation_chain import Operation
from ..activities.oplog import default_log
from .widget_batch import BatchProgressBar
from .widget_html import error_html
from .widget_operation_log import OperationLogView
from .widget_tree import OwnsParts, close_tree


def chain_html(op: Operation) -> str:
    steps = " &rarr; ".join(f"<span style='padding:2px 6px;border:1px solid #bbb;"
                            f"border-radius:4px'>{html.escape(s)}</span>" for s in op.chain())
    return f"<b>Operation {html.escape(op.name)}</b>: {steps}"


class OperationPanel(OwnsParts, VBox):
    """A view of one Operation; Run feeds it ``data``."""

    def __init__(self, operation: Operation, data: Any = None) -> None:
        self.operation = operation
        self.data = data
        self._tasks: set[asyncio.Task[Any]] = set()
        self._task: asyncio.Task[Any] | None = None
        self.chain = HTML(chain_html(operation))
        self.chain.add_class("azimage-operation-chain")
        self.run_button = Button(description="Run", icon="play", button_style="success",
                                 tooltip="Run every dataset through the chain")
        self.run_button.add_class("azimage-operation-run")
        self.run_button.on_click(lambda _b: self._click())
        self.cancel_button = Button(description="Cancel", icon="stop", disabled=True,
                                    tooltip="Stop; the service may still finish submitted jobs")
        self.cancel_button.add_class("azimage-operation-cancel")
        self.cancel_button.on_click(lambda _b: operation.cancel())
        self.status_html = HTML()
        self.status_html.add_class("azimage-operation-status")
        self.bar = BatchProgressBar(operation.progress)
        log = operation.log if operation.log is not None else default_log()
        self.log_view = OperationLogView(log, operation=operation.name,
                                         title=f"Operation log of {operation.name}")
        super().__init__([self.chain, HBox([self.run_button, self.cancel_button]),
                          self.status_html, self.bar, self.log_view])
        self.add_class("azimage-operation")
        operation.observe(self._on_status, names="state")
        self._on_status()
        self._built = True

    def _on_status(self, _change: Any = None) -> None:
        op = self.operation
        self.run_button.disabled = op.running
        self.cancel_button.disabled = not op.running
        if op.error:
            self.status_html.value = error_html(f"Failed · {op.message}")
            self.status_html.add_class("azimage-error")
        else:
            self.status_html.remove_class("azimage-error")
            self.status_html.value = (f"<b>{html.escape(str(op.status))}</b>"
                                      + (f" &middot; {html.escape(op.message)}" if op.message else ""))

    def submit(self, data: Any = None) -> asyncio.Task[Any]:
        """Run (``data`` or the panel's ``data``) as a task on the running loop."""
        if self._task is not None and not self._task.done():
            return self._task
        task = self.operation.start(self.data if data is None else data)
        self._task = task
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None and not self.operation.error:
            self.status_html.value = error_html(f"Failed · {exc}")
            self.status_html.add_class("azimage-error")

    def _click(self) -> None:
        try:
            self.submit()
        except Exception as exc:  # noqa: BLE001 - a click must show, never raise into the void
            self.status_html.value = error_html(str(exc))

    async def run(self, data: Any = None) -> Any:
        """``await panel.run(data)``: the operation's run, shown in this panel."""
        return await self.submit(data)

    def close_parts(self) -> None:
        for t in list(self._tasks):
            t.cancel()
        try:
            self.operation.unobserve(self._on_status, names="state")
        except ValueError:
            pass
        for child in list(self.children):
            close_tree(child)


__all__ = ["OperationPanel", "chain_html"]
