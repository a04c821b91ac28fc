"""Operation chains through the batch journal (activities/durable_chain.py), against the emulator.

A kernel restart is played as in test_durable.py: new activity and Operation
objects with the same names run the same datasets after the first run was cut
off (its task cancelled); the journal file is the only thing they share. The
emulator's submit records count what was generated.
"""
from __future__ import annotations

import asyncio
import collections
import uuid
from pathlib import Path

import pytest
from helpers import after_a_restart, submits, wait_for

import azimage_widgets as aw
from azimage_widgets.activities import DownloadImage, RequestImage
from azimage_widgets.activities.dataset_runs import batch_progress
from azimage_widgets.activities.oplog import OperationLog


def prompts(n: int) -> list[dict]:
    tag = uuid.uuid4().hex[:6]
    return [{"prompt": f"chain {tag} {i}"} for i in range(n)]


def make(conn, name: str, *, write_to: Path | None = None, store=None, **kw) -> aw.Operation:
    """A Request Image -> Download Image operation; the same names each time, as a re-run cell."""
    req = RequestImage(conn, name=f"{name}-req", size="256x256", namespace={}, replace=True,
                       store=store)
    dl = DownloadImage(conn, name=f"{name}-dl", namespace={}, replace=True, store=store)
    return aw.Operation(req, dl, name=name, write_to=write_to, **kw)


def accepted(emu) -> int:
    return len(submits(emu, 202))


def per_step(log: OperationLog) -> collections.Counter:
    return collections.Counter((e.activity, e.dataset) for e in log)


async def test_a_cut_off_operation_resumes_without_redoing_finished_datasets(emu, conn, tmp_path):
    emu.config.processing_time = 1.0
    data = prompts(6)
    out = tmp_path / "out"
    first = make(conn, "chain-cut", write_to=out, log=OperationLog())
    task = asyncio.ensure_future(first.run(data))
    await wait_for(lambda: batch_progress(first).done >= 1, timeout=20)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert first.durable is not None and first.durable.not_durable == ""
    states = first.durable.states()
    done_before = [i for i, s in enumerate(states) if s == "done"]
    assert done_before and set(states) <= {"done", "submitted", "sending", "pending"}
    # a dataset is done once its images are stored; its write may have been cut off after that
    written = {i: {p.name: p.stat().st_mtime_ns for p in out.glob(f"chain-cut-dl-{i}*")}
               for i in done_before if (out / f"chain-cut-dl-{i}.json").exists()}
    sent_before = accepted(emu)

    log = OperationLog()
    again = make(conn, "chain-cut", write_to=out, log=log)
    results = await asyncio.ensure_future(again.run(data))
    assert results.ok and len(results) == 6 and len({r.id for r in results}) == 6
    # done datasets are not requested again; submitted ones are polled by id
    assert accepted(emu) - sent_before == states.count("pending") + states.count("sending")
    steps = per_step(log)
    assert set(steps.values()) == {1}           # every step of every dataset logged once
    assert {d for (_, d) in steps} == set(range(6))
    assert {a for (a, _) in steps} == {"chain-cut-req", "chain-cut-dl", "write"}
    by = {(e.activity, e.dataset): e for e in log}
    for i in done_before:
        assert "not generated again" in by[("chain-cut-dl", i)].message
        if i in written:  # its sidecar (written last) was there: every file of it was
            assert "not written again" in by[("write", i)].message
        assert results[i].images and results[i].files[-1].name == f"chain-cut-dl-{i}.json"
    for i, s in enumerate(states):
        if s == "submitted":
            assert "polled by id" in by[("chain-cut-req", i)].message
    # files of finished datasets were left as they were
    assert written, "no dataset was written before the cut"
    for files in written.values():
        for name, mtime in files.items():
            assert (out / name).stat().st_mtime_ns == mtime, name
    assert "resumed" in batch_progress(again).text
    assert again.durable is not None and again.durable.states() == ["done"] * 6


async def test_on_success_still_chains_after_a_resume(emu, conn):
    data = prompts(2)

    def ops(log: OperationLog) -> aw.Operation:
        second = make(conn, "chain-next", log=log)
        return make(conn, "chain-first", on_success=second, log=log,
                    success_data=lambda res: [f"after {res[0].id}"])

    first = await ops(OperationLog()).run(data)
    assert first.next is not None and first.next.ok
    sent = accepted(emu)
    assert sent == 3

    after_a_restart()
    log = OperationLog()
    again = await ops(log).run(data)
    assert accepted(emu) == sent                    # nothing generated again, in either
    assert again.ok and again.next is not None and again.next.ok
    assert [r.id for r in again] == [r.id for r in first]
    assert again.next[0].id == first.next[0].id
    assert again.next[0].request["prompt"] == f"after {first[0].id}"
    assert all("not generated again" in e.message for e in log)
    assert {e.operation for e in log} == {"chain-first", "chain-next"}


async def test_an_operation_run_twice_in_one_session_runs_twice(emu, conn):
    data = prompts(2)
    first = await make(conn, "chain-twice", log=OperationLog()).run(data)
    second = await make(conn, "chain-twice", log=OperationLog()).run(data)
    assert accepted(emu) == 4
    assert {r.id for r in second}.isdisjoint(r.id for r in first)


async def test_resume_false_starts_the_operation_over(emu, conn):
    data = prompts(2)
    await make(conn, "chain-over", log=OperationLog()).run(data)
    await make(conn, "chain-over", log=OperationLog()).run(data, resume=False)
    assert accepted(emu) == 4


async def test_a_dataset_the_service_lost_is_submitted_again(emu, conn):
    data = prompts(2)
    op = make(conn, "chain-lost", log=OperationLog())
    await op.run(data)
    assert op.durable is not None
    d = op.durable.durable
    d.journal.mark(d.key, 0, "submitted", operation_id=str(uuid.uuid4()))  # unknown to it
    log = OperationLog()
    results = await make(conn, "chain-lost", log=log).run(data)
    assert results.ok and accepted(emu) == 3
    assert set(per_step(log).values()) == {1}
    entries = {(e.activity, e.dataset): e for e in log}
    assert "no longer knows operation" in entries[("chain-lost-req", 0)].message
    assert entries[("chain-lost-req", 0)].operation_id == results[0].id
    assert "not generated again" in entries[("chain-lost-dl", 1)].message


async def test_a_read_only_store_runs_the_operation_and_says_it_is_not_durable(
        emu, conn, tmp_path, read_only_store):
    op = make(conn, "chain-ro", store=read_only_store, write_to=tmp_path / "out",
              log=OperationLog())
    results = await op.run(prompts(2))
    assert results.ok and all(r.images for r in results)
    assert op.durable is not None and op.durable.not_durable
    assert "not durable" in batch_progress(op).text
    assert accepted(emu) == 2


async def test_a_request_cut_off_mid_flight_is_sent_again_and_logged_as_possibly_billed_twice(
        emu, conn):
    from azimage_widgets.client.resume import BILLED_TWICE

    data = prompts(2)
    op = make(conn, "chain-twice", log=OperationLog())
    await op.run(data)
    assert op.durable is not None
    d = op.durable.durable
    d.journal.mark(d.key, 1, "sending")            # sent, then the kernel died: no answer
    log = OperationLog()
    again = make(conn, "chain-twice", log=log)
    results = await again.run(data)
    assert results.ok and accepted(emu) == 3
    entries = {(e.activity, e.dataset): e for e in log}
    assert BILLED_TWICE in entries[("chain-twice-req", 1)].message
    assert BILLED_TWICE not in entries[("chain-twice-req", 0)].message
    assert again.durable is not None
    assert again.durable.durable.journal.item(d.key, 1).possibly_billed_twice


async def test_a_download_only_operation_resumes_from_the_store(emu, conn):
    req = RequestImage(conn, name="dl-only-src", size="256x256", namespace={}, replace=True)
    ops = await asyncio.ensure_future(req.run(prompts(2)))
    ids = [{"id": r.id} for r in ops]
    polls = len([r for r in emu.requests if r.method == "GET" and "/operations/" in r.path])

    def dl_op(log: OperationLog) -> aw.Operation:
        dl = DownloadImage(conn, name="dl-only", namespace={}, replace=True)
        return aw.Operation(dl, name="dl-only-op", log=log)

    first = await dl_op(OperationLog()).run(ids)
    assert first.ok and [r.id for r in first] == [r.id for r in ops]
    after_first = len([r for r in emu.requests if r.method == "GET" and "/operations/" in r.path])
    assert after_first > polls
    after_a_restart()
    log = OperationLog()
    again = await dl_op(log).run(ids)
    assert again.ok and [r.id for r in again] == [r.id for r in ops]
    assert all(r.images for r in again)
    # not asked again: rebuilt from the image store
    assert len([r for r in emu.requests if r.method == "GET" and "/operations/" in r.path]) \
        == after_first
    assert all("not generated again" in e.message for e in log)
