"""Live previews: how soon a partial image reaches the panel's tile, and what streaming buys.

    .venv/bin/python -m bench.live_preview_bench [--reps 5] [--processing-time 4] [--partials 2]
                                                 [--in-process]

One emulator plays a gpt-image-2 deployment that takes ``processing_time``
seconds per image; by default it runs in a child process, so its drawing
(it renders the next partial right after sending one) does not compete with
the panel for this process's GIL (``--in-process``: in a thread here, as the
tests run it). Each repetition: a fresh Request Image panel on v1 with Live
previews generates once; the moment its first tile's picture widget is set
(its ``value`` changes, which is when ipywidgets sends the update) is compared
with the moment the emulator flushed the first partial event (its
``stream_events``; both clocks are ``time.monotonic``, one clock for every
process on Linux). Then the official openai SDK's ``images.generate`` (no
stream) makes the same image against the same emulator, and the panel's time
to its first preview is set against the SDK's time to the (only) image.
The first repetition runs in a fresh process (imports done, nothing else
warmed). Numbers are printed, never asserted.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # ``python bench/live_preview_bench.py`` from anywhere
    sys.path.insert(0, str(ROOT))

PROMPT = "a red fox in the snow, watercolour"
DEPLOYMENT = "bench-gpt-image-2"
BENCH_KEY = "bench-key-not-secret"
SIZE = "1024x1024"
#: The first tile's update after the first partial event left the emulator: ms at most.
TARGET_MS = 100.0

_CHILD = """
import json, sys
from azimage_widgets import emulator
h = emulator.start(**json.loads(sys.argv[1]))
print(json.dumps({"endpoint": h.endpoint, "api_key": h.api_key}), flush=True)
for line in sys.stdin:
    if line.strip() == "events":
        print(json.dumps([[e.type, e.sent_at] for e in h.stream_events]), flush=True)
    elif line.strip() == "reset":
        h.reset_stats()
        print("[]", flush=True)
h.stop()
"""


class ChildEmulator:
    """The emulator in a child process; ``stream_events()`` asks it what it flushed, and when."""

    def __init__(self, **knobs: Any) -> None:
        env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
        self.proc = subprocess.Popen([sys.executable, "-c", _CHILD, json.dumps(knobs)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                     env=env)
        info = self._ask(None)
        self.endpoint, self.api_key = info["endpoint"], info["api_key"]

    def _ask(self, command: str | None) -> Any:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        if command is not None:
            self.proc.stdin.write(command + "\n")
            self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            self.proc.kill()
            raise RuntimeError("the emulator process did not answer")
        return json.loads(line)

    def stream_events(self) -> list[tuple[str, float]]:
        return [(t, float(at)) for t, at in self._ask("events")]

    def reset_stats(self) -> None:
        self._ask("reset")

    def stop(self) -> None:
        try:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            self.proc.wait(timeout=10)
        except Exception:  # noqa: BLE001
            self.proc.kill()
            self.proc.wait()


class ThreadEmulator:
    """The emulator in a thread of this process (as the tests run it)."""

    def __init__(self, **knobs: Any) -> None:
        from azimage_widgets import emulator

        self.handle = emulator.start(**knobs)
        self.endpoint, self.api_key = self.handle.endpoint, self.handle.api_key

    def stream_events(self) -> list[tuple[str, float]]:
        return [(e.type, e.sent_at) for e in self.handle.stream_events]

    def reset_stats(self) -> None:
        self.handle.reset_stats()

    def stop(self) -> None:
        self.handle.stop()


async def panel_run(endpoint: str, key: str, partials: int) -> dict[str, Any]:
    """One streamed Generate on a fresh panel: when each tile picture was set, when it ran."""
    import azimage_widgets as aw

    conn = aw.Connection(endpoint=endpoint, api_key=key, api_version="v1", deployment=DEPLOYMENT)
    panel = aw.RequestImagePanel(conn, name="live-preview-bench", prompt=PROMPT, size=SIZE,
                                 quality="low", partial_images=partials, namespace={})
    marks: list[float] = []
    laid_out: list[float] = []

    def watch(change: Any) -> None:  # after the panel's own observer has made the tiles
        if change["new"]:
            laid_out.append(time.monotonic())
            for picture, _caption in panel.previews.partial_parts.values():
                picture.observe(lambda _c: marks.append(time.monotonic()), names="value")

    panel.activity.observe(watch, names="previewing")
    started = time.monotonic()
    await panel.submit()
    ended = time.monotonic()
    images = sum(len(r.images) for r in panel.results if r is not None)
    panel.close()
    return {"marks": marks, "started": started, "ended": ended, "images": images,
            "tiles_laid_out": laid_out[0] if laid_out else None}


def sdk_generate(endpoint: str, key: str) -> float:
    """The openai SDK's non-streamed ``images.generate`` on v1: seconds to the image."""
    from openai import OpenAI

    client = OpenAI(base_url=f"{endpoint}/openai/v1/", api_key=key)
    try:
        started = time.monotonic()
        client.images.generate(model=DEPLOYMENT, prompt=PROMPT, size=SIZE, quality="low")
        return time.monotonic() - started
    finally:
        client.close()


def measure(processing_time: float = 4.0, partials: int = 2, reps: int = 1,
            in_process: bool = False) -> dict[str, Any]:
    """``reps`` streamed panel runs, each followed by one non-streamed SDK call; the numbers."""
    knobs = {"api_key": BENCH_KEY, "processing_time": processing_time, "retry_after": None}
    emu: ChildEmulator | ThreadEmulator = ThreadEmulator(**knobs) if in_process \
        else ChildEmulator(**knobs)
    runs: list[dict[str, Any]] = []
    try:
        for _ in range(reps):
            emu.reset_stats()
            run = asyncio.run(panel_run(emu.endpoint, emu.api_key, partials))
            sent = [at for t, at in emu.stream_events() if t.endswith("partial_image")]
            if not run["marks"] or not sent:
                raise RuntimeError("no partial image reached the panel")
            sdk_s = sdk_generate(emu.endpoint, emu.api_key)
            runs.append({
                "first_tile_after_event_ms": (run["marks"][0] - sent[0]) * 1000,
                "tiles_before_event_ms": ((sent[0] - run["tiles_laid_out"]) * 1000
                                          if run["tiles_laid_out"] else None),
                "time_to_first_preview_s": run["marks"][0] - run["started"],
                "streamed_total_s": run["ended"] - run["started"],
                "sdk_time_to_image_s": sdk_s,
                "partials_shown": len(run["marks"]),
                "images": run["images"],
            })
    finally:
        emu.stop()
    lat = [r["first_tile_after_event_ms"] for r in runs]
    preview = statistics.median(r["time_to_first_preview_s"] for r in runs)
    sdk = statistics.median(r["sdk_time_to_image_s"] for r in runs)
    return {"runs": runs, "reps": reps, "processing_time": processing_time, "partials": partials,
            "emulator": "thread of this process" if in_process else "child process",
            "latency_median_ms": statistics.median(lat), "latency_max_ms": max(lat),
            "latency_first_ms": lat[0], "time_to_first_preview_s": preview,
            "sdk_time_to_image_s": sdk, "ratio": preview / sdk, "target_ms": TARGET_MS,
            "loadavg": "/".join(f"{x:.2f}" for x in os.getloadavg())}


def report(r: dict[str, Any]) -> str:
    verdict = "target met" if r["latency_max_ms"] <= TARGET_MS else "MISSED"
    laid = [x["tiles_before_event_ms"] for x in r["runs"] if x["tiles_before_event_ms"] is not None]
    laid = laid or [float("nan")]
    per_run = ", ".join(f"{x['first_tile_after_event_ms']:.1f}" for x in r["runs"])
    return "\n".join([
        f"emulator: {r['emulator']}; {r['reps']} run(s), processing {r['processing_time']:g} s, "
        f"{r['partials']} partials; load average {r['loadavg']} on {os.cpu_count()} cpu "
        "(other work on the machine stretches the picture's few tens of ms of CPU)",
        f"first tile update after the first partial event left the emulator: median "
        f"{r['latency_median_ms']:.1f} ms, max {r['latency_max_ms']:.1f} ms "
        f"(target <= {TARGET_MS:.0f} ms: {verdict}); per run {per_run}",
        f"time to first preview {r['time_to_first_preview_s']:.2f} s vs openai SDK non-streamed "
        f"time to image {r['sdk_time_to_image_s']:.2f} s (medians): ratio {r['ratio']:.2f}",
        f"tiles laid out {statistics.median(laid):.0f} ms before the first partial event left "
        f"(median); partials shown per run {[x['partials_shown'] for x in r['runs']]}, streamed "
        f"run total "
        f"{statistics.median(x['streamed_total_s'] for x in r['runs']):.2f} s (median)",
    ])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--processing-time", type=float, default=4.0)
    parser.add_argument("--partials", type=int, default=2)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--in-process", action="store_true",
                        help="the emulator in a thread of this process (shares its GIL)")
    args = parser.parse_args(argv)
    print(report(measure(args.processing_time, args.partials, args.reps, args.in_process)))


if __name__ == "__main__":
    main()
