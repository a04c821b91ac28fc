"""Pool benchmark: 3 emulators each limited to R requests per minute vs 1 at R.

    .venv/bin/python -m bench.pool_bench                  # R = 60, 60 s
    .venv/bin/python -m bench.pool_bench --rpm 30 --duration 61 --workers 6

Both set-ups run at the same time in one run, for the same ``duration``:

- single: one emulator with ``rpm_limit=R``, one ImageClient
- pool:   three emulators with ``rpm_limit=R`` each, ``PooledImageClient(Connection.pool([...]))``

``workers`` tasks per set-up loop ``generate`` (submit + polls) on new
prompts, far more than R allows, so both are limited by the quota only.
The emulators' quota is a sliding 60 s window over every API request (polls
count too), so a run shorter than 60 s measures the first window's burst;
the default ``duration`` of 60 s measures one full window. Counted: API
requests each emulator accepted (not 429) and answered 429, and operations
that finished within the duration. Printed, never asserted.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from typing import Any

FAKE_KEY = "bench-fake-key-0123456789"


async def _drive(client: Any, label: str, workers: int, duration: float) -> dict[str, Any]:
    done = 0
    failed = 0
    counter = iter(range(10**9))

    async def worker(w: int) -> None:
        nonlocal done, failed
        while True:
            i = next(counter)
            try:
                await client.generate(f"{label} pool bench {w}-{i}", size="256x256")
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - throttled past the retries: counted, keep going
                failed += 1
                continue
            done += 1

    tasks = [asyncio.create_task(worker(w)) for w in range(workers)]
    await asyncio.sleep(duration)
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return {"operations": done, "gave_up": failed}


def _api_counts(handles: list[Any]) -> dict[str, int]:
    api = [r for h in handles for r in h.requests if r.listener == "api"]
    return {"accepted": sum(1 for r in api if r.status != 429),
            "throttled": sum(1 for r in api if r.status == 429)}


async def _run(rpm: int, duration: float, workers: int, processing_time: float) -> dict[str, Any]:
    import azimage_widgets as aw
    from azimage_widgets import emulator
    from azimage_widgets.client import PooledImageClient

    knobs = dict(api_key=FAKE_KEY, processing_time=processing_time, retry_after=None, rpm_limit=rpm)
    single = [emulator.start(**knobs)]
    pooled = [emulator.start(**knobs) for _ in range(3)]
    try:
        single_conn = aw.Connection(single[0].endpoint, api_key=FAKE_KEY, poll_timeout=duration + 120)
        pool = aw.Connection.pool([aw.Connection(h.endpoint, api_key=FAKE_KEY,
                                                 poll_timeout=duration + 120) for h in pooled],
                                  max_wait=duration + 60)
        t0 = time.monotonic()
        async with aw.ImageClient(single_conn) as one, PooledImageClient(pool) as many:
            one_ops, pool_ops = await asyncio.gather(
                _drive(one, "single", workers, duration),
                _drive(many, "pool", workers, duration))
            per_endpoint = many.stats()
        wall = time.monotonic() - t0
    finally:
        for h in single + pooled:
            h.stop()
    one_api, pool_api = _api_counts(single), _api_counts(pooled)
    # per minute only over at least one full 60 s window (shorter runs measure the first burst)
    minutes = duration / 60.0 if duration >= 60 else None
    result = {
        "rpm_per_endpoint": rpm,
        "duration_s": duration,
        "wall_s": round(wall, 1),
        "workers_per_setup": workers,
        "processing_time_s": processing_time,
        "single": {**one_ops, **one_api,
                   "accepted_per_min": _per(one_api["accepted"], minutes),
                   "operations_per_min": _per(one_ops["operations"], minutes)},
        "pool": {**pool_ops, **pool_api,
                 "accepted_per_min": _per(pool_api["accepted"], minutes),
                 "operations_per_min": _per(pool_ops["operations"], minutes),
                 "per_endpoint": [{k: v for k, v in s.items() if k != "cooling_for"}
                                  for s in per_endpoint]},
    }
    result["ratio_accepted"] = _ratio(pool_api["accepted"], one_api["accepted"])
    result["ratio_operations"] = _ratio(pool_ops["operations"], one_ops["operations"])
    return result


def _per(count: int, minutes: float | None) -> float | None:
    return None if minutes is None else round(count / minutes, 1)


def _ratio(a: float, b: float) -> float | None:
    return round(a / b, 2) if b else None


def run_pool_bench(rpm: int = 60, duration: float = 60.0, workers: int = 6,
                   processing_time: float = 0.2, *, quiet: bool = False) -> dict[str, Any]:
    """Run both set-ups side by side, print a small table, return the numbers."""
    import logging

    logging.getLogger("tornado.access").setLevel(logging.ERROR)  # 429s are expected here
    result = asyncio.run(_run(rpm, duration, workers, processing_time))
    if not quiet:
        s, p = result["single"], result["pool"]
        print(f"pool benchmark: R = {rpm} requests/min per emulator, {duration:g} s "
              f"(wall {result['wall_s']} s), {workers} workers per set-up")
        print(f"{'':22}{'1 emulator':>14}{'pool of 3':>14}{'ratio':>8}")
        print(f"{'API requests accepted':22}{s['accepted']:>14}{p['accepted']:>14}"
              f"{_fmt(result['ratio_accepted']):>8}")
        print(f"{'  per minute':22}{_n(s['accepted_per_min']):>14}{_n(p['accepted_per_min']):>14}")
        print(f"{'answered 429':22}{s['throttled']:>14}{p['throttled']:>14}")
        print(f"{'operations finished':22}{s['operations']:>14}{p['operations']:>14}"
              f"{_fmt(result['ratio_operations']):>8}")
        print(f"{'  per minute':22}{_n(s['operations_per_min']):>14}{_n(p['operations_per_min']):>14}")
        if duration < 60:
            print("(shorter than the emulators' 60 s window: counts are the first window's burst)")
        print(f"expected: about 3R = {3 * rpm} accepted requests per minute from the pool vs R = {rpm}")
    return result


def _n(x: float | None) -> str:
    return "n/a" if x is None else str(x)


def _fmt(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.2f}x"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--rpm", type=int, default=60, help="requests per minute per emulator (R)")
    ap.add_argument("--duration", type=float, default=60.0, help="seconds both set-ups run")
    ap.add_argument("--workers", type=int, default=6, help="concurrent generate loops per set-up")
    ap.add_argument("--processing-time", type=float, default=0.2)
    ap.add_argument("--json", action="store_true", help="print the result as JSON too")
    args = ap.parse_args(argv)
    result = run_pool_bench(args.rpm, args.duration, args.workers, args.processing_time)
    if args.json:
        print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
