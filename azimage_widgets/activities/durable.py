"""A batch run that survives a kernel restart: its steps go through the batch journal.

``run_activity`` uses ``DurableRun`` for Request Image batches (``resume=True``
by default); an Operation's chain (``durable_chain``) and the compare grid
(``Compare.run``) use it with their own key (``what``, ``config``). The walk of
one item through the states is ``client.resume.follow_through``. Per
dataset the journal (``store.journal``, beside the image store) records
``sending`` before the request leaves, ``submitted`` with the operation id
once accepted, ``done`` with the image store ids once the
images are kept, ``failed`` with the error. Running the same activity on the
same datasets again (the same cell after a restart) finds that batch and

- a ``done`` dataset is not generated again: its result is rebuilt from the
  image store;
- a ``submitted`` one is polled by its operation id; if the service no
  longer knows it (404: the operation is gone), it is submitted again;
- an ``unknown`` one (its request was cut off with no answer) is sent again,
  and its log entry says it was possibly billed twice;
- ``pending`` and ``failed`` ones run as usual.

A batch this process already ran to the end is started anew (the journal's
``open_batch``): asked again in the same session, it runs again.
``resume=False`` starts the batch over. With no image store, or when the
journal cannot be written (disk full, read-only folder), the run goes on
with a memory-only journal and ``not_durable`` says why.
"""
from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from ..client.resume import BILLED_TWICE, DONE_BEFORE, follow_through
from ..contract import ImageItem, ImageOperation, ImageResult
from ..store import resolve_store
from ..store.journal import BatchJournal, ItemState, batch_key, journal_for

_NOT_IN_KEY = frozenset({"output", "continue_on_error"})


def _journal_folder(activity: Any) -> tuple[Any, str]:
    """(image store folder or None, why there is none)."""
    try:
        store = resolve_store(getattr(activity, "store", None))
    except Exception as exc:  # noqa: BLE001 - a bad store setting is the download's to report
        return None, f"the image store setting was refused ({exc})"
    if store is None:
        return None, "the image store is off (store=False)"
    folder = getattr(store, "path", None)
    if folder is None:
        return None, "the image store has no folder"
    return folder, ""


def batch_config(activity: Any) -> dict[str, Any]:
    """What of an activity's configuration names its batch (what it sends, not where it binds)."""
    return {k: v for k, v in activity.config().items() if k not in _NOT_IN_KEY}


class DurableRun:
    """The journal of one Request Image run; ``step`` runs one dataset through it."""

    def __init__(self, activity: Any, datasets: Sequence[Mapping[str, Any]], *,
                 resume: bool = True, follow: bool = True, what: str | None = None,
                 config: Mapping[str, Any] | None = None, label: str | None = None) -> None:
        """The journal is the image store folder of ``activity`` (where its images are kept).

        ``what``, ``config`` and ``label`` name the batch when it is not the activity's own
        (an Operation's chain): the key is ``what`` run with ``config`` on ``datasets``.
        """
        folder, why = _journal_folder(activity)
        self.journal: BatchJournal = journal_for(folder)
        if config is None:
            config = batch_config(activity)
        self.key = batch_key(what or f"{activity.kind}:{activity.name}", datasets,
                             config=config, follow=follow)
        self.follow = follow
        self.batch = self.journal.open_batch(self.key, len(datasets), resume=resume,
                                             label=label or f"{activity.label} {activity.name!r}")
        self._why = why

    @property
    def durable(self) -> bool:
        return self.journal.durable

    @property
    def not_durable(self) -> str:
        """Why this run cannot resume after a restart ('' when it can)."""
        if self.journal.durable:
            return ""
        return self._why or self.journal.reason

    @property
    def resumed(self) -> dict[str, int]:
        """States found in the journal when the run started ({} for a new batch)."""
        return dict(self.batch.found) if self.batch.resumed else {}

    def states(self) -> list[str]:
        """Each dataset's journal state, in order."""
        return [self.journal.item(self.key, i).state for i in range(len(self.batch.items))]

    def summary(self) -> str:
        """What the progress bar says about the journal: resumed counts, or not durable and why."""
        if not self.journal.durable:
            return f"not durable: {self.not_durable}; a restart would start it over"
        found = self.resumed
        if not found or set(found) == {"pending"}:
            return ""
        order = ("done", "submitted", "unknown", "failed", "pending")
        counts = ", ".join(f"{found[s]} {s}" for s in order if found.get(s))
        return f"resumed ({counts})"

    def _mark(self, index: int, state: str, **kw: Any) -> ItemState:
        return self.journal.mark(self.key, index, state, **kw)

    async def step(self, ctx: Any, index: int, dataset: Mapping[str, Any]) -> Any:
        """One dataset, as the journal says it stands; logged once, like ``run_step``."""
        from .download_result import images_note, poll_and_fetch, remember_request
        from .request_body import build_request

        a = ctx.activity
        t0 = a.clock()
        notes: list[str] = []
        op_id: str | None = None
        try:
            kwargs = build_request(a, dataset).client_kwargs()
            rebuilt = await self.done_before(index, notes)
            if rebuilt is not None:
                remember_request(rebuilt, kwargs["prompt"], kwargs.get("size"),
                                  getattr(rebuilt, "request", {}).get("operation"))
                ctx.entry(index, "succeeded", t0, rebuilt.id, f"{DONE_BEFORE}; "
                          + (images_note(rebuilt) if self.follow else "submitted"))
                return rebuilt

            async def submit() -> ImageOperation:
                nonlocal op_id
                op: ImageOperation = await ctx.client.request_image(**kwargs)
                op_id = op.id
                a.update_operation(op.id, status=op.status, dataset=index,
                                   elapsed=round(a.clock() - ctx.started, 1))
                return op

            async def follow(op: ImageOperation) -> Any:
                nonlocal op_id
                op_id = op.id
                return await poll_and_fetch(a, ctx.client, op.id, ctx.started)

            op, result = await self.follow_through(index, submit,
                                                   follow if self.follow else None, notes)
            remember_request(result, kwargs["prompt"], kwargs.get("size"), op)
            self.done(index, op, result)
        except asyncio.CancelledError:
            ctx.canceled(index, t0, op_id)
            raise
        except Exception as exc:
            op_id, message = ctx.failed(index, t0, op_id, exc, notes)
            self.failed(index, op_id, message)
            raise
        note = images_note(result) if self.follow else "submitted"
        ctx.entry(index, "succeeded", t0, op_id, "; ".join([*notes, note]))
        return result

    def done(self, index: int, op: ImageOperation, result: Any) -> None:
        """Record a finished dataset with the store ids of its images."""
        ids = [s.record.id for s in getattr(result, "slots", [])
               if getattr(s, "record", None) is not None]
        self._mark(index, "done", operation_id=op.id, image_ids=ids)

    def failed(self, index: int, op_id: str | None, message: str) -> None:
        self._mark(index, "failed", operation_id=op_id, error=message)

    def restart(self, index: int) -> None:
        """Dataset ``index`` is asked for anew (a rerun): what the journal held of it goes."""
        self._mark(index, "pending")

    async def done_before(self, index: int, notes: list[str] | None = None) -> Any:
        """The result of dataset ``index`` when it was finished before and its images are
        still in the store (rebuilt from there), else None; ``notes`` hears when they are gone."""
        item = self.journal.item(self.key, index)
        if item.state != "done":
            return None
        rebuilt = await self.rebuild(item)
        if rebuilt is None and notes is not None:
            notes.append("its stored images are gone; generated again")
        return rebuilt

    async def follow_through(
        self, index: int, submit: Callable[[], Awaitable[ImageOperation]],
        follow: Callable[[ImageOperation], Awaitable[Any]] | None, notes: list[str],
    ) -> tuple[ImageOperation, Any]:
        """Submit dataset ``index`` (unless the journal holds its operation) and follow it
        (``client.resume.follow_through``); (operation, result)."""
        return await follow_through(self.journal, self.key, index, submit, follow, notes)

    async def rebuild(self, item: ItemState) -> Any:
        """The result of a dataset finished before: its images read back from the image store."""
        if not self.follow:
            return ImageOperation(id=item.operation_id or "", status="succeeded")
        from .download_result import DownloadResult, ImageSlot, decode_image

        folder = self.journal.path.parent if self.journal.path is not None else None
        store = resolve_store(folder) if folder is not None else None
        if store is None or not item.image_ids:
            return None

        def load() -> list[ImageSlot] | None:
            slots = []
            for rid in item.image_ids:
                rec = store.get(rid)
                if rec is None:
                    return None
                data = rec.read_bytes()
                img, thumb = decode_image(data)
                slots.append(ImageSlot(rec.image_index or 0, url=rec.source_url, data=data,
                                       image=img, thumbnail=thumb, record=rec))
            return slots

        try:
            slots = await asyncio.to_thread(load)
        except OSError:
            return None
        if not slots:
            return None
        first = slots[0].record
        res = ImageResult(id=item.operation_id or first.operation_id or "", status="succeeded",
                          items=tuple(ImageItem(s.index, url=s.url) for s in slots),
                          created=first.created, expires=first.expires)
        out = DownloadResult(res, slots)
        out.request = {"operation": ImageOperation(id=res.id, status="succeeded")}  # type: ignore[attr-defined]
        return out


__all__ = ["BILLED_TWICE", "DurableRun", "batch_config"]
