"""bench.pacing_bench runs on a tiny scale; only the shape of its numbers is checked, never timings."""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repo root holds bench/

from bench.pacing_bench import journal_rows, quota_knob_available, run_pacing_bench, table


def test_journal_rows_shape():
    j = journal_rows(200)
    assert j["items"] == 200
    assert set(j) == {"items", "rss_added_mb", "open_ms_per_item", "schedule_ms_per_item",
                      "journal_file_kb"}
    assert j["schedule_ms_per_item"] > 0 and j["journal_file_kb"] > 0


def test_tiny_quota_run_shape():
    result = run_pacing_bench(scale=0.05, concurrency=4, quiet=True)
    text = table(result)
    assert "journal of 10,000 pending items" in text
    if quota_knob_available() is not None:
        assert result["quota_rows"].startswith("skipped: ")
        return
    for key in ("pool", "learned", "single"):
        row = result[key]
        assert row["lost"] == 0 and row["duplicated"] == 0
        assert row["prompts"] == (4 if key != "single" else 3)
        assert {"wall_s", "ideal_s", "ratio_to_ideal", "answered_429"} <= set(row)
