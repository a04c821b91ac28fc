"""Load: 1000 operations at concurrency 50 against the emulator on loopback.

0 lost (one ImageResult per prompt, in order, with its own id), 0 unexpected errors, no
duplicate submits. Bounded: 1000 operations, an overall 90 s cap, loopback only.
"""
from __future__ import annotations

import asyncio
import time

import pytest
from helpers import submits

import azimage_widgets as aw
from azimage_widgets.client import Connection, ImageClient

KEY = "load-fake-key-0000"
OPS = 1000
CONCURRENCY = 50


@pytest.mark.slow
async def test_1000_operations_at_concurrency_50():
    from azimage_widgets import emulator

    handle = await asyncio.to_thread(emulator.start, api_key=KEY, processing_time=0.05, retry_after=None)
    try:
        conn = Connection(handle.endpoint, api_key=KEY, timeout=30)
        prompts = [f"load {i}" for i in range(OPS)]
        done: list[int] = []
        async with ImageClient(conn) as client:
            t0 = time.monotonic()
            results = await asyncio.wait_for(
                client.generate_many(prompts, size="256x256", concurrency=CONCURRENCY,
                                     on_progress=lambda d, t, i, o: done.append(i)), 90)
            elapsed = time.monotonic() - t0
            # spot-check that the results belong to their prompts: fetch a few images
            from azimage_widgets.emulator import images
            for i in (0, 499, 999):
                png = await client.fetch_image(results[i].urls[0])
                assert png == images.render_png(prompts[i], 0, "256x256")
    finally:
        await asyncio.to_thread(handle.stop)
    assert len(results) == OPS, "items lost"
    errors = [(i, r) for i, r in enumerate(results) if isinstance(r, BaseException) or r is None]
    assert not errors, f"{len(errors)} unexpected errors, first: {errors[:3]}"
    assert all(isinstance(r, aw.ImageResult) and r.succeeded and len(r.urls) == 1 for r in results)
    assert len({r.id for r in results}) == OPS, "two prompts got the same operation"
    assert sorted(done) == list(range(OPS)), "progress did not report every item exactly once"
    sent = len(submits(handle))
    assert sent == OPS, f"{sent} submits for {OPS} operations (duplicates or losses)"
    print(f"\n{OPS} operations at concurrency {CONCURRENCY}: {elapsed:.1f} s")
