"""Pacing benchmark: batches against image quotas, and the batch journal's overhead.

    .venv/bin/python -m bench.pacing_bench                 # about 2.5 minutes
    .venv/bin/python -m bench.pacing_bench --out /tmp/pacing.json --scale 0.5

Quota rows (emulated GPT image deployments: one emulator process each with
``images_per_minute``, the synchronous deployments route, JPEG answers; the
set-ups run one after the other, each on emulators of its own):

- pool:     3 deployments with quotas 60, 60 and 30 images/min in
            ``Connection.pool([...])``, each Connection told its quota
            (``images_per_minute=``); 90 single-image prompts through
            ``generate_many``. The quota-bound ideal is 90 / 150 per minute = 36 s.
- learned:  the same pool with no quota told: the paces are learned from
            the 429s (the baseline of this run: what a client pays to learn).
- single:   one deployment at 60/min, told; 60 prompts; ideal 60 s.

Counted per set-up: wall time, answers 429, prompts lost (no result) and
duplicated (a prompt generated more than once, from the emulators' request
logs). Wall-time ratios are against the quota-bound ideal.

Journal rows: a journal of 10,000 pending items (``open_batch``), the RSS it
adds, and what scheduling one item costs: its pace slot plus the three
journal writes of a step (sending, submitted, done). Printed, never asserted.
"""
from __future__ import annotations

import argparse
import asyncio
import collections
import gc
import json
import logging
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

FAKE_KEY = "bench-fake-key-0123456789"
SYNC_VERSION = "2025-04-01-preview"
DEPLOYMENT = "gpt-image-1"


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def quota_knob_available() -> str | None:
    """None when the emulator has a per-deployment image quota, else why not."""
    from azimage_widgets.emulator.config import EmulatorConfig

    if "images_per_minute" not in EmulatorConfig.__dataclass_fields__:
        return "the emulator has no images_per_minute quota yet"
    return None


async def _setup(label: str, quotas: list[int], prompts: int, tell: bool, logdir: Path,
                 concurrency: int) -> dict[str, Any]:
    import contextlib

    import azimage_widgets as aw
    from azimage_widgets.client import client_for
    from azimage_widgets.emulator.request_log import read

    from .run import EmulatorProcess

    logs = [logdir / f"{label}-{i}.jsonl" for i in range(len(quotas))]
    with contextlib.ExitStack() as stack:
        handles = [await asyncio.to_thread(stack.enter_context, EmulatorProcess(
            api_key=FAKE_KEY, processing_time=0.0, retry_after=None, images_per_minute=q,
            request_log=str(log))) for q, log in zip(quotas, logs, strict=True)]
        conns = [aw.Connection(h.endpoint, api_key=FAKE_KEY, api_version=SYNC_VERSION,
                               deployment=DEPLOYMENT, max_retries=20, timeout=120,
                               images_per_minute=q if tell else None)
                 for h, q in zip(handles, quotas, strict=True)]
        target: Any = conns[0] if len(conns) == 1 else aw.Connection.pool(conns, max_wait=600)
        texts = [f"{label} pacing bench {i}" for i in range(prompts)]
        t0 = time.monotonic()
        async with client_for(target) as client:  # an ImageClient, or a pool's PooledImageClient
            out = await client.generate_many(texts, size="1024x1024", output_format="jpeg",
                                             concurrency=concurrency)
            stats = client.stats() if hasattr(client, "stats") else []
        wall = time.monotonic() - t0
    made: collections.Counter[str] = collections.Counter()
    throttled = 0
    per_deployment = []
    for log in logs:
        lines = [x for x in read(str(log)) if x["method"] == "POST"]
        ok = [x for x in lines if x["status"] == 200]
        made.update(x.get("prompt", "") for x in ok)
        throttled += sum(1 for x in lines if x["status"] == 429)
        per_deployment.append({"images": len(ok),
                               "answered_429": sum(1 for x in lines if x["status"] == 429)})
    lost = sum(1 for r in out if isinstance(r, Exception))
    ideal = 60.0 * prompts / sum(quotas)
    return {"quotas": quotas, "prompts": prompts, "quota_told": tell, "wall_s": round(wall, 2),
            "ideal_s": round(ideal, 2), "ratio_to_ideal": round(wall / ideal, 3),
            "answered_429": throttled, "lost": lost,
            "duplicated": sum(c - 1 for c in made.values() if c > 1),
            "errors": sorted({repr(r)[:160] for r in out if isinstance(r, Exception)})[:3],
            "per_deployment": per_deployment,
            "pool_stats": [{k: v for k, v in s.items() if k in ("submitted", "throttled")}
                           for s in stats]}


async def _quota_rows(scale: float, concurrency: int) -> dict[str, Any]:
    from azimage_widgets.client.pacing import forget_paces

    forget_paces()
    n_pool, n_single = round(90 * scale), round(60 * scale)
    with tempfile.TemporaryDirectory() as tmp:
        logdir = Path(tmp)
        # one after the other: the emulators render every image, and on a small machine
        # set-ups side by side would measure the CPU they share, not the quotas
        pool = await _setup("pool", [60, 60, 30], n_pool, True, logdir, concurrency)
        single = await _setup("single", [60], n_single, True, logdir, concurrency)
        forget_paces()
        learned = await _setup("learned", [60, 60, 30], n_pool, False, logdir, concurrency)
    return {"pool": pool, "learned": learned, "single": single}


def journal_rows(items: int = 10_000) -> dict[str, Any]:
    """RSS a journal of ``items`` pending items adds, and the cost of scheduling one item."""
    from azimage_widgets.client.pacing import Pace
    from azimage_widgets.store.journal import BatchJournal, batch_key

    with tempfile.TemporaryDirectory() as tmp:
        warm = BatchJournal(tmp)
        warm.open_batch("warm-up", 10)
        warm.close()
        datasets = [{"prompt": f"journal bench {i}"} for i in range(items)]
        gc.collect()
        before = rss_mb()
        t0 = time.perf_counter()
        journal = BatchJournal(tmp)
        key = batch_key("Request Image 'bench'", datasets)
        journal.open_batch(key, items)
        open_s = time.perf_counter() - t0
        gc.collect()
        added = rss_mb() - before
        pace = Pace(images_per_minute=60)
        t0 = time.perf_counter()
        for i in range(items):
            pace.reserve(1)
            journal.mark(key, i, "sending")
            journal.mark(key, i, "submitted", operation_id=f"op-{i}")
            journal.mark(key, i, "done", image_ids=[i])
        step_s = time.perf_counter() - t0
        size = (Path(tmp) / "journal.sqlite3").stat().st_size
        journal.close()
    return {"items": items, "rss_added_mb": round(added, 2),
            "open_ms_per_item": round(1000 * open_s / items, 4),
            "schedule_ms_per_item": round(1000 * step_s / items, 4),
            "journal_file_kb": round(size / 1024, 1)}


def run_pacing_bench(scale: float = 1.0, concurrency: int = 16, *, quiet: bool = False
                     ) -> dict[str, Any]:
    logging.getLogger("tornado.access").setLevel(logging.ERROR)  # the learned run's 429s
    result: dict[str, Any] = {"journal": journal_rows()}
    why = quota_knob_available()
    if why is None:
        result.update(asyncio.run(_quota_rows(scale, concurrency)))
    else:
        result["quota_rows"] = f"skipped: {why}"
    result["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    result["cpus"] = os.cpu_count()
    if not quiet:
        print(table(result))
    return result


def table(r: dict[str, Any]) -> str:
    lines = [f"{'set-up':44}{'wall s':>9}{'ideal s':>9}{'ratio':>8}{'429s':>6}{'lost':>6}{'dup':>5}"]
    for key, label in (("pool", "pool 60+60+30/min, told, {n} prompts"),
                       ("learned", "pool 60+60+30/min, learned, {n} prompts"),
                       ("single", "one deployment 60/min, told, {n} prompts")):
        row = r.get(key)
        if not row:
            continue
        lines.append(f"{label.format(n=row['prompts']):44}{row['wall_s']:>9.1f}"
                     f"{row['ideal_s']:>9.1f}{row['ratio_to_ideal']:>8.3f}"
                     f"{row['answered_429']:>6}{row['lost']:>6}{row['duplicated']:>5}")
    if "quota_rows" in r:
        lines.append(f"quota rows {r['quota_rows']}")
    j = r["journal"]
    lines.append(f"journal of {j['items']:,} pending items: +{j['rss_added_mb']} MB RSS, "
                 f"open {j['open_ms_per_item']} ms/item, scheduling (pace slot + 3 journal "
                 f"writes) {j['schedule_ms_per_item']} ms/item, file {j['journal_file_kb']} kB")
    if "load_average_at_end" in r:
        lines.append(f"{r['cpus']} cpu, load average at the end {r['load_average_at_end']} "
                     "(the emulators render every image: a loaded machine stretches wall times)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.pacing_bench", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--scale", type=float, default=1.0, help="fraction of the prompts (and time)")
    p.add_argument("--concurrency", type=int, default=16)
    p.add_argument("--out", default=None, help="write the numbers as JSON here")
    args = p.parse_args(argv)
    result = run_pacing_bench(args.scale, args.concurrency)
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
