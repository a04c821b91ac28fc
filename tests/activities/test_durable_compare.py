"""The compare grid through the batch journal (Compare.run, activities/durable.py), against the
emulator. A kernel restart is played by a new Compare of the same grid running after the first
run was cut off (its task cancelled); the journal file is the only thing the two share."""
from __future__ import annotations

import asyncio
import uuid

from helpers import after_a_restart, submits, wait_for

import azimage_widgets as aw


def grid(conn, tag: str, **kw) -> aw.Compare:
    return aw.Compare(conn, prompts=[f"cmp {tag} a", f"cmp {tag} b", f"cmp {tag} c"],
                      sizes=["256x256", "512x512"], **kw)


def accepted(emu) -> int:
    return len(submits(emu, 202))


async def test_run_twice_in_one_session_makes_new_images(emu, conn):
    tag = uuid.uuid4().hex[:6]
    first = grid(conn, tag)
    await first.run()
    ids = {c.operation_id for c in first.all_cells()}
    await first.run()                               # Run all again, on the same grid
    assert accepted(emu) == 12
    assert ids.isdisjoint(c.operation_id for c in first.all_cells())


async def test_a_cut_off_grid_resumes_without_generating_finished_cells_again(emu, conn):
    emu.config.processing_time = 1.0
    tag = uuid.uuid4().hex[:6]
    first = grid(conn, tag, concurrency=2)
    task = asyncio.ensure_future(first.run())
    await wait_for(lambda: any(c.status == "succeeded" for c in first.all_cells()), timeout=20)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert first.durable is not None and first.durable.not_durable == ""
    states = first.durable.states()
    done = {(c.row, c.column): c.operation_id for c, s in zip(first.all_cells(), states, strict=True)
            if s == "done"}
    assert done and len(done) < 6 and set(states) <= {"done", "submitted", "sending", "pending"}
    sent_before = accepted(emu)

    again = grid(conn, tag, concurrency=2)
    await again.run()
    assert all(c.status == "succeeded" and c.images for c in again.all_cells())
    assert accepted(emu) - sent_before == states.count("pending") + states.count("sending")
    for c in again.all_cells():
        if (c.row, c.column) in done:
            assert c.operation_id == done[(c.row, c.column)]
            assert "not generated again" in c.message
            size = tuple(map(int, c.request["size"].split("x")))
            assert [im.size for im in c.images] == [size]
    assert again.note.startswith("resumed (")
    assert again.durable is not None and again.durable.states() == ["done"] * 6


async def test_a_rerun_cell_is_what_a_resumed_grid_shows_and_pins_come_back(emu, conn):
    tag = uuid.uuid4().hex[:6]
    first = grid(conn, tag)
    await first.run()
    cell = await first.rerun(1, 1)                  # a new request, kept in the journal
    first.pin(0, 0, image=0)
    assert accepted(emu) == 7

    after_a_restart()
    again = grid(conn, tag)
    await again.run()
    assert accepted(emu) == 7                       # nothing generated again
    assert again.cell(1, 1).operation_id == cell.operation_id
    assert again.cell(0, 0).pinned == {0} and again.pinned()[0][0] is again.cell(0, 0)
    await again.run(resume=False)
    assert accepted(emu) == 13


async def test_a_read_only_store_runs_the_grid_and_says_it_is_not_durable(emu, conn,
                                                                         read_only_store):
    cmp = aw.Compare(conn, prompts=["a read-only fox"], size="256x256", store=read_only_store)
    await cmp.run()
    assert cmp.cell(0).status == "succeeded" and cmp.cell(0).images
    assert cmp.note.startswith("not durable") and cmp.durable is not None
    assert cmp.durable.not_durable
