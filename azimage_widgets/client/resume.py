"""Batches that resume after a restart: the journal they write to, and one item's way through it.

A batch journal (``store.journal.BatchJournal``: SQLite beside the image
store; this layer only knows the ``BatchJournalLike`` protocol it meets)
keeps per item ``pending``, ``sending`` (on the wire, no id yet),
``submitted`` (with its operation id), ``done`` or ``failed``; an item found
``sending`` after a restart comes back ``unknown``. ``follow_through`` is
the one place that walks an item through those states; the activities'
batches (``activities.durable``) and ``generate_many(journal=...)`` use it.

``generate_many`` keeps no images, so a done item keeps its answer in the
journal (``answer``: the ImageResult as JSON, ``answer_text``) and is rebuilt
from it (``result_of_answer``) instead of being generated again. A script
gets a journal with::

    from azimage_widgets.store import default_store
    from azimage_widgets.store.journal import journal_for
    journal = journal_for(default_store().path)      # or any folder
    results = await client.generate_many(prompts, journal=journal)   # resume=True

and runs the same call again after a restart.
"""
from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from ..contract import TERMINAL_STATUSES, ApiError, ImageItem, ImageOperation, ImageResult
from .batch import prompt_jobs, run_batch

if TYPE_CHECKING:
    from .image_client import ImageClient

log = logging.getLogger("azimage_widgets.client")

BILLED_TWICE = ("possibly billed twice: an earlier request for it was cut off with no answer, "
                "so the service may have made (and billed) it; sent again")
#: What a resumed batch says of an item finished before the restart.
DONE_BEFORE = "done before: not generated again (batch journal)"
#: How often one item is submitted again because the service lost its operation.
MAX_RESUBMITS = 3
#: Seconds before asking a service again that did not answer at all.
RETRY_PAUSE = 1.0


class JournalItem(Protocol):
    """Where one item stands (``store.journal.ItemState``)."""

    @property
    def state(self) -> str: ...
    @property
    def operation_id(self) -> str | None: ...
    @property
    def possibly_billed_twice(self) -> bool: ...
    @property
    def answer(self) -> str | None: ...


class BatchJournalLike(Protocol):
    """What a batch needs of its journal; ``store.journal.BatchJournal`` is one."""

    durable: bool
    reason: str

    def key(self, label: str, items: Sequence[Any], **extra: Any) -> str: ...

    def open_batch(self, key: str, total: int, *, resume: bool = True,
                   label: str = "") -> Any: ...

    def item(self, key: str, index: int) -> JournalItem: ...

    def mark(self, key: str, index: int, state: str, *, operation_id: str | None = None,
             image_ids: Iterable[int] = (), error: str | None = None,
             possibly_billed_twice: bool | None = None,
             answer: str | None = None) -> JournalItem: ...


def cut_off(exc: ApiError) -> bool:
    """No HTTP answer at all: the connection failed, dropped or timed out."""
    return exc.status_code is None and exc.code in ("connectionError", "timeout")


async def follow_through(
    journal: BatchJournalLike, key: str, index: int,
    submit: Callable[[], Awaitable[ImageOperation]],
    follow: Callable[[ImageOperation], Awaitable[Any]] | None, notes: list[str],
) -> tuple[ImageOperation, Any]:
    """Submit item ``index`` (unless the journal holds its operation) and follow it.

    The journal says ``sending`` before ``submit()`` and ``submitted`` with the id
    once accepted. A submitted operation is followed by id; one the service no
    longer knows (404) is submitted again; a submit cut off with no answer is sent
    again, noted as possibly billed twice. ``follow`` None: the operation is the
    result. Returns (operation, result); ``notes`` gets what the log must say.
    The caller marks ``done`` or ``failed``.
    """
    item = journal.item(key, index)
    op: ImageOperation | None = None
    if item.state == "submitted" and item.operation_id:
        op = ImageOperation(id=item.operation_id, status="notRunning")
        notes.append("polled by id after a restart")
    gone = 0
    while True:
        if op is None:
            twice = item.state == "unknown" or item.possibly_billed_twice
            if item.state == "unknown" and BILLED_TWICE not in notes:
                notes.append(BILLED_TWICE)
            journal.mark(key, index, "sending", possibly_billed_twice=twice)
            try:
                op = await submit()
            except ApiError as exc:
                # cut off after sending (the service went away): its fate is unknown
                if not cut_off(exc) or gone >= MAX_RESUBMITS:
                    raise
                gone += 1
                item = journal.mark(key, index, "unknown", possibly_billed_twice=True)
                await asyncio.sleep(RETRY_PAUSE)
                continue
            if op.status not in TERMINAL_STATUSES:  # a synchronous answer is complete
                journal.mark(key, index, "submitted", operation_id=op.id)
        if follow is None:
            return op, op
        try:
            return op, await follow(op)
        except ApiError as exc:
            if cut_off(exc) and gone < MAX_RESUBMITS:  # the service is away: ask again
                gone += 1
                await asyncio.sleep(RETRY_PAUSE)
                continue
            # the service lost the operation (restarted): it was never made, send it again
            if exc.status_code != 404 or gone >= MAX_RESUBMITS:
                raise
            gone += 1
            notes.append(f"the service no longer knows operation {op.id}; submitted again")
            op = None


# -- generate_many's answers ------------------------------------------------------------
_ITEM_FIELDS = ("index", "url", "b64_json", "error_code", "error_message", "revised_prompt")


def answer_text(result: ImageResult) -> str:
    """An ImageResult as the JSON text a done item keeps (its raw body is left out)."""
    return json.dumps({
        "id": result.id, "status": result.status, "created": result.created,
        "expires": result.expires, "error_code": result.error_code,
        "error_message": result.error_message,
        "usage": dict(result.usage) if result.usage is not None else None,
        "items": [{k: getattr(i, k) for k in _ITEM_FIELDS} for i in result.items],
    }, ensure_ascii=False)


def result_of_answer(text: str | None) -> ImageResult | None:
    """The ImageResult a done item kept, or None when there is none or it does not read."""
    if not text:
        return None
    try:
        data = json.loads(text)
        items = tuple(ImageItem(**{k: i.get(k) for k in _ITEM_FIELDS}) for i in data["items"])
        return ImageResult(id=data["id"], status=data["status"], items=items,
                           created=data.get("created"), expires=data.get("expires"),
                           error_code=data.get("error_code"),
                           error_message=data.get("error_message"), usage=data.get("usage"))
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


class ResumedResults(list[Any]):
    """generate_many's answer with a journal: one entry per prompt, and what the journal did.

    ``notes``: prompt index -> what happened to it (done before, polled by id,
    possibly billed twice); ``not_durable``: why a restart would start it over ('' if not);
    ``key``: the batch's key in the journal.
    """

    def __init__(self, entries: Iterable[Any], key: str, notes: dict[int, list[str]],
                 not_durable: str, progress_errors: list[Exception]) -> None:
        super().__init__(entries)
        self.key = key
        self.notes = notes
        self.not_durable = not_durable
        self.progress_errors = progress_errors


async def generate_resumable(
    client: ImageClient, journal: BatchJournalLike, prompts: Sequence[str],
    request: dict[str, Any], resume: bool, check: Callable[[str], object],
    timeout: float | None, concurrency: int, continue_on_error: bool, on_progress: Any = None,
) -> ResumedResults:
    """``generate_many`` through ``journal``: see the module docstring."""
    key = journal.key("generate_many", list(prompts), request=request)
    journal.open_batch(key, len(prompts), resume=resume, label="generate_many")
    if not journal.durable:
        log.warning("generate_many is not durable (%s): a restart would start it over",
                    journal.reason)
    notes: dict[int, list[str]] = {}

    async def one(index: int, prompt: str) -> ImageResult:
        said = notes.setdefault(index, [])
        item = journal.item(key, index)
        if item.state == "done":
            kept = result_of_answer(item.answer)
            if kept is not None:
                said.append(DONE_BEFORE)
                return kept
        try:
            op, result = await follow_through(
                journal, key, index, lambda: client.request_image(prompt, **request),
                lambda op: client.download_image(op.id, timeout=timeout), said)
        except Exception as exc:  # (a cancel is no Exception: the item stays where it was)
            journal.mark(key, index, "failed", error=f"{type(exc).__name__}: {exc}")
            raise
        if BILLED_TWICE in said:
            log.warning("generate_many prompt %d: %s", index, BILLED_TWICE)
        journal.mark(key, index, "done", operation_id=op.id, answer=answer_text(result))
        return result  # type: ignore[no-any-return]

    jobs = prompt_jobs(prompts, check=check, run=one, continue_on_error=continue_on_error)
    raw = await run_batch(jobs, concurrency=concurrency, continue_on_error=continue_on_error,
                          on_progress=on_progress)
    return ResumedResults(raw, key, notes, "" if journal.durable else journal.reason,
                          list(getattr(raw, "progress_errors", [])))


__all__ = ["BILLED_TWICE", "DONE_BEFORE", "BatchJournalLike", "JournalItem", "ResumedResults", "answer_text",
           "cut_off", "follow_through", "generate_resumable", "result_of_answer"]
