"""The benchmark runs end to end with a tiny configuration; only the JSON's shape is checked.

Timings are never asserted (they belong to ``python -m bench``, not to the suite).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repo root holds bench/

from bench.run import NOT_BUILT, SCENARIOS, BenchConfig, main, run, table

ROW_KEYS = {"id", "name", "metric", "ours", "baseline", "baseline_name", "ratio", "target", "verdict",
            "unit", "details"}
VERDICTS = {"target met", "MISSED", "info", "skipped", NOT_BUILT}


def tiny() -> BenchConfig:
    return BenchConfig(legacy_processing=0.1, legacy_n=1, legacy_size="256x256", legacy_openai028=False,
                       batch_ops=4, batch_concurrency=2, batch_processing=0.1, sync_repeats=1, sync_cpu_ops=4,
                       cpu_ops=4, preview_size="256x256",
                       preview_repeats=1, memory_ops=2, memory_n=1, memory_processing=0.05)


def test_tiny_run_has_the_documented_shape():
    results = run(tiny(), only=["legacy", "batch", "sync", "preview"])
    assert results["errors"] == {}
    assert results["scenarios"] == ["legacy", "batch", "sync", "preview"]
    assert {"platform", "python", "cpus"} <= set(results["machine"])
    rows = {r["id"]: r for r in results["rows"]}
    assert {"1", "1r", "2", "2r", "2v", "3v", "4", "4b"} <= set(rows)
    for r in rows.values():
        assert set(r) == ROW_KEYS
        assert r["verdict"] in VERDICTS
        assert r["ours"] is None or isinstance(r["ours"], float)
    assert rows["1"]["verdict"] == "skipped" and rows["1"]["details"]["urls"] == 1
    assert rows["2"]["baseline_name"] == "ideal" and rows["2"]["details"]["failures"] == []
    for rid in ("2v", "3v"):  # a number only when the synchronous flow and openai v1 exist: never faked
        r = rows[rid]
        if r["verdict"] == NOT_BUILT or r["verdict"].startswith("skipped"):
            assert r["ours"] is None and r["baseline"] is None
        else:
            assert r["ours"] > 0 and r["baseline"] > 0 and r["baseline_name"].startswith("openai")
            assert r["details"]["requests"] == r["details"]["baseline_requests"] > 0
    assert rows["4b"]["details"]["thumbnail_bytes"] > 0 and rows["4b"]["ratio"] > 0
    json.dumps(results)  # serialisable as is
    text = table(results)
    assert "verdict" in text and "2v" in text


def test_main_writes_results_json(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("bench.run.BenchConfig", lambda **kw: BenchConfig(**{**tiny().__dict__, **kw}))
    out = tmp_path / "r.json"
    assert main(["--only", "memory", "--out", str(out), "--no-openai028"]) == 0
    data = json.loads(out.read_text())
    assert [r["id"] for r in data["rows"]] == ["6", "6s"]
    assert data["rows"][0]["details"]["images"] == 2
    assert data["rows"][1]["details"]["images"] == 2  # with the image store
    assert "written:" in capsys.readouterr().out


def test_unknown_scenario_is_refused():
    import pytest

    with pytest.raises(ValueError, match="unknown scenario"):
        run(tiny(), only=["nope"])
    assert set(SCENARIOS) == {"legacy", "batch", "sync", "cpu", "preview", "kernel", "memory",
                              "livepreview"}


def test_live_preview_rows_have_their_numbers():
    cfg = BenchConfig(live_processing=1.0, live_partials=2, live_reps=1)
    results = run(cfg, only=["livepreview"])
    assert results["errors"] == {}
    rows = {r["id"]: r for r in results["rows"]}
    assert list(rows) == ["7", "7m", "7r"]
    assert rows["7"]["target"] == "<= 100 ms" and rows["7"]["verdict"] in {"target met", "MISSED"}
    runs = rows["7"]["details"]["runs"]
    assert len(runs) == 1 and runs[0]["partials_shown"] >= 1 and runs[0]["images"] == 1
    assert runs[0]["tiles_before_event_ms"] > 0  # the tile was laid out before the partial left
    assert rows["7r"]["baseline"] > 0 and rows["7r"]["ratio"] > 0
    assert rows["7m"]["ours"] <= rows["7"]["ours"]
    assert "7r" in table(results)
