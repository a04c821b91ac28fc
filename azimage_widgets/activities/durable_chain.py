"""An Operation's chain (Request Image -> Download Image -> write) through the batch journal.

``Operation.run`` runs each dataset with ``DurableChain.step``: the journal
(``store.journal``, beside the image store of the step that fetches the
images) records the dataset as ``DurableRun`` does for Request Image, so
running the same operation on the same datasets again (the same cell after a
kernel restart) resumes it:

- a dataset whose images were fetched (``done``) is not requested again: its
  DownloadResult is rebuilt from the image store, and its files are not
  written again when the write folder already holds them;
- a ``submitted`` one is polled by its operation id (submitted again if the
  service lost it); an ``unknown`` one (cut off mid-request) is sent again,
  logged as possibly billed twice.

Each step of each dataset is logged once (request, download, write), whatever
the retries under it. ``done`` is marked once the images are fetched and
stored: a failed write is that dataset's failure, and a resumed run writes it
again from the store without generating anything.
"""
from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..client.resume import DONE_BEFORE
from ..contract import ImageOperation
from ..contract.schemas import DOWNLOAD_IMAGE, REQUEST_IMAGE
from .chain_write import write_step
from .dataset_runs import StepContext, download_id
from .download_result import images_note, poll_and_fetch, remember_request
from .durable import DurableRun, batch_config
from .oplog import OperationLog
from .request_body import build_request

if TYPE_CHECKING:
    from .activity import Activity
    from .operation_chain import Operation

class DurableChain:
    """The journal of one Operation run; ``step`` runs one dataset through the chain."""

    def __init__(self, operation: Operation, datasets: Sequence[Mapping[str, Any]],
                 ctxs: Mapping[str, StepContext], *, log: OperationLog, folder: Path | None,
                 resume: bool = True) -> None:
        self.op = operation
        self.ctxs = ctxs
        self.log = log
        self.folder = folder
        fetcher = operation.download or operation.request
        assert fetcher is not None  # an operation has one of the two steps
        what = "operation:" + " -> ".join(f"{a.kind}:{a.name}" for a in operation.steps)
        config: dict[str, Any] = {a.name: batch_config(a) for a in operation.steps}
        if operation.named:  # an automatic name changes with every new Operation object
            config["operation"] = operation.name
        self.durable = DurableRun(fetcher, datasets, resume=resume, what=what, config=config,
                                  label=f"Operation {operation.name!r}")

    def summary(self) -> str:
        """What the progress bar says: resumed counts, or not durable and why."""
        return self.durable.summary()

    @property
    def not_durable(self) -> str:
        """Why this run cannot resume after a restart ('' when it can)."""
        return self.durable.not_durable

    def states(self) -> list[str]:
        """Each dataset's journal state, in order."""
        return self.durable.states()

    async def step(self, index: int, dataset: Mapping[str, Any], at: list[Activity]) -> Any:
        """One dataset through the chain; ``at[0]`` is kept on the step running (for errors)."""
        rq, dl = self.op.request, self.op.download
        rctx, dctx = self.ctxs.get(REQUEST_IMAGE), self.ctxs.get(DOWNLOAD_IMAGE)
        fctx = dctx or rctx
        assert fctx is not None
        clock = fctx.activity.clock
        t0 = t_dl = clock()
        durable = self.durable
        notes: list[str] = []
        op_id: str | None = None
        request: dict[str, Any] = {}
        kwargs: dict[str, Any] = {}
        at[0] = self.op.steps[0]
        try:
            if rq is not None:
                sent = build_request(rq, dataset)
                kwargs = sent.client_kwargs()
                request = {"prompt": sent.prompt, "size": sent.size}
            rebuilt = await durable.done_before(index, notes)
            if rebuilt is not None:
                return await self._resumed(index, rebuilt.id, rebuilt, request, at)

            async def submit() -> ImageOperation:
                nonlocal op_id, t_dl
                assert rq is not None and rctx is not None
                at[0] = rq
                sent_op: ImageOperation = await rctx.client.request_image(**kwargs)
                op_id, t_dl = sent_op.id, clock()
                rq.update_operation(op_id, status=sent_op.status, dataset=index,
                                    elapsed=round(clock() - rctx.started, 1))
                return sent_op

            async def follow(o: ImageOperation) -> Any:
                nonlocal op_id
                assert fctx is not None
                op_id = o.id
                at[0] = fctx.activity
                if dl is not None:
                    dl.update_operation(o.id, dataset=index)
                return await poll_and_fetch(fctx.activity, fctx.client, o.id, fctx.started)

            if rq is None:
                assert dctx is not None
                at[0] = dctx.activity
                op = ImageOperation(id=download_id(dctx.activity, dataset, dctx.namespace),
                                    status="notRunning")
                result = await follow(op)
            else:
                op, result = await durable.follow_through(index, submit, follow, notes)
            durable.done(index, op, result)
        except asyncio.CancelledError:
            self._ended(index, "canceled", t0, t_dl, op_id, at[0], notes)
            raise
        except Exception as exc:
            message = self._ended(index, "failed", t0, t_dl, op_id, at[0], notes, exc)
            durable.failed(index, op_id or getattr(exc, "operation_id", None), message)
            raise
        if rq is not None:
            remember_request(result, request["prompt"], request["size"], op)
        self._ended(index, "succeeded", t0, t_dl, op_id, fctx.activity, notes, result=result)
        await self._write(index, result, request, at, reuse=False)
        return result

    def _ended(self, index: int, status: str, t0: float, t_dl: float, op_id: str | None,
               where: Activity, notes: list[str], exc: Exception | None = None,
               result: Any = None) -> str:
        """Log the request and download steps of a dataset once each; the failure message."""
        rctx, dctx = self.ctxs.get(REQUEST_IMAGE), self.ctxs.get(DOWNLOAD_IMAGE)
        in_request = rctx is not None and where is rctx.activity
        last = rctx if in_request or dctx is None else dctx
        assert last is not None
        message = ""
        if rctx is not None and last is dctx:  # the request was done: it is logged first
            rctx.entry(index, "succeeded", t0, op_id, "; ".join([*notes, "submitted"]))
            notes = []
            t0 = t_dl
        if status == "succeeded":
            last.entry(index, "succeeded", t0, op_id, "; ".join([*notes, images_note(result)]))
        elif status == "canceled":
            last.canceled(index, t0, op_id)
        else:
            assert exc is not None
            _, message = last.failed(index, t0, op_id, exc, notes)
        return message

    async def _resumed(self, index: int, op_id: str | None, result: Any,
                       request: dict[str, Any], at: list[Activity]) -> Any:
        """A dataset done before: each step logged once as such, its files reused."""
        rctx, dctx = self.ctxs.get(REQUEST_IMAGE), self.ctxs.get(DOWNLOAD_IMAGE)
        for ctx in (rctx, dctx):
            if ctx is None:
                continue
            fetched = ctx is dctx or dctx is None
            ctx.entry(index, "succeeded", ctx.activity.clock(), op_id,
                      DONE_BEFORE + ("; " + images_note(result) if fetched else ""))
        if rctx is not None:
            remember_request(result, request["prompt"], request["size"],
                             ImageOperation(id=result.id, status="succeeded"))
        await self._write(index, result, request, at, reuse=True)
        return result

    async def _write(self, index: int, result: Any, request: dict[str, Any],
                     at: list[Activity], *, reuse: bool) -> None:
        if self.folder is None:
            return
        last = self.op.steps[-1]
        at[0] = last
        fields = {k: v for k, v in request.items() if k in ("prompt", "size")}
        await write_step(self.log, self.op.name, last.clock, self.folder,
                         (self.op.download or last).name, index, result, fields, reuse=reuse)


__all__ = ["DurableChain"]
