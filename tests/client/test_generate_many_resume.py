"""``generate_many(journal=...)``: a batch that resumes (client/resume.py), against the emulator.

A restart is played by a new ImageClient calling generate_many again with the
journal of the same folder after the first call was cut off (its task
cancelled). The emulator's request log (one JSON line per answered request,
with the prompt of each submit) counts what was generated.
"""
from __future__ import annotations

import asyncio
import collections
import sqlite3
import uuid
from pathlib import Path

import pytest
from helpers import after_a_restart, submits, wait_for

import azimage_widgets as aw
from azimage_widgets.client import ImageClient
from azimage_widgets.client.resume import BILLED_TWICE
from azimage_widgets.emulator.request_log import read
from azimage_widgets.store.journal import JOURNAL_NAME, BatchJournal, journal_for


@pytest.fixture
def request_log(emu, tmp_path: Path) -> Path:
    path = tmp_path / "requests.jsonl"
    emu.config.request_log = str(path)
    return path


def generated(log: Path) -> collections.Counter:
    """prompt -> how many submits of it the emulator accepted."""
    return collections.Counter(line["prompt"] for line in read(str(log))
                               if line["method"] == "POST" and line["status"] in (200, 202)
                               and "prompt" in line)


def prompts(n: int) -> list[str]:
    tag = uuid.uuid4().hex[:6]
    return [f"many {tag} {i}" for i in range(n)]


def rows(folder: Path) -> list[tuple[str, str | None]]:
    """(state, operation id) of each item of the one batch kept in ``folder``'s journal."""
    with sqlite3.connect(folder / JOURNAL_NAME) as db:
        return list(db.execute("SELECT state, operation_id FROM items ORDER BY idx"))


async def test_a_cut_off_generate_many_does_not_generate_finished_prompts_again(
        emu, conn, request_log, tmp_path):
    emu.config.processing_time = 0.6
    batch = prompts(8)
    folder = tmp_path / "store"
    async with ImageClient(conn) as client:
        task = asyncio.ensure_future(client.generate_many(batch, size="256x256", concurrency=3,
                                                          journal=journal_for(folder)))
        await wait_for(lambda: [s for s, _ in rows(folder)].count("done") >= 2, timeout=20)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    kept = rows(folder)
    before = [s for s, _ in kept]
    finished = [batch[i] for i, s in enumerate(before) if s == "done"]
    assert len(finished) >= 2 and len(finished) < 8
    ids_before = {i: op_id for i, (s, op_id) in enumerate(kept) if s == "done"}
    counts_before = generated(request_log)

    async with ImageClient(conn) as client:   # a new client: nothing kept in memory
        results = await client.generate_many(batch, size="256x256", concurrency=3,
                                             journal=journal_for(folder))
    assert all(not isinstance(r, Exception) and r.succeeded for r in results)
    assert len({r.id for r in results}) == 8
    for i, op_id in ids_before.items():
        assert results[i].id == op_id and results[i].urls
        assert any("not generated again" in n for n in results.notes[i])
    counts = generated(request_log)
    assert set(counts) == set(batch)
    for p in finished:
        assert counts[p] == 1, f"{p!r} had finished before the cut-off and was generated again"
    # only pending prompts and those cut off mid-request were sent after the cut-off
    new = sum(counts.values()) - sum(counts_before.values())
    assert new == before.count("pending") + before.count("sending")
    billed = sum(BILLED_TWICE in " ".join(n) for n in results.notes.values())
    assert billed == before.count("sending")
    assert results.not_durable == ""


async def test_a_finished_batch_called_again_generates_nothing_and_resume_false_does(
        emu, conn, request_log, tmp_path):
    batch = prompts(3)
    journal = journal_for(tmp_path / "store")
    async with ImageClient(conn) as client:
        first = await client.generate_many(batch, size="256x256", journal=journal)
    after_a_restart()
    journal = journal_for(tmp_path / "store")
    async with ImageClient(conn) as client:
        again = await client.generate_many(batch, size="256x256", journal=journal)
        assert sum(generated(request_log).values()) == 3
        assert [r.id for r in again] == [r.id for r in first]
        assert [r.urls for r in again] == [r.urls for r in first]
        # what was kept still reads: the images download from the kept URLs
        assert (await client.fetch_image(again[0].urls[0]))[:4] == b"\x89PNG"
        await client.generate_many(batch, size="256x256", journal=journal, resume=False)
    assert sum(generated(request_log).values()) == 6


async def test_a_synchronous_version_is_rebuilt_from_its_kept_answer(emu, request_log, tmp_path):
    conn = aw.Connection(emu.endpoint, api_key=emu.api_key, api_version="2024-10-21",
                         deployment="dall-e-3")
    batch = prompts(2)
    journal = journal_for(tmp_path / "store")
    async with ImageClient(conn) as client:
        first = await client.generate_many(batch, size="1024x1024", journal=journal)
    after_a_restart()
    journal = journal_for(tmp_path / "store")
    async with ImageClient(conn) as client:
        again = await client.generate_many(batch, size="1024x1024", journal=journal)
    assert all(not isinstance(r, Exception) and r.succeeded for r in first)
    assert sum(generated(request_log).values()) == 2
    assert [r.items for r in again] == [r.items for r in first]


async def test_an_unwritable_journal_still_runs_and_says_it_is_not_durable(emu, conn, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    async with ImageClient(conn) as client:
        results = await client.generate_many(prompts(2), size="256x256",
                                             journal=BatchJournal(blocker))
    assert all(not isinstance(r, Exception) for r in results)
    assert "cannot be written" in results.not_durable


async def test_a_batch_this_process_finished_is_generated_again_when_asked_again(
        emu, conn, request_log, tmp_path):
    """The same call twice in one session means twice; only a new process finds it finished."""
    batch = prompts(2)
    journal = journal_for(tmp_path / "store")
    async with ImageClient(conn) as client:
        first = await client.generate_many(batch, size="256x256", journal=journal)
        again = await client.generate_many(batch, size="256x256", journal=journal)
    assert sum(generated(request_log).values()) == 4
    assert {r.id for r in again}.isdisjoint(r.id for r in first)
    assert not any(again.notes.values())


async def test_without_a_journal_nothing_is_kept(emu, conn, request_log):
    batch = prompts(2)
    async with ImageClient(conn) as client:
        first = await client.generate_many(batch, size="256x256")
        await client.generate_many(batch, size="256x256")
    assert not hasattr(first, "notes")
    assert sum(generated(request_log).values()) == 4


async def test_a_pool_polls_a_submitted_prompt_by_id_and_resends_a_cut_off_one(tmp_path):
    from fakes import FAKE_KEY

    from azimage_widgets import emulator
    from azimage_widgets.client import PooledImageClient

    handles = [emulator.start(api_key=FAKE_KEY, processing_time=0.2, retry_after=None)
               for _ in range(2)]
    try:
        pool = aw.Connection.pool([aw.Connection(h.endpoint, api_key=FAKE_KEY) for h in handles])
        batch = prompts(4)
        journal = journal_for(tmp_path / "store")
        async with PooledImageClient(pool) as client:
            first = await client.generate_many(batch, size="256x256", journal=journal)
        # as if cut off: prompt 0 accepted and running, prompt 1 on the wire with no answer
        journal.mark(first.key, 0, "submitted", operation_id=first[0].id)
        journal.mark(first.key, 1, "sending")
        async with PooledImageClient(pool) as client:   # knows no owner of any operation
            again = await client.generate_many(batch, size="256x256",
                                               journal=journal_for(tmp_path / "store"))
        assert all(not isinstance(r, Exception) and r.succeeded for r in again)
        assert again[0].id == first[0].id and again[2].id == first[2].id
        assert again[1].id != first[1].id
        assert any("polled by id" in n for n in again.notes[0])
        assert BILLED_TWICE in again.notes[1]
        assert sum(len(submits(h, 202)) for h in handles) == 5
    finally:
        for h in handles:
            h.stop()
