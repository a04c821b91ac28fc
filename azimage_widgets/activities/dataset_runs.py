"""``run(data)``: an activity over a batch of datasets, with the operation log.

    results = await req.run([{"prompt": "a fox"}, {"prompt": "a cat", "size": "256x256"}])
    results = await dl.run([{"id": "..."}, {"id": "[fox_ids][1]"}])

Each dataset (see ``datasets``) is merged over the activity's configuration
(the dataset's fields win) and checked against the activity's effective
request schema (``schema_edit``) before anything is sent. Datasets run at
most ``concurrency`` at once through the connection's shared client, with
the client's batch runner (``client.batch.run_batch``), and the answer
keeps the datasets' order: a ``RunResults`` list with, per dataset, its
result (Request Image: a DownloadResult when following through, else the
ImageOperation; Download Image: a DownloadResult) or its exception.

Every dataset is written to the operation log (succeeded, failed or
canceled, with its operation id, message and duration). With
``continue_on_error`` a failing dataset (validation, API error, content
filter, timeout) stays an exception in its place and the others go on;
without it the run stops at the first failure, cancels the datasets still
running (logged as canceled: the service may still finish them) and raises
``DatasetError`` naming the dataset; its ``.results`` keeps every success.

Choices where the issue is silent: a run with some failures under continue
on error ends with status ``completed`` (``succeeded`` only when all did),
and its message counts the failures; the activity's ``error`` is set only
when a run stops. Concurrency defaults to 8.
"""
from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..client.batch import BatchError, run_batch
from ..client.pacing import batch_eta, format_eta
from ..contract import ValidationError
from ..contract.schemas import DOWNLOAD_IMAGE, REQUEST_IMAGE
from .batch_progress import BatchProgress, batch_progress
from .datasets import normalize
from .download_result import images_note, poll_and_fetch, remember_request
from .durable import DurableRun
from .failures import error_info, format_error
from .oplog import OperationLog, default_log
from .request_body import build_request
from .variables import bind, operation_id

if TYPE_CHECKING:
    from .activity import Activity

DEFAULT_CONCURRENCY = 8
_CONTRACT_FIELDS = ("prompt", "n", "size", "user")


class RunResults(list[Any]):
    """One entry per dataset, in order: the dataset's result, or its exception."""

    def __init__(self, items: Iterable[Any] = (), log: OperationLog | None = None) -> None:
        super().__init__(items)
        self.log = log
        self.next: Any = None  # the RunResults of an operation chained on success

    @property
    def errors(self) -> dict[int, BaseException]:
        """Dataset index -> exception, for the datasets that failed."""
        return {i: r for i, r in enumerate(self) if isinstance(r, BaseException)}

    @property
    def succeeded(self) -> list[Any]:
        """The results of the datasets that succeeded, in dataset order."""
        return [r for r in self if r is not None and not isinstance(r, BaseException)]

    @property
    def ok(self) -> bool:
        return all(r is not None and not isinstance(r, BaseException) for r in self)

    def __repr__(self) -> str:
        return f"RunResults({len(self.succeeded)} succeeded, {len(self.errors)} failed)"


class DatasetError(BatchError):
    """A run stopped at a failing dataset (continue on error off).

    ``index`` is the dataset, ``error`` its exception, ``activity`` the
    activity that failed, ``results`` the RunResults with every success kept
    (None for datasets cancelled or never started).
    """

    results: RunResults

    def __init__(self, index: int, error: BaseException, results: RunResults,
                 activity: str = "") -> None:
        self.activity = activity
        super().__init__(index, error, results)
        done = len([r for r in results if r is not None and not isinstance(r, BaseException)])
        step = getattr(error, "step", "")
        who = f"{activity}: " if activity else ""
        if step and step != activity:
            who += f"{step}: "
        self.args = (f"{who}dataset {index} failed: {format_error(error_info(error))} "
                     f"({done} of {len(results)} datasets had succeeded; the run stopped)",)

    def __str__(self) -> str:
        return str(self.args[0])


class DatasetValidationError(ValidationError, DatasetError):
    """A run stopped at a dataset the contract refuses: a DatasetError that is also the
    ValidationError naming the field (``field``, ``limit``, ``value`` are the dataset's)."""

    def __init__(self, index: int, error: ValidationError, results: RunResults,
                 activity: str = "") -> None:
        DatasetError.__init__(self, index, error, results, activity)
        self.field, self.limit, self.value = error.field, error.limit, error.value


def dataset_error(index: int, error: BaseException, results: RunResults,
                  activity: str = "") -> DatasetError:
    """The DatasetError of a stopped run (a DatasetValidationError for a refused value)."""
    if isinstance(error, ValidationError):
        return DatasetValidationError(index, error, results, activity)
    return DatasetError(index, error, results, activity)


@dataclass
class _Failure:
    """A dataset that failed while continue on error was on (becomes its exception)."""

    error: BaseException


# -- per-dataset values --------------------------------------------------------------
def download_id(activity: Any, dataset: Mapping[str, Any], namespace: Any) -> str:
    """The operation id of one Download Image dataset (its ``id`` wins over the ID field)."""
    for key in dataset:
        if key != "id":
            raise ValidationError(key, "is not a field of the Download Image request schema (id)")
    if "id" not in dataset:
        return str(activity.resolve_id(namespace))
    return operation_id(dataset["id"], namespace if namespace is not None else activity.namespace)


# -- one step of one dataset -----------------------------------------------------------
class StepContext:
    """What a running step needs: the activity, client, log, clock, and who runs it."""

    def __init__(self, activity: Activity, log: OperationLog, operation: str,
                 namespace: Any, follow: bool) -> None:
        self.activity = activity
        self.log = log
        self.operation = operation
        self.namespace = namespace
        self.follow = follow
        self.client = activity.client()
        self.started = activity.clock()

    def entry(self, index: int, status: str, t0: float, op_id: str | None = None,
              message: str = "", code: str | None = None) -> None:
        a = self.activity
        self.log.add(activity=a.name, kind=a.kind, dataset=index, status=status,
                     operation_id=op_id, message=message,
                     duration=a.clock() - t0, operation=self.operation, code=code)

    def canceled(self, index: int, t0: float, op_id: str | None) -> None:
        """Log a dataset stopped by a cancel (the service may still make its images)."""
        self.entry(index, "canceled", t0, op_id,
                   "stopped; the service may still finish the job" if op_id else
                   "stopped before the service answered; it may still have accepted the request")

    def failed(self, index: int, t0: float, op_id: str | None, exc: Exception,
               notes: Sequence[str] = ()) -> tuple[str | None, str]:
        """Log a dataset's failure; its operation id (from ``exc`` when none yet) and message."""
        info = error_info(exc)
        op_id = op_id or getattr(exc, "operation_id", None)
        message = format_error(info)
        self.entry(index, "failed", t0, op_id, "; ".join([*notes, message]), info.get("code"))
        return op_id, message


async def run_step(ctx: StepContext, index: int, dataset: Mapping[str, Any]) -> Any:
    """One activity on one dataset, logged; the result, or raises the dataset's failure."""
    a = ctx.activity
    t0 = a.clock()
    op_id: str | None = None
    try:
        if a.kind == REQUEST_IMAGE:
            prepared = build_request(a, dataset)
            kwargs = prepared.client_kwargs()
            op = await ctx.client.request_image(**kwargs)
            op_id = op.id
            a.update_operation(op.id, status=op.status, dataset=index,
                            elapsed=round(a.clock() - ctx.started, 1))
            if ctx.follow:
                result: Any = await poll_and_fetch(a, ctx.client, op.id, ctx.started)
                note = images_note(result)
            else:
                result = op
                note = "submitted"
            result_prompt = kwargs["prompt"]
            remember_request(result, result_prompt, kwargs.get("size"), op)
        elif a.kind == DOWNLOAD_IMAGE:
            op_id = download_id(a, dataset, ctx.namespace)
            a.update_operation(op_id, dataset=index)
            result = await poll_and_fetch(a, ctx.client, op_id, ctx.started)
            note = images_note(result)
        else:  # pragma: no cover - only two kinds exist
            raise ValidationError("activity", f"cannot run a {a.kind} activity")
    except asyncio.CancelledError:
        ctx.canceled(index, t0, op_id)
        raise
    except Exception as exc:
        ctx.failed(index, t0, op_id, exc)
        raise
    ctx.entry(index, "succeeded", t0, op_id, note)
    return result


# -- the batch -------------------------------------------------------------------------
Job = Callable[[int, Mapping[str, Any]], Awaitable[Any]]


async def run_datasets(
    activity: Any,
    datasets: Sequence[Mapping[str, Any]],
    job: Job,
    *,
    continue_on_error: bool | Callable[[BaseException], bool],
    concurrency: int,
    label: str,
    on_cancel: Callable[[RunResults], None] | None = None,
) -> RunResults:
    """Run ``job(index, dataset)`` for every dataset with the activity's run state and progress bar.

    Cancelled: ``on_cancel`` gets the RunResults of the datasets finished so far
    (None for the others) before the cancellation goes on.
    """
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or not 1 <= concurrency <= 1000:
        raise ValidationError("concurrency", "must be a whole number from 1 to 1000", concurrency)
    bp = batch_progress(activity)
    total = len(datasets)
    with bp.hold_trait_notifications():
        bp.total, bp.done, bp.failed, bp.running = total, 0, 0, True
        bp.results = [None] * total
        bp.eta = None
        bp.text = _progress_text(bp, 0, total)
    per_item = max(int(getattr(activity, "n", 1) or 1), 1)

    async def one(i: int) -> Any:
        try:
            return await job(i, datasets[i])
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            go_on = continue_on_error(exc) if callable(continue_on_error) else continue_on_error
            if go_on:
                return _Failure(exc)
            raise

    finished: list[Any] = [None] * total

    def progress(done: int, total_: int, index: int, outcome: Any) -> None:
        finished[index] = outcome
        bp.done = done
        if isinstance(outcome, (_Failure, BaseException)):
            bp.failed += 1
        else:
            shown = list(bp.results)
            shown[index] = outcome if hasattr(outcome, "slots") else None
            bp.results = shown
        try:
            bp.eta = batch_eta(activity.connection, (total_ - done) * per_item, done=done,
                               total=total_, elapsed=clock() - started)
        except Exception:  # noqa: BLE001 - an estimate never fails a run
            bp.eta = None
        bp.text = _progress_text(bp, done, total_)

    clock = getattr(activity, "clock", time.monotonic)  # an Operation runs datasets too
    started = clock()
    jobs = [lambda i=i: one(i) for i in range(total)]
    try:
        raw = await run_batch(jobs, concurrency=concurrency, continue_on_error=False,
                              on_progress=progress)
    except asyncio.CancelledError:
        bp.running = False
        if on_cancel is not None:
            on_cancel(RunResults([_unwrap(r) for r in finished]))
        raise
    except BatchError as exc:
        partial = RunResults([_unwrap(r) for r in exc.results])
        partial[exc.index] = exc.error
        bp.running = False
        raise dataset_error(exc.index, exc.error, partial, label) from exc.error
    finally:
        bp.running = False
    return RunResults([_unwrap(r) for r in raw])


def _progress_text(bp: BatchProgress, done: int, total: int) -> str:
    """``7 / 20 (1 failed) · about 13 s left · <note>``."""
    parts = [f"{done} / {total}" + (f" ({bp.failed} failed)" if bp.failed else "")]
    if done < total and bp.eta is not None:
        parts.append(format_eta(bp.eta))
    if bp.note:
        parts.append(bp.note)
    return " · ".join(parts)


def _unwrap(r: Any) -> Any:
    return r.error if isinstance(r, _Failure) else r


async def run_activity(
    activity: Activity,
    data: Any = None,
    *,
    namespace: Any = None,
    log: OperationLog | None = None,
    concurrency: int | None = None,
    continue_on_error: bool | None = None,
    follow: bool = True,
    operation: str = "",
    resume: bool = True,
) -> RunResults:
    """What ``activity.run(data)`` does; see the module docstring.

    A Request Image batch goes through the batch journal (``durable``):
    ``resume=True`` finds the same batch run before (a restarted kernel) and
    only does what was left; ``resume=False`` starts it over.
    """
    key = "prompt" if activity.kind == REQUEST_IMAGE else "id"
    datasets = normalize(data, key_field=key)
    log = log if log is not None else default_log()
    coe = activity.continue_on_error if continue_on_error is None else bool(continue_on_error)
    activity.start_run()
    activity.clear_operations()
    ctx = StepContext(activity, log, operation, namespace, follow)
    label = f"{activity.label} {activity.name!r}"
    step = run_step
    batch_progress(activity).note = ""
    if activity.kind == REQUEST_IMAGE:
        durable = DurableRun(activity, datasets, resume=resume, follow=follow)
        step = durable.step
        batch_progress(activity).note = durable.summary()

    def canceled(partial: RunResults) -> None:  # what succeeded before the cancel is published
        partial.log = log
        _publish(activity, partial, namespace)

    try:
        results = await run_datasets(activity, datasets, lambda i, ds: step(ctx, i, ds),
                                     continue_on_error=coe,
                                     concurrency=DEFAULT_CONCURRENCY if concurrency is None else concurrency,
                                     label=label, on_cancel=canceled)
    except asyncio.CancelledError:
        activity.cancel_run(activity.operation_ids())
        raise
    except DatasetError as exc:
        exc.results.log = log
        _publish(activity, exc.results, namespace)
        activity.fail_run(exc.error, dataset=exc.index)
        raise
    results.log = log
    _publish(activity, results, namespace)
    n_fail = len(results.errors)
    if n_fail:
        activity.end_run("completed", f"{len(results) - n_fail} of {len(results)} datasets "
                                      f"succeeded; {n_fail} failed (see the operation log).")
    else:
        activity.end_run("succeeded", f"{len(results)} dataset{'s' if len(results) != 1 else ''} "
                                      "succeeded.")
    return results


def _publish(activity: Any, results: RunResults, namespace: Any) -> None:
    """Set the activity's result traits and bind ``output``."""
    if activity.kind == REQUEST_IMAGE:
        found = [getattr(r, "request", {}).get("operation") if hasattr(r, "request") else r
                 for r in results]
        ops: list[Any] = [o for o in found if o is not None and not isinstance(o, BaseException)
                          and hasattr(o, "id")]
        activity.operations = ops
        downloads = [r if hasattr(r, "slots") else None for r in results]
        activity.publish(ids=[o.id for o in ops],
                         results=downloads if any(d is not None for d in downloads) else None,
                         value=results)
    else:
        activity.publish(ids=[r.id for r in results if hasattr(r, "slots")],
                         results=[r if hasattr(r, "slots") else None for r in results],
                         value=results)
    if activity.output:
        bind(activity.output, results, namespace if namespace is not None else activity.namespace)


__all__ = ["BatchProgress", "DEFAULT_CONCURRENCY", "DatasetError", "DatasetValidationError",
           "RunResults", "StepContext", "batch_progress", "dataset_error", "download_id",
           "run_activity", "run_datasets", "run_step"]
