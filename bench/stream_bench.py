"""Streamed generations on v1: our client vs the official openai SDK on the same emulator stream.

    .venv/bin/python -m bench.stream_bench [--reps 3] [--processing 4] [--partials 2]

One emulator (loopback, gpt-image-2 deployment, ``processing_time`` seconds,
``partial_images`` partials), both clients in this process, one after the
other, each rep alternating who goes first. Printed:

- time to the first partial event (from the call), ours / SDK's, and the ratio;
  and the part of it that is the client's: from the emulator flushing that
  event (``handle.stream_events``) to the client handing it on (the difference,
  not a ratio: both are a millisecond or two, stamped in two threads);
- client CPU per streamed image (``time.thread_time`` of the event loop's
  thread: the emulator runs in its own thread, so its rendering is not counted),
  ours / SDK's, and the ratio;
- time to the first preview when streaming vs the SDK's non-streamed
  ``images.generate`` time to its image, and that ratio.

Numbers only; nothing is asserted (tests/bench runs nothing of this).
"""
from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

import azimage_widgets as aw
from azimage_widgets import emulator
from azimage_widgets.client import ImageClient

DEP = "bench-gpt-image-2"
KEY = "fake-bench-key-0123456789"
PROMPT = "a red fox in the snow"


async def ours(endpoint: str, partials: int) -> tuple[float, float, float]:
    """(seconds to the first partial, its arrival time, CPU seconds of the whole stream)."""
    conn = aw.Connection(endpoint, api_key=KEY, api_version="v1", deployment=DEP)
    async with ImageClient(conn) as client:
        cpu0, t0 = time.thread_time(), time.monotonic()
        first = None
        async for event in client.stream_image(PROMPT, partial_images=partials, quality="low",
                                               size="1024x1024"):
            if first is None and isinstance(event, aw.PartialImage):
                first = time.monotonic()
        return (first or float("nan")) - t0, first or float("nan"), time.thread_time() - cpu0


async def sdk(endpoint: str, partials: int) -> tuple[float, float, float]:
    """The same with openai's AsyncOpenAI on the v1 base URL, stream=True."""
    from openai import AsyncOpenAI

    async with AsyncOpenAI(base_url=f"{endpoint}/openai/v1/", api_key=KEY) as client:
        cpu0, t0 = time.thread_time(), time.monotonic()
        first = None
        stream = await client.images.generate(model=DEP, prompt=PROMPT, stream=True,
                                              partial_images=partials, quality="low",
                                              size="1024x1024")
        async for event in stream:
            if first is None and event.type.endswith("partial_image"):
                first = time.monotonic()
        return (first or float("nan")) - t0, first or float("nan"), time.thread_time() - cpu0


async def sdk_plain(endpoint: str) -> float:
    """Seconds to the image with the SDK's non-streamed images.generate."""
    from openai import AsyncOpenAI

    async with AsyncOpenAI(base_url=f"{endpoint}/openai/v1/", api_key=KEY) as client:
        t0 = time.monotonic()
        res = await client.images.generate(model=DEP, prompt=PROMPT, quality="low",
                                           size="1024x1024")
        assert res.data and res.data[0].b64_json
        return time.monotonic() - t0


async def run(reps: int, processing: float, partials: int) -> dict[str, Any]:
    handle = emulator.start(api_key=KEY, processing_time=processing, retry_after=None,
                            bearer_tokens={KEY})
    try:
        ttfp: dict[str, list[float]] = {"ours": [], "sdk": []}
        cpu: dict[str, list[float]] = {"ours": [], "sdk": []}
        # from the emulator's flush of the first partial to the client handing it on
        delivery: dict[str, list[float]] = {"ours": [], "sdk": []}
        runners: dict[str, Callable[[str, int], Awaitable[tuple[float, float, float]]]] = {
            "ours": ours, "sdk": sdk}
        await ours(handle.endpoint, partials)  # warm both (imports, first connection)
        await sdk(handle.endpoint, partials)
        for rep in range(reps):
            order = ["ours", "sdk"] if rep % 2 == 0 else ["sdk", "ours"]
            for name in order:
                seen = len(handle.stream_events)
                first, arrived, used = await runners[name](handle.endpoint, partials)
                flushed = next(e.sent_at for e in handle.stream_events[seen:]
                               if e.type.endswith("partial_image"))
                ttfp[name].append(first)
                cpu[name].append(used)
                delivery[name].append(arrived - flushed)
        plain = [await sdk_plain(handle.endpoint) for _ in range(reps)]
    finally:
        handle.stop()
    med = {k: {"ttfp": statistics.median(ttfp[k]), "cpu": statistics.median(cpu[k]),
               "delivery": statistics.median(delivery[k])} for k in ttfp}
    return {
        "reps": reps, "processing_time": processing, "partial_images": partials,
        "ttfp_ours_s": med["ours"]["ttfp"], "ttfp_sdk_s": med["sdk"]["ttfp"],
        "ttfp_ratio": med["ours"]["ttfp"] / med["sdk"]["ttfp"],
        "delivery_ours_s": med["ours"]["delivery"], "delivery_sdk_s": med["sdk"]["delivery"],
        # a millisecond or two measured across two threads: a ratio of such numbers is noise
        "delivery_diff_s": med["ours"]["delivery"] - med["sdk"]["delivery"],
        "cpu_ours_s": med["ours"]["cpu"], "cpu_sdk_s": med["sdk"]["cpu"],
        "cpu_ratio": med["ours"]["cpu"] / med["sdk"]["cpu"],
        "plain_first_image_s": statistics.median(plain),
        "preview_vs_plain_ratio": med["ours"]["ttfp"] / statistics.median(plain),
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--processing", type=float, default=4.0)
    parser.add_argument("--partials", type=int, default=2)
    args = parser.parse_args(argv)
    out = asyncio.run(run(args.reps, args.processing, args.partials))
    print(f"streamed gpt-image-2, {args.processing:g} s processing, {args.partials} partials, "
          f"median of {args.reps}")
    print(f"  time to first partial   ours {out['ttfp_ours_s'] * 1000:8.1f} ms   "
          f"sdk {out['ttfp_sdk_s'] * 1000:8.1f} ms   ratio {out['ttfp_ratio']:.3f}")
    print(f"  flush -> handed on      ours {out['delivery_ours_s'] * 1000:8.2f} ms   "
          f"sdk {out['delivery_sdk_s'] * 1000:8.2f} ms   "
          f"ours - sdk {out['delivery_diff_s'] * 1000:+.2f} ms (thread clocks: ~2 ms noise)")
    print(f"  client CPU per image    ours {out['cpu_ours_s'] * 1000:8.1f} ms   "
          f"sdk {out['cpu_sdk_s'] * 1000:8.1f} ms   ratio {out['cpu_ratio']:.3f}")
    print(f"  first preview (ours, streamed) vs first image (sdk, not streamed) "
          f"{out['ttfp_ours_s']:.2f} s / {out['plain_first_image_s']:.2f} s = "
          f"{out['preview_vs_plain_ratio']:.3f}")
    return out


if __name__ == "__main__":
    main()
