"""The batch journal (store/journal.py): states survive a killed process; a full disk is survived."""
from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap

import pytest

from azimage_widgets.store.journal import JOURNAL_NAME, BatchJournal, batch_key, journal_for


def test_states_are_found_again_by_a_new_journal_object(tmp_path):
    j = BatchJournal(tmp_path)
    key = batch_key("Request Image 'foxes'", [{"prompt": "a"}, {"prompt": "b"}, {"prompt": "c"}])
    batch = j.open_batch(key, 3)
    assert not batch.resumed and [s.state for s in batch.items] == ["pending"] * 3
    j.mark(key, 0, "sending")
    j.mark(key, 0, "submitted", operation_id="op-0")
    j.mark(key, 0, "done", image_ids=[7, 8])
    j.mark(key, 1, "sending")
    j.mark(key, 2, "sending")
    j.mark(key, 2, "failed", error="contentFilter: refused")
    j.close()

    again = BatchJournal(tmp_path).open_batch(key, 3)
    assert again.resumed
    done, cut, failed = again.items
    assert (done.state, done.operation_id, done.image_ids) == ("done", "op-0", (7, 8))
    assert cut.state == "unknown" and cut.attempts == 1  # cut off mid-flight
    assert (failed.state, failed.error) == ("failed", "contentFilter: refused")
    assert again.found == {"done": 1, "unknown": 1, "failed": 1}


def test_resume_false_and_other_datasets_start_over(tmp_path):
    j = BatchJournal(tmp_path)
    key = batch_key("a", [1, 2])
    j.open_batch(key, 2)
    j.mark(key, 0, "done", image_ids=[1])
    fresh = j.open_batch(key, 2, resume=False)
    assert not fresh.resumed and fresh.items[0].state == "pending"
    assert BatchJournal(tmp_path).open_batch(key, 2).items[0].state == "pending"
    j.mark(key, 1, "done", image_ids=[2])
    assert not j.open_batch(key, 3).resumed  # another size: not the same batch


def test_batch_key_names_the_activity_and_its_datasets():
    base = batch_key("Request Image 'x'", [{"prompt": "a", "size": "256x256"}])
    assert base == batch_key("Request Image 'x'", [{"size": "256x256", "prompt": "a"}])
    assert base != batch_key("Request Image 'y'", [{"prompt": "a", "size": "256x256"}])
    assert base != batch_key("Request Image 'x'", [{"prompt": "b", "size": "256x256"}])
    assert base != batch_key("Request Image 'x'", [{"prompt": "a", "size": "256x256"}], n=2)


def test_unknown_state_is_refused(tmp_path):
    j = BatchJournal(tmp_path)
    j.open_batch("k", 1)
    with pytest.raises(ValueError):
        j.mark("k", 0, "finished")


def test_a_folder_that_cannot_hold_it_leaves_a_memory_journal(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the store folder should be")
    j = BatchJournal(blocker)
    assert not j.durable and "cannot be written" in j.reason
    batch = j.open_batch("k", 2)
    j.mark("k", 1, "done", image_ids=[3])
    assert [s.state for s in batch.items] == ["pending", "pending"]
    assert j.item("k", 1).state == "done"
    # the same kernel running the cell again still finds it in memory
    assert journal_for(blocker).open_batch("k", 2).resumed is False  # a new journal object
    j2 = journal_for(blocker)
    j2.open_batch("k", 2)
    j2.mark("k", 0, "done", image_ids=[1])
    assert journal_for(blocker).open_batch("k", 2).items[0].state == "done"


def test_a_full_disk_midway_turns_it_non_durable_and_it_goes_on(tmp_path):
    j = BatchJournal(tmp_path)
    j.open_batch("k", 3)
    assert j.durable
    assert j._db is not None
    j._db.execute("PRAGMA max_page_count = 1")  # what SQLite sees on a full disk: SQLITE_FULL
    for i in range(3):
        j.mark("k", i, "done", image_ids=list(range(20_000)))
    assert not j.durable and "full" in j.reason
    assert [j.item("k", i).state for i in range(3)] == ["done"] * 3


def test_a_killed_writer_leaves_every_committed_state(tmp_path):
    script = textwrap.dedent(f"""
        import os, signal
        from azimage_widgets.store.journal import BatchJournal
        j = BatchJournal({str(tmp_path)!r})
        j.open_batch("k", 50)
        for i in range(30):
            j.mark("k", i, "sending")
            j.mark("k", i, "submitted", operation_id=f"op-{{i}}")
        j.mark("k", 30, "sending")
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    proc = subprocess.run([sys.executable, "-c", script], env={**os.environ}, timeout=60)
    assert proc.returncode == -signal.SIGKILL
    assert (tmp_path / JOURNAL_NAME).exists()
    batch = BatchJournal(tmp_path).open_batch("k", 50)
    assert [s.operation_id for s in batch.items[:30]] == [f"op-{i}" for i in range(30)]
    assert batch.items[30].state == "unknown"
    assert {s.state for s in batch.items[31:]} == {"pending"}
    with sqlite3.connect(tmp_path / JOURNAL_NAME) as db:
        assert db.execute("SELECT count(*) FROM items").fetchone() == (50,)


def test_a_done_items_answer_is_kept_and_an_older_file_gets_the_column(tmp_path):
    # a journal file written before answers were kept: no ``answer`` column
    with sqlite3.connect(tmp_path / JOURNAL_NAME) as db:
        db.executescript("""
            CREATE TABLE batches (key TEXT PRIMARY KEY, label TEXT NOT NULL DEFAULT '',
                                  total INTEGER NOT NULL, created REAL NOT NULL,
                                  updated REAL NOT NULL);
            CREATE TABLE items (batch TEXT NOT NULL, idx INTEGER NOT NULL, state TEXT NOT NULL,
                                operation_id TEXT, image_ids TEXT NOT NULL DEFAULT '[]',
                                error TEXT, attempts INTEGER NOT NULL DEFAULT 0,
                                billed_twice INTEGER NOT NULL DEFAULT 0, updated REAL NOT NULL,
                                PRIMARY KEY (batch, idx)) WITHOUT ROWID;
            INSERT INTO batches VALUES ('old', '', 2, 0, 0);
            INSERT INTO items (batch, idx, state, operation_id, updated)
                VALUES ('old', 0, 'done', 'op-old', 0), ('old', 1, 'pending', NULL, 0);
        """)
    j = BatchJournal(tmp_path)
    assert j.durable, j.reason
    old = j.open_batch("old", 2)
    assert old.resumed and old.items[0].operation_id == "op-old" and old.items[0].answer is None
    key = j.key("generate_many", ["a"], request={"n": 1})
    assert key == batch_key("generate_many", ["a"], request={"n": 1})
    j.open_batch(key, 1)
    j.mark(key, 0, "done", operation_id="op-1", answer='{"id": "op-1"}')
    j.close()
    item = BatchJournal(tmp_path).open_batch(key, 1).items[0]
    assert (item.state, item.operation_id, item.answer) == ("done", "op-1", '{"id": "op-1"}')
