"""Live previews: how soon a partial image reaches the panel's tile, and what streaming buys.

    .venv/bin/python -m bench.live_preview_bench [--processing-time 4] [--partials 2]

One emulator (loopback, its own thread) plays a gpt-image-2 deployment that takes
``processing_time`` seconds per image. A Request Image panel on v1 with Live
previews generates once; the kernel-side moment its first tile's picture is set
is compared with the moment the emulator flushed the first partial event
(``handle.stream_events``; both clocks are this process's ``time.monotonic``).
Then the official openai SDK's ``images.generate`` (no stream) makes the same
image against the same emulator, and the time to the first preview is set
against its time to the (only) image. Numbers are printed, never asserted.
"""
from __future__ import annotations

import argparse
import asyncio
import time
from typing import Any

PROMPT = "a red fox in the snow, watercolour"
DEPLOYMENT = "bench-gpt-image-2"
BENCH_KEY = "bench-key-not-secret"


async def measure(processing_time: float = 4.0, partials: int = 2) -> dict[str, Any]:
    """One streamed panel run and one non-streamed SDK call; the numbers as a dict."""
    import azimage_widgets as aw
    from azimage_widgets import emulator

    emu = emulator.start(api_key=BENCH_KEY, processing_time=processing_time, retry_after=None)
    try:
        conn = aw.Connection(endpoint=emu.endpoint, api_key=emu.api_key, api_version="v1",
                             deployment=DEPLOYMENT)
        panel = aw.RequestImagePanel(conn, name="live-preview-bench", prompt=PROMPT,
                                     size="1024x1024", quality="low", partial_images=partials,
                                     namespace={})
        marks: list[float] = []
        shown = panel.previews.show_partial

        def timed(*args: Any, **kwargs: Any) -> None:
            shown(*args, **kwargs)
            marks.append(time.monotonic())  # the tile's Image.value has been set (comm sent)

        panel.previews.show_partial = timed  # type: ignore[method-assign]
        started = time.monotonic()
        await panel.submit()
        ended = time.monotonic()
        partial_sent = [e.sent_at for e in emu.stream_events if e.type.endswith("partial_image")]
        panel.close()
        sdk_seconds = await asyncio.to_thread(_sdk_generate, emu.endpoint, emu.api_key)
    finally:
        emu.stop()
    if not marks or not partial_sent:
        raise RuntimeError("no partial image reached the panel")
    return {
        "first_tile_after_event_ms": (marks[0] - partial_sent[0]) * 1000,
        "time_to_first_preview_s": marks[0] - started,
        "streamed_total_s": ended - started,
        "sdk_time_to_image_s": sdk_seconds,
        "partials_shown": len(marks),
    }


def _sdk_generate(endpoint: str, key: str) -> float:
    """The openai SDK's non-streamed ``images.generate`` on v1: seconds to the image."""
    from openai import OpenAI

    client = OpenAI(base_url=f"{endpoint}/openai/v1/", api_key=key)
    started = time.monotonic()
    client.images.generate(model=DEPLOYMENT, prompt=PROMPT, size="1024x1024", quality="low")
    took = time.monotonic() - started
    client.close()
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processing-time", type=float, default=4.0)
    parser.add_argument("--partials", type=int, default=2)
    args = parser.parse_args()
    r = asyncio.run(measure(args.processing_time, args.partials))
    ratio = r["time_to_first_preview_s"] / r["sdk_time_to_image_s"]
    print(f"first tile update after the first partial event left the emulator: "
          f"{r['first_tile_after_event_ms']:.1f} ms (target <= 100 ms)")
    print(f"time to first preview {r['time_to_first_preview_s']:.2f} s vs openai SDK "
          f"non-streamed time to image {r['sdk_time_to_image_s']:.2f} s: ratio {ratio:.2f}")
    print(f"partials shown {r['partials_shown']}, streamed run total "
          f"{r['streamed_total_s']:.2f} s (processing {args.processing_time} s)")


if __name__ == "__main__":
    main()
