"""Operations: Request Image -> Download Image -> write to a temporary location, and chaining.

    op = Operation(req, dl, write_to="out/")      # or write_to=True: a fresh temp folder
    results = await op.run(["a fox", "a cat"])    # RunResults: a DownloadResult per dataset
    op2 = Operation(req2, dl2, on_success=op3)    # op3 runs when every dataset of op2 succeeded

Each dataset goes through the steps in turn: Request Image submits it (the
dataset's fields win over the activity's configuration), the id of its
response is the id of Download Image's request (data precedence again:
Download Image's own ID field is not used inside an operation), Download
Image waits and fetches the images, and the optional write step saves them
as ``<download activity name>-<dataset index>-<image number>.png`` with a
JSON sidecar ``<name>-<index>.json`` (prompt, size, n, id, created,
expires, the image files, refused images). Datasets flow through the chain
independently, at most ``concurrency`` at once, and keep their order in the
answer.

Every step of every dataset is written to the operation log (activity
column: the activity's name; the write step is logged as ``write``; the
operation column: this operation's name).

Continue on error: each step follows its own activity's setting, unless
``continue_on_error`` is given for the whole operation (the write step
follows the last activity's). A failing dataset whose step continues on
error is logged and kept as an exception in its place; otherwise the
operation stops with DatasetError naming the dataset and the step, and the
successes so far are in its ``.results``.

Chaining: ``on_success`` (an Operation, or a list of them) runs after a run
in which every dataset succeeded, with ``success_data`` as its data (a
value, or a callable taking this run's RunResults; default None: its own
configuration). Its RunResults is ``results.next``. A chain that would run
an operation again while it is running is refused (no loops).
"""
from __future__ import annotations

import asyncio
import itertools
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from traitlets import Unicode

from ..contract import ValidationError
from ..contract.schemas import DOWNLOAD_IMAGE, REQUEST_IMAGE
from .activity import Activity
from .chain_write import safe_name, write_result
from .dataset_runs import (
    DEFAULT_CONCURRENCY,
    DatasetError,
    RunResults,
    StepContext,
    batch_progress,
    run_datasets,
)
from .datasets import normalize
from .durable_chain import DurableChain
from .failures import error_info
from .oplog import OperationLog, default_log
from .run_state import HasRunState, RunStatus

_COUNTER = itertools.count(1)


def _activity(step: Any) -> Activity:
    """An activity, or the activity of a panel."""
    act = getattr(step, "activity", step)
    if not isinstance(act, Activity):
        raise ValidationError("steps", "each step must be a Request Image or Download Image "
                              "activity (or panel)", type(step).__name__)
    return act


class Operation(HasRunState):
    """A chain of activities run over datasets; see the module docstring.

    Its run is a RunState in ``state``, as an activity's is: ``state.value`` (also
    ``results``) is the RunResults of the last run, ``state.error`` the failure with its dataset.
    """

    name = Unicode()

    def __init__(self, *steps: Any, name: str | None = None,
                 write_to: str | Path | bool | None = None,
                 on_success: Operation | Iterable[Operation] | None = None,
                 success_data: Any = None,
                 continue_on_error: bool | None = None,
                 concurrency: int | None = None,
                 log: OperationLog | None = None,
                 namespace: Any = None) -> None:
        super().__init__()
        acts = [_activity(s) for s in steps]
        kinds = [a.kind for a in acts]
        if kinds not in ([REQUEST_IMAGE, DOWNLOAD_IMAGE], [REQUEST_IMAGE], [DOWNLOAD_IMAGE]):
            raise ValidationError("steps", "an operation is Request Image, then Download Image "
                                  "(either may be alone)", " -> ".join(a.label for a in acts))
        self.steps = acts
        self.request = acts[0] if kinds[0] == REQUEST_IMAGE else None
        self.download = next((a for a in acts if a.kind == DOWNLOAD_IMAGE), None)
        self.name = name or f"operation-{next(_COUNTER)}"
        #: Whether the name was given (then it is part of the batch journal's key).
        self.named = name is not None
        if write_to is not None and write_to is not False and self.download is None \
                and self.request is None:
            raise ValidationError("write_to", "needs a step that downloads images")
        self.write_to = write_to
        self.folder: Path | None = Path(write_to) if isinstance(write_to, (str, Path)) else None
        if on_success is None:
            self.on_success: list[Operation] = []
        elif isinstance(on_success, Operation):
            self.on_success = [on_success]
        else:
            self.on_success = list(on_success)
        for nxt in self.on_success:
            if not isinstance(nxt, Operation):
                raise ValidationError("on_success", "must be an Operation or a list of them",
                                      type(nxt).__name__)
        self.success_data = success_data
        self.continue_on_error = continue_on_error
        self.concurrency = DEFAULT_CONCURRENCY if concurrency is None else concurrency
        self.log = log
        self.namespace = namespace
        self._task: asyncio.Task[Any] | None = None
        #: The batch journal of the last run (``durable.not_durable``, ``durable.states()``).
        self.durable: DurableChain | None = None

    # -- description -----------------------------------------------------------------
    def chain(self) -> list[str]:
        """The steps, in order, as text (what the operation panel shows)."""
        out = [f"{a.label} {a.name!r}" for a in self.steps]
        if self.write_to not in (None, False):
            where = str(self.folder) if self.folder else "a temporary folder"
            out.append(f"Write to {where}")
        for nxt in self.on_success:
            out.append(f"on success: Operation {nxt.name!r}")
        return out

    def __repr__(self) -> str:
        return f"Operation({self.name!r}: {' -> '.join(self.chain())})"

    @property
    def results(self) -> RunResults | None:
        """The RunResults of the last run (``state.value``); None before any."""
        value = self.state.value
        return value if isinstance(value, RunResults) else None

    @property
    def progress(self) -> Any:
        """The BatchProgress of the current run (done / total / failed)."""
        return batch_progress(self)

    # -- running ---------------------------------------------------------------------
    def _coe(self, activity: Activity) -> bool:
        if self.continue_on_error is not None:
            return bool(self.continue_on_error)
        return bool(activity.continue_on_error)

    def _folder(self) -> Path | None:
        if self.write_to in (None, False):
            return None
        if self.folder is None:
            self.folder = Path(tempfile.mkdtemp(prefix=f"azimage-{safe_name(self.name)}-"))
        return self.folder

    async def run(self, data: Any = None, *, log: OperationLog | None = None,
                  namespace: Any = None, resume: bool = True,
                  _chain: frozenset[int] = frozenset()) -> RunResults:
        """Run every dataset through the chain; then the on-success operations.

        The chain goes through the batch journal (``durable_chain``): ``resume=True``
        finds the same operation run on the same datasets before (a restarted kernel)
        and only does what was left; ``resume=False`` starts it over (and the
        on-success operations too).
        """
        if id(self) in _chain:
            raise ValidationError("on_success", f"operation {self.name!r} is already running in "
                                  "this chain (a loop)")
        task = asyncio.current_task()
        if self._task is not None and not self._task.done() and self._task is not task:
            raise ValidationError("run", f"operation {self.name!r} is already running")
        self._task = task
        first = self.steps[0]
        datasets = normalize(data, key_field="prompt" if first.kind == REQUEST_IMAGE else "id")
        log = log if log is not None else (self.log if self.log is not None else default_log())
        ns = namespace if namespace is not None else self.namespace
        folder = self._folder()
        for a in self.steps:
            a.start_run()
            a.clear_operations()
        ctxs = {a.kind: StepContext(a, log, self.name, ns, follow=True) for a in self.steps}
        chain = self.durable = DurableChain(self, datasets, ctxs, log=log, folder=folder,
                                            resume=resume)
        batch_progress(self).note = chain.summary()
        self.state = self.state.begin()
        coe_of: dict[int, bool] = {}

        async def job(index: int, dataset: Any) -> Any:
            at: list[Activity] = [first]
            try:
                return await chain.step(index, dataset, at)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                exc.step = f"{at[0].label} {at[0].name!r}"  # type: ignore[attr-defined]
                coe_of[id(exc)] = self._coe(at[0])
                raise

        def canceled(partial: RunResults) -> None:  # what succeeded before the cancel is published
            partial.log = log
            self.state = self.state.with_outputs(value=partial)
            self._publish(partial)

        try:
            results = await run_datasets(self, datasets, job,
                                         continue_on_error=lambda e: coe_of.get(id(e), False),
                                         concurrency=self.concurrency,
                                         label=f"Operation {self.name!r}", on_cancel=canceled)
        except asyncio.CancelledError:
            for a in self.steps:
                a.cancel_run(a.operation_ids())
            self._end(RunStatus.CANCELED, "stopped; the service may still finish jobs already submitted")
            raise
        except DatasetError as exc:
            exc.results.log = log
            for a in self.steps:
                if a.running:
                    a.fail_run(exc.error, dataset=exc.index)
            self.state = self.state.with_outputs(value=exc.results).end(
                RunStatus.FAILED, str(exc), {**error_info(exc.error), "dataset": exc.index})
            raise
        results.log = log
        self.state = self.state.with_outputs(value=results)
        self._publish(results)
        n_fail = len(results.errors)
        for a in self.steps:
            a.end_run("completed" if n_fail else "succeeded",
                      f"{len(results) - n_fail} of {len(results)} datasets succeeded in "
                      f"operation {self.name!r}")
        if n_fail:
            self._end(RunStatus.COMPLETED, f"{len(results) - n_fail} of {len(results)} datasets succeeded; "
                                   f"{n_fail} failed (see the operation log).")
            return results
        self._end(RunStatus.SUCCEEDED, f"{len(results)} dataset{'s' if len(results) != 1 else ''} succeeded"
                  + (f"; images in {folder}" if folder else "") + ".")
        for nxt in self.on_success:
            data_next = self.success_data(results) if callable(self.success_data) \
                else self.success_data
            results.next = await nxt.run(data_next, log=log, namespace=ns, resume=resume,
                                         _chain=_chain | {id(self)})
        return results

    def _publish(self, results: RunResults) -> None:
        downloads = [r if hasattr(r, "slots") else None for r in results]
        if self.request is not None:
            self.request.publish(ids=[r.id for r in results
                                      if r is not None and not isinstance(r, BaseException)],
                                 results=downloads, value=results)
        if self.download is not None and any(downloads):
            self.download.publish(ids=[d.id for d in downloads if d is not None],
                                  results=downloads, value=results)

    def _end(self, status: RunStatus, message: str) -> None:
        self.state = self.state.end(status, message)

    def start(self, data: Any = None) -> asyncio.Task[RunResults]:
        """Run as a task on the running loop (what the panel's Run button does)."""
        loop = asyncio.get_running_loop()
        self._task = loop.create_task(self.run(data))
        return self._task

    def cancel(self) -> bool:
        task = self._task
        if task is None or task.done():
            return False
        task.cancel()
        return True


__all__ = ["Operation", "safe_name", "write_result"]
