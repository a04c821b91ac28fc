"""Prompt iteration: one request per cell of a grid, rows x columns, run side by side.

    cmp = Compare(conn, prompts=["a red fox", "a red fox, watercolour"], sizes=["256x256", "512x512"])
    await cmp.run()                  # every cell at once (bounded by ``concurrency``)
    await cmp.rerun(1, 0)            # one cell again (row 1, column 0)
    cmp.pin(1, 0, image=0)           # a favourite: recorded in the image store

The grid is generic: rows are prompts (``prompts=[...]`` or one ``prompt``),
columns are *variants*, each a dict of request fields laid over the base
fields (``size``, ``n`` and any other field of the request). ``sizes=[...]``
is shorthand for ``variants=[{"size": s} for s in sizes]``; newer fields
(style, quality, ...) are variants like any other:
``variants=[{"quality": "standard"}, {"quality": "hd"}]`` (checked against
the api-version's limits, passed to ``request_image`` by name, like
``deployment``). Fields the contract does not know go in the request body
as they are (``extra_body``).

Layer 3: plain Python, no widgets; ``widgets.CompareGrid`` shows it. Each
cell's images are fetched, decoded and put into the image store like every
other download (``store=None`` the default store, ``False`` off), so a pin
is kept with the image (``StoreRecord.pinned``) and ``aw.history`` shows it.

``run()`` goes through the batch journal beside the image store
(``activities.durable``): the same grid run again (after a kernel restart)
rebuilds a cell done before from the store instead of generating it again,
polls one already submitted by its id, and sends again one cut off mid-request
(noted as possibly billed twice); ``run(resume=False)`` starts over, and
``rerun(row, column)`` always makes a new request. ``note`` says what the
journal did (resumed counts, or that the grid is not durable, and why).
"""
from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..client.resume import DONE_BEFORE
from ..contract import DEFAULT_API_VERSION, ImageOperation, ImageRequest, ValidationError
from ..contract.limits import OPTION_NAMES
from .activity import UsesConnection
from .download_result import DownloadResult, fetch_slots, raise_for_result
from .durable import DurableRun
from .failures import error_info, format_error

_CONTRACT = ("prompt", "size", "n", "user")


@dataclass
class CompareCell:
    """One request of the grid and what became of it."""

    row: int
    column: int
    request: dict[str, Any]
    status: str = "idle"  # idle, running, succeeded, failed, canceled
    message: str = ""
    operation_id: str | None = None
    result: DownloadResult | None = None
    elapsed: float | None = None
    pinned: set[int] = field(default_factory=set)  # image indexes pinned
    runs: int = 0

    @property
    def label(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in self.request.items() if k != "prompt")

    @property
    def images(self) -> list[Any]:
        return self.result.images if self.result is not None else []


def _check_fields(fields: Mapping[str, Any], where: str) -> dict[str, Any]:
    if not isinstance(fields, Mapping):
        raise ValidationError(where, "must be a dict of request fields", type(fields).__name__)
    for key in fields:
        if not isinstance(key, str) or not key:
            raise ValidationError(where, "field names must be non-empty strings", key)
        if key in ("response_format",):
            raise ValidationError(where, f"{key} is chosen by the client, not per cell", key)
    return dict(fields)


class Compare(UsesConnection):
    """A grid of requests (rows: prompts, columns: variants) run concurrently."""

    def __init__(
        self,
        conn: Any = None,
        *,
        prompts: Sequence[str] | None = None,
        prompt: str | None = None,
        sizes: Sequence[str] | None = None,
        variants: Sequence[Mapping[str, Any]] | None = None,
        n: int = 1,
        size: str | None = None,
        api_version: str | None = None,
        concurrency: int = 4,
        store: Any = None,
        client: Any = None,
        transport: Any = None,
        **fields: Any,
    ) -> None:
        """``client``: the ImageClient every cell goes through (default: the connection's shared
        one); ``transport``: an httpx transport for a client of this grid's own (e.g.
        httpx.MockTransport in a unit test), as the activities take them."""
        if prompts is not None and prompt is not None:
            raise ValidationError("prompts", "give prompts=[...] or prompt=..., not both")
        if prompts is None:
            if prompt is None:
                raise ValidationError("prompts", "give prompts=[...] (rows) or one prompt=...")
            prompts = [prompt]
        if isinstance(prompts, str) or not isinstance(prompts, Iterable):
            raise ValidationError("prompts", "must be a list of prompt strings", type(prompts).__name__)
        prompts = list(prompts)
        if not prompts:
            raise ValidationError("prompts", "must hold at least one prompt")
        if sizes is not None and variants is not None:
            raise ValidationError("sizes", "give sizes=[...] or variants=[...], not both")
        if sizes is not None:
            if isinstance(sizes, str):
                raise ValidationError("sizes", "must be a list of sizes", sizes)
            variants = [{"size": s} for s in sizes]
        variants = [_check_fields(v, f"variants[{i}]") for i, v in enumerate(variants or [{}])]
        if not variants:
            raise ValidationError("variants", "must hold at least one variant")
        if len(prompts) * len(variants) > 100:
            raise ValidationError("prompts", "at most 100 cells in one grid",
                                  len(prompts) * len(variants))
        if isinstance(concurrency, bool) or not isinstance(concurrency, int) or not 1 <= concurrency <= 50:
            raise ValidationError("concurrency", "must be a whole number from 1 to 50", concurrency)
        if client is not None and conn is None:
            conn = client.connection
        self.conn = conn
        self._client = client
        self._transport = transport
        self.api_version = api_version or getattr(conn, "api_version", None) or DEFAULT_API_VERSION
        self.store = store
        self.concurrency = concurrency
        base = {"n": n, **({"size": size} if size is not None else {}), **fields}
        self.base = _check_fields(base, "fields")
        self.prompts = prompts
        self.variants = variants
        self.cells: list[list[CompareCell]] = []
        for r, p in enumerate(prompts):
            row = []
            for c, v in enumerate(variants):
                request = {"prompt": p, **self.base, **v}
                self._validate(request, f"cell ({r}, {c})")
                row.append(CompareCell(r, c, request))
            self.cells.append(row)
        self._listeners: list[Callable[[CompareCell], None]] = []
        self._tasks: dict[tuple[int, int], asyncio.Task[Any]] = {}
        self._sem: asyncio.Semaphore | None = None
        self._sem_loop: Any = None
        #: The batch journal of the last ``run()`` (``durable.states()``, ``durable.not_durable``).
        self.durable: DurableRun | None = None
        #: What the batch journal did in the last run ('' when nothing to say).
        self.note = ""

    # -- shape -------------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, int]:
        return len(self.prompts), len(self.variants)

    def cell(self, row: int, column: int = 0) -> CompareCell:
        try:
            return self.cells[row][column]
        except (IndexError, TypeError):
            raise ValidationError("cell", f"no cell ({row}, {column}) in a {self.shape[0]}x"
                                          f"{self.shape[1]} grid") from None

    def all_cells(self) -> list[CompareCell]:
        return [c for row in self.cells for c in row]

    def _validate(self, request: Mapping[str, Any], where: str) -> None:
        try:
            ImageRequest(prompt=request.get("prompt"), size=request.get("size"),  # type: ignore[arg-type]
                         n=request.get("n", 1), user=request.get("user"), api_version=self.api_version,
                         **{k: v for k, v in request.items() if k in OPTION_NAMES})
        except ValidationError as exc:
            raise ValidationError(f"{where}.{exc.field}", exc.limit, exc.value) from None

    # -- events ----------------------------------------------------------------------
    def on_cell(self, callback: Callable[[CompareCell], None]) -> None:
        """Call ``callback(cell)`` whenever a cell's state changes."""
        self._listeners.append(callback)

    def _changed(self, cell: CompareCell) -> None:
        for cb in list(self._listeners):
            try:
                cb(cell)
            except Exception:  # noqa: BLE001 - a view's failure must not stop the run
                pass

    # -- running --------------------------------------------------------------------------
    def _semaphore(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        if self._sem is None or self._sem_loop is not loop:
            self._sem, self._sem_loop = asyncio.Semaphore(self.concurrency), loop
        return self._sem

    async def run(self, *, resume: bool = True) -> list[list[CompareCell]]:
        """Run every cell (failures stay in their cell); returns the grid.

        ``resume``: cells done or submitted in an earlier run of the same grid (the batch
        journal) are not generated again; False: every cell is a new request."""
        self.durable = DurableRun(self, [c.request for c in self.all_cells()], resume=resume,
                                   what="compare", config={"api_version": self.api_version},
                                   label=f"Compare {self.shape[0]}x{self.shape[1]}")
        self.note = self.durable.summary()
        await asyncio.gather(*(self._start(c.row, c.column, resume=True)
                               for c in self.all_cells()), return_exceptions=True)
        return self.cells

    def start(self) -> asyncio.Task[Any]:
        """``run()`` as a task on the running loop (what a Run button does)."""
        return asyncio.get_running_loop().create_task(self.run())

    async def rerun(self, row: int, column: int = 0) -> CompareCell:
        """Run one cell (again): a new request; the cell's previous images are replaced."""
        return await self._start(row, column, resume=False)

    async def _start(self, row: int, column: int, *, resume: bool) -> CompareCell:
        cell = self.cell(row, column)
        key = (row, column)
        old = self._tasks.get(key)
        if old is not None and not old.done() and old is not asyncio.current_task():
            old.cancel()
        task = asyncio.current_task()
        if task is not None:
            self._tasks[key] = task
        cell.status, cell.message, cell.operation_id = "waiting", "", None
        cell.result, cell.pinned, cell.elapsed = None, set(), None
        cell.runs += 1
        self._changed(cell)
        try:
            async with self._semaphore():
                await self._run_cell(cell, resume)
        except asyncio.CancelledError:
            cell.status = "canceled"
            cell.message = "stopped; the service may still finish the job"
            self._changed(cell)
            raise
        except Exception as exc:  # noqa: BLE001 - shown in the cell
            cell.status = "failed"
            cell.message = format_error(error_info(exc))
            self._changed(cell)
        return cell

    async def _run_cell(self, cell: CompareCell, resume: bool) -> None:
        from ..store import store_download

        req = dict(cell.request)
        started = time.monotonic()
        client = self.client()
        durable, index = self.durable, cell.row * len(self.variants) + cell.column
        notes: list[str] = []
        if durable is not None and resume and await self._resumed(cell, durable, index):
            return
        if durable is not None and not resume:  # a rerun: the journal's answer is replaced
            durable.restart(index)
        # the version's own fields (quality, style, ...) and deployment by name, others in the body
        named = {k: v for k, v in req.items() if k in OPTION_NAMES or k == "deployment"}
        extra = {k: v for k, v in req.items() if k not in _CONTRACT and k not in named}
        cell.status = "running"
        self._changed(cell)

        async def submit() -> ImageOperation:
            op: ImageOperation = await client.request_image(
                req["prompt"], size=req.get("size"), n=req.get("n", 1), user=req.get("user"),
                api_version=self.api_version, extra_body=extra or None, **named)
            cell.operation_id = op.id
            self._changed(cell)
            return op

        async def follow(op: ImageOperation) -> DownloadResult:
            cell.operation_id = op.id
            res = await client.download_image(op.id, api_version=self.api_version)
            raise_for_result(res)
            slots = await fetch_slots(client, res)
            await store_download(self.store, client, res, slots, None)
            return DownloadResult(res, slots)

        try:
            if durable is None:
                cell.result = await follow(await submit())
            else:
                op, cell.result = await durable.follow_through(index, submit, follow, notes)
                durable.done(index, op, cell.result)
        except Exception as exc:
            if durable is not None:
                durable.failed(index, cell.operation_id, format_error(error_info(exc)))
            raise
        cell.elapsed = round(time.monotonic() - started, 1)
        self._succeeded(cell, notes)

    async def _resumed(self, cell: CompareCell, durable: DurableRun, index: int) -> bool:
        """A cell done in an earlier run of this grid, rebuilt from the store (False: none)."""
        rebuilt = await durable.done_before(index)
        if rebuilt is None:  # not done, or its stored images are gone: generated again
            return False
        cell.operation_id, cell.result, cell.elapsed = rebuilt.id, rebuilt, 0.0
        cell.pinned = {s.index for s in rebuilt.slots if getattr(s.record, "pinned", False)}
        self._succeeded(cell, [DONE_BEFORE])
        return True

    def _succeeded(self, cell: CompareCell, notes: list[str]) -> None:
        assert cell.result is not None
        ok = len(cell.result.images)
        refused = len(cell.result.errors)
        cell.status = "succeeded"
        cell.message = "; ".join([f"{ok} image{'s' if ok != 1 else ''}"
                                  + (f", {refused} refused" if refused else ""), *notes])
        self._changed(cell)

    def cancel(self) -> int:
        """Stop every running cell; returns how many were stopped."""
        stopped = 0
        for task in self._tasks.values():
            if not task.done() and task is not asyncio.current_task():
                task.cancel()
                stopped += 1
        return stopped

    # -- favourites ------------------------------------------------------------------------
    def pin(self, row: int, column: int = 0, image: int = 0, pinned: bool = True) -> Any:
        """Mark image ``image`` of a cell as a favourite; returns its StoreRecord (None if not stored)."""
        cell = self.cell(row, column)
        if cell.result is None:
            raise ValidationError("pin", f"cell ({row}, {column}) has no images yet")
        slot = next((s for s in cell.result.slots if s.index == image and s.ok), None)
        if slot is None:
            raise ValidationError("image", f"cell ({row}, {column}) has no image {image}", image)
        (cell.pinned.add if pinned else cell.pinned.discard)(image)
        record = getattr(slot, "record", None)
        if record is not None:
            from ..store import resolve_store

            store = resolve_store(self.store)
            if store is not None:
                record = store.pin(record.id, pinned)
                slot.record = record
        self._changed(cell)
        return record

    def pinned(self) -> list[tuple[CompareCell, int]]:
        """(cell, image index) of every favourite, in grid order."""
        return [(c, i) for c in self.all_cells() for i in sorted(c.pinned)]

    def __repr__(self) -> str:
        rows, cols = self.shape
        done = sum(1 for c in self.all_cells() if c.status == "succeeded")
        return f"Compare({rows}x{cols}, {done} done)"


__all__ = ["Compare", "CompareCell"]
