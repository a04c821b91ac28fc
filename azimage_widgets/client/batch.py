"""Run many jobs with bounded concurrency, keeping order and every success.

``run_batch`` is what ``ImageClient.generate_many`` uses: at most
``concurrency`` jobs run at once; the answer has one entry per input, in
input order. With ``continue_on_error`` a failure becomes that entry; without
it, the first failure stops new launches, cancels the rest, and raises a
BatchError naming the failed index and carrying what finished.

A progress callback that raises is the caller's bug, not the batch's: it is
logged and kept in ``progress_errors`` (of the answer, or of the BatchError),
and every job still runs to its end, so no finished result is thrown away and
no accepted job is left behind.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any, TypeVar

from ..contract.errors import AzimageError, ValidationError
from .poll import call_back

log = logging.getLogger("azimage_widgets.client")

T = TypeVar("T")

#: on_progress(done, total, index, outcome): outcome is the result or the exception.
ProgressCallback = Callable[[int, int, int, Any], Any]


class BatchError(AzimageError):
    """A batch stopped at its first failure (``continue_on_error=False``).

    ``index`` is the input that failed, ``error`` its exception, and
    ``results`` one entry per input: the result of each job that finished,
    None for those cancelled or never started.
    """

    def __init__(self, index: int, error: BaseException, results: list[Any],
                 progress_errors: list[Exception] | None = None) -> None:
        self.index = index
        self.error = error
        self.results = results
        #: What the on_progress callback raised, in order (it did not stop the batch).
        self.progress_errors = list(progress_errors or [])
        done = sum(1 for r in results if r is not None and not isinstance(r, BaseException))
        super().__init__(
            f"item {index} failed: {type(error).__name__}: {error} "
            f"({done} of {len(results)} finished before the batch stopped)")


def prompt_list(prompts: object, concurrency: object) -> list[str]:
    """``prompts`` as a list; ValidationError for a lone string or a concurrency out of 1..1000."""
    if isinstance(prompts, (str, bytes)) or not isinstance(prompts, Iterable):
        raise ValidationError("prompts", "must be a list of prompt strings",
                              type(prompts).__name__)
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) \
            or not 1 <= concurrency <= 1000:
        raise ValidationError("concurrency", "must be a whole number from 1 to 1000", concurrency)
    return list(prompts)


def prompt_jobs(prompts: Sequence[str], *, check: Callable[[str], object],
                run: Callable[[int, str], Awaitable[T]], continue_on_error: bool
                ) -> list[Callable[[], Awaitable[T]]]:
    """One job per prompt, ``run(index, prompt)``, each checked first by ``check`` (raising
    ValidationError).

    An invalid prompt's ValidationError names its index (``prompts[i].field``):
    with ``continue_on_error`` it is that entry's outcome, without it it is
    raised here, before any job runs.
    """
    jobs: list[Callable[[], Awaitable[T]]] = []
    for i, prompt in enumerate(prompts):
        try:
            check(prompt)
        except ValidationError as exc:
            err = ValidationError(f"prompts[{i}].{exc.field}", exc.limit, exc.value)
            if not continue_on_error:
                raise err from None
            jobs.append(_raiser(err))
            continue
        jobs.append(lambda i=i, p=prompt: run(i, p))  # type: ignore[misc]
    return jobs


def _raiser(err: Exception) -> Callable[[], Awaitable[Any]]:
    async def job() -> Any:
        raise err
    return job


class BatchResults(list[Any]):
    """One entry per input, in order; ``progress_errors``: what on_progress raised, in order."""

    progress_errors: list[Exception]

    def __init__(self, entries: list[Any], progress_errors: list[Exception]) -> None:
        super().__init__(entries)
        self.progress_errors = progress_errors


async def run_batch(
    jobs: Sequence[Callable[[], Awaitable[T]]],
    *,
    concurrency: int,
    continue_on_error: bool = True,
    on_progress: ProgressCallback | None = None,
) -> list[T | Exception]:
    """Run ``jobs`` (zero-argument coroutine factories); see the module docstring."""
    total = len(jobs)
    results: list[Any] = [None] * total
    sem = asyncio.Semaphore(concurrency)
    stop = asyncio.Event()
    failed: list[tuple[int, Exception]] = []
    progress_errors: list[Exception] = []
    done = 0

    async def report(index: int, outcome: Any) -> None:
        try:
            await call_back(on_progress, done, total, index, outcome)
        except Exception as exc:  # noqa: BLE001 - the callback's bug must not stop the batch
            log.warning("on_progress raised %s after item %d; the batch goes on",
                        type(exc).__name__, index, exc_info=exc)
            progress_errors.append(exc)

    async def one(index: int) -> None:
        nonlocal done
        async with sem:
            if stop.is_set():
                return
            try:
                outcome: Any = await jobs[index]()
            except Exception as exc:  # noqa: BLE001 - every failure is that item's result
                outcome = exc
                if not continue_on_error and not stop.is_set():
                    failed.append((index, exc))
                    stop.set()
            results[index] = outcome
            done += 1
            await report(index, outcome)

    tasks = [asyncio.create_task(one(i), name=f"azimage-batch-{i}") for i in range(total)]
    try:
        if continue_on_error:
            await asyncio.gather(*tasks)
        else:
            waiter: asyncio.Task[Any] = asyncio.create_task(stop.wait())
            try:
                pending: set[asyncio.Task[Any]] = set(tasks)
                while pending and not stop.is_set():
                    finished, pending = await asyncio.wait(
                        pending | {waiter}, return_when=asyncio.FIRST_COMPLETED)
                    pending.discard(waiter)
                    for t in finished:
                        bug = None if t is waiter or t.cancelled() else t.exception()
                        if bug is not None:
                            raise bug  # a bug here: do not hide it
            finally:
                waiter.cancel()
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    if failed:
        index, error = failed[0]
        raise BatchError(index, error, results, progress_errors) from error
    return BatchResults(results, progress_errors)
