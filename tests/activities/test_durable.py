"""Request Image batches through the batch journal (activities/durable.py), against the emulator.

A kernel restart is played by a new activity object with the same name running
the same datasets after the first run was cut off (its task cancelled); the
journal file is the only thing the two share. The emulator's submit records
count what was generated.
"""
from __future__ import annotations

import asyncio
import uuid

import pytest
from helpers import after_a_restart, submits, wait_for

import azimage_widgets as aw
from azimage_widgets.activities import RequestImage
from azimage_widgets.activities.dataset_runs import batch_progress
from azimage_widgets.activities.durable import BILLED_TWICE, DurableRun
from azimage_widgets.activities.oplog import OperationLog
from azimage_widgets.store import default_store
from azimage_widgets.store.journal import journal_for


def prompts(n: int) -> list[dict]:
    tag = uuid.uuid4().hex[:6]
    return [{"prompt": f"durable {tag} {i}"} for i in range(n)]


def make(conn, name: str, **kw) -> RequestImage:
    return RequestImage(conn, name=name, size="256x256", namespace={}, replace=True, **kw)


async def run(req: RequestImage, data: list[dict], **kw):
    """``req.run`` in a task of its own, as a notebook cell's run would be (a later activity
    of the same name replaces this one, and replacing stops the old one's task)."""
    return await asyncio.ensure_future(req.run(data, **kw))


def accepted(emu) -> int:
    return len(submits(emu, 202))


async def test_a_finished_batch_run_again_generates_nothing(emu, conn):
    data = prompts(5)
    log1 = OperationLog()
    first = await run(make(conn, "again"), data, log=log1)
    assert first.ok and accepted(emu) == 5
    after_a_restart()
    log2 = OperationLog()
    req = make(conn, "again", output="imgs")
    second = await run(req, data, log=log2)
    assert accepted(emu) == 5                       # nothing sent again
    assert second.ok and len(second) == 5
    assert [r.id for r in second] == [r.id for r in first]
    assert all(len(r.images) == 1 and r.images[0].size == (256, 256) for r in second)
    assert req.namespace["imgs"] is second
    entries = list(log2)
    assert sorted(e.dataset for e in entries) == list(range(5))   # each dataset once
    assert all("not generated again" in e.message for e in entries)
    assert "resumed (5 done)" in batch_progress(req).text


async def test_a_batch_this_kernel_finished_runs_again_when_asked_again(emu, conn):
    """The same cell twice in one session means twice; a restarted kernel finds it finished."""
    data = prompts(3)
    first = await run(make(conn, "twice"), data)
    req = make(conn, "twice")
    second = await run(req, data)
    assert accepted(emu) == 6
    assert {r.id for r in second}.isdisjoint(r.id for r in first)
    assert "resumed" not in batch_progress(req).text
    after_a_restart()
    third = await run(make(conn, "twice"), data)
    assert accepted(emu) == 6 and [r.id for r in third] == [r.id for r in second]


async def test_cut_off_batch_resumes_without_generating_finished_items_again(emu, conn):
    emu.config.processing_time = 1.0
    data = prompts(8)
    first = make(conn, "cut")
    task = asyncio.ensure_future(first.run(data, concurrency=8))
    # wait until some are done, while others are accepted but still running
    await wait_for(lambda: batch_progress(first).done >= 1, timeout=20)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    journal = journal_for(default_store().path)
    key = DurableRun(make(conn, "cut"), data).key   # the same key as the cut-off run
    states = [journal.item(key, i).state for i in range(8)]
    done_before = states.count("done")
    # a request cut off before its answer comes back "unknown"
    assert done_before >= 1 and set(states) <= {"done", "submitted", "unknown", "pending"}
    sent_before = accepted(emu)

    log = OperationLog()
    results = await run(make(conn, "cut"), data, log=log)
    assert results.ok and len(results) == 8
    new = accepted(emu) - sent_before
    # finished items and accepted-but-running ones are not sent again (those are polled by id)
    assert new == states.count("pending") + states.count("unknown")
    entries = list(log)
    assert sorted(e.dataset for e in entries) == list(range(8))
    assert sum("not generated again" in e.message for e in entries) == done_before
    assert sum("polled by id" in e.message for e in entries) == states.count("submitted")


async def test_resume_false_starts_over(emu, conn):
    data = prompts(3)
    await run(make(conn, "over"), data)
    await run(make(conn, "over"), data, resume=False)
    assert accepted(emu) == 6


async def test_unknown_item_is_sent_again_and_logged_as_possibly_billed_twice(emu, conn):
    data = prompts(3)
    dr = DurableRun(make(conn, "unknown"), data)
    dr.journal.mark(dr.key, 1, "sending")         # a request cut off with no answer
    log = OperationLog()
    results = await run(make(conn, "unknown"), data, log=log)
    assert results.ok and accepted(emu) == 3
    entries = {e.dataset: e for e in log}
    assert BILLED_TWICE in entries[1].message
    assert BILLED_TWICE not in entries[0].message
    assert dr.journal.item(dr.key, 1).possibly_billed_twice


async def test_an_operation_the_service_lost_is_submitted_again(emu, conn):
    data = prompts(2)
    dr = DurableRun(make(conn, "lost"), data)
    dr.journal.mark(dr.key, 0, "submitted", operation_id=str(uuid.uuid4()))  # unknown to it
    log = OperationLog()
    results = await run(make(conn, "lost"), data, log=log)
    assert results.ok and accepted(emu) == 2
    entries = {e.dataset: e for e in log}
    assert "no longer knows operation" in entries[0].message


async def test_store_off_runs_and_says_it_is_not_durable(emu, conn):
    req = make(conn, "nostore", store=False)
    results = await run(req, prompts(2))
    assert results.ok
    assert "not durable" in batch_progress(req).text and "store=False" in batch_progress(req).text


async def test_progress_shows_an_eta_from_the_pace(emu):
    conn = aw.Connection(emu.endpoint, api_key=emu.api_key, images_per_minute=600)
    req = make(conn, "eta")
    etas: list[float] = []
    texts: list[str] = []
    bp = batch_progress(req)
    bp.observe(lambda c: etas.append(c["new"]) if c["new"] is not None else None, names="eta")
    bp.observe(lambda c: texts.append(c["new"]), names="text")
    await run(req, prompts(6), concurrency=2)
    # 0.1 s per image at 600 per minute: the estimates are at most about half a second
    assert etas and 0 < max(etas) <= 1.5
    assert any("s left" in t for t in texts)
