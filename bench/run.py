"""azimage-widgets benchmarks: one command, a printed table and bench/results.json.

    .venv/bin/python -m bench            # or: .venv/bin/python bench/run.py
    .venv/bin/python -m bench --only legacy,batch --out /tmp/r.json

Every scenario starts the emulators it needs itself (loopback only) and measures
its baseline in the same run, so each ratio compares numbers from one machine
at one moment. Scenarios (issue 7):

1. legacy   one 3-image operation, processing 2 s, no Retry-After: ours vs
            openai 0.28.1 ``openai.Image.create`` (its own venv, as a subprocess;
            wall time measured inside it, requests counted by the emulator)
2. batch    50 operations at concurrency 10, processing 1 s: wall vs the ideal 5 s
   sync     the same 50 at concurrency 10 on the synchronous flow (2024-10-21, each call
            held 1 s by the emulator's latency): ours vs openai v1 AsyncAzureOpenAI with
            gather and a semaphore (row 2v); and client CPU per request there at zero
            latency, ours vs openai v1 (row 3v)
3. cpu      client CPU (process_time) per HTTP request at zero latency, with the
            emulator in another process so only the client's CPU counts
4. preview  ms and bytes from a 1024x1024 PNG to a widget thumbnail; widget state
            per image vs the PNG, for a 5-image result (issue 6: "a saved notebook with
            a 5-image result"): the grid's state with the 5 tiles minus the empty grid's,
            over 5, against the mean PNG size
5. kernel   trivial-cell round trip in a real kernel (jupyter_client) while a
            20-image batch runs there (Generate on 4 panels of n=5, made beforehand),
            vs the same cells with nothing running
6. memory   RSS growth after 200 images (40 operations x 5, 256x256) through a panel,
            without and with the image store (a temporary store folder)
7. livepreview  a v1 Request Image panel with Live previews, gpt-image-2 at 4 s with 2
            partials, 5 runs (bench/live_preview_bench.py, the emulator in a child process):
            ms from the emulator's flush of the first partial event to the first tile's
            picture being set (max and median), and the time to the first preview vs the
            openai SDK's non-streamed images.generate time to its image, same runs

Rows 2v/3v need the synchronous flow (2024-10-21, issue 5) and openai v1; without them
they say "not built yet (issue 5)" or "skipped: ..." instead of a number.
Benchmarks are never asserted in tests; tests/bench/test_bench_smoke.py only runs a
tiny configuration to check the JSON's shape.
"""
from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # ``python bench/run.py`` from anywhere
    sys.path.insert(0, str(ROOT))

BENCH_DIR = Path(__file__).resolve().parent
DEFAULT_OUT = BENCH_DIR / "results.json"
LEGACY_VENV = ROOT / ".venv-openai028"
LEGACY_SCRIPT = BENCH_DIR / "legacy_openai028.py"
NOT_BUILT = "not built yet (issue 5)"
MET, MISSED, INFO, SKIPPED = "target met", "MISSED", "info", "skipped"
SCENARIOS = ("legacy", "batch", "sync", "cpu", "preview", "kernel", "memory", "livepreview")


@dataclass
class BenchConfig:
    """Sizes of every scenario; the smoke test shrinks them."""

    legacy_processing: float = 2.0
    legacy_n: int = 3
    legacy_size: str = "1024x1024"
    legacy_openai028: bool = True
    batch_ops: int = 50
    batch_concurrency: int = 10
    batch_processing: float = 1.0
    sync_repeats: int = 2
    sync_cpu_ops: int = 300
    cpu_ops: int = 100
    cpu_concurrency: int = 10
    preview_size: str = "1024x1024"
    preview_repeats: int = 5
    preview_images: int = 5
    kernel_images_per_round: int = 20  # 4 panels x n=5
    kernel_rounds: int = 3
    kernel_processing: float = 1.0
    kernel_size: str = "1024x1024"
    kernel_baseline_cells: int = 100
    kernel_max_cells: int = 3000
    kernel_cell_gap: float = 0.01  # pause between trivial cells, so samples span the whole batch
    memory_ops: int = 40
    memory_n: int = 5
    memory_size: str = "256x256"
    memory_processing: float = 0.05
    live_processing: float = 4.0
    live_partials: int = 2
    live_reps: int = 5


@dataclass
class Row:
    id: str
    name: str
    metric: str
    ours: float | None
    baseline: float | None = None
    baseline_name: str = ""
    ratio: float | None = None
    target: str = ""
    verdict: str = INFO
    unit: str = ""
    details: dict[str, Any] = field(default_factory=dict)


def _verdict(value: float | None, limit: float, *, below: bool = True) -> str:
    if value is None:
        return MISSED
    return MET if (value <= limit if below else value < limit) else MISSED


# -- emulators ------------------------------------------------------------------------------------

def api_request_count(handle: Any) -> int:
    """Requests the emulator's API listener answered (image downloads are not counted)."""
    return sum(1 for r in handle.requests if r.listener == "api")


_EMU_PROC_CODE = """
import json, sys
from azimage_widgets import emulator
h = emulator.start(**json.loads(sys.argv[1]))
print(json.dumps({"endpoint": h.endpoint, "api_key": h.api_key}), flush=True)
sys.stdin.read()
h.stop()
"""


class EmulatorProcess:
    """The emulator in a child process, so the bench process's CPU and RSS are the client's only."""

    def __init__(self, **knobs: Any) -> None:
        self.knobs = knobs

    def __enter__(self) -> EmulatorProcess:
        env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
        self.proc = subprocess.Popen([sys.executable, "-c", _EMU_PROC_CODE, json.dumps(self.knobs)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
        line = self.proc.stdout.readline()
        if not line:
            self.proc.kill()
            raise RuntimeError("the emulator process did not start")
        info = json.loads(line)
        self.endpoint, self.api_key = info["endpoint"], info["api_key"]
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self.proc.stdin.close()
            self.proc.wait(timeout=10)
        except Exception:  # noqa: BLE001
            self.proc.kill()
            self.proc.wait()


def in_process_emulator(**knobs: Any) -> Any:
    from azimage_widgets import emulator

    return emulator.start(**knobs)


# -- 1. one legacy operation vs openai 0.28.1 -------------------------------------------------------

def bench_legacy(cfg: BenchConfig) -> list[Row]:
    import azimage_widgets as aw

    prompt = "a lighthouse at dusk, bench"
    emu = in_process_emulator(processing_time=cfg.legacy_processing, retry_after=None)
    try:
        conn = aw.Connection(emu.endpoint, api_key=emu.api_key)

        async def ours() -> tuple[float, Any]:
            async with aw.ImageClient(conn) as client:
                t0 = time.perf_counter()
                res = await client.generate(prompt, n=cfg.legacy_n, size=cfg.legacy_size)
                return time.perf_counter() - t0, res

        before = api_request_count(emu)
        wall, res = asyncio.run(ours())
        our_requests = api_request_count(emu) - before
        our_urls = len(res.urls)

        theirs: dict[str, Any] = {"skipped": "openai 0.28.1 comparison switched off"}
        their_wall = their_requests = None
        py = LEGACY_VENV / "bin" / "python"
        if cfg.legacy_openai028 and py.exists():
            before = api_request_count(emu)
            out = subprocess.run([str(py), str(LEGACY_SCRIPT), emu.endpoint, prompt, str(cfg.legacy_n),
                                  cfg.legacy_size], input=emu.api_key + "\n", capture_output=True,
                                 text=True, timeout=120)
            if out.returncode == 0:
                theirs = json.loads(out.stdout.strip().splitlines()[-1])
                their_wall = float(theirs["wall"])
                their_requests = api_request_count(emu) - before
            else:
                theirs = {"error": out.stderr.strip().splitlines()[-1:] or ["exit " + str(out.returncode)]}
        elif cfg.legacy_openai028:
            theirs = {"error": f"{py} missing: python3 -m venv .venv-openai028 && "
                               f".venv-openai028/bin/pip install openai==0.28.1 requests"}
    finally:
        emu.stop()
    ratio = wall / their_wall if their_wall else None
    return [
        Row("1", f"legacy op, {cfg.legacy_n} images, {cfg.legacy_processing:g} s, no Retry-After",
            "wall s", wall, their_wall, "openai 0.28.1", ratio, "ratio <= 0.35",
            _verdict(ratio, 0.35) if their_wall else SKIPPED, "s",
            {"urls": our_urls, "baseline": theirs}),
        Row("1r", "  requests for that operation", "requests", float(our_requests),
            float(their_requests) if their_requests is not None else None, "openai 0.28.1",
            our_requests / their_requests if their_requests else None, "", INFO, "req"),
    ]


# -- 2. 50 operations at concurrency 10 -------------------------------------------------------------

def bench_batch(cfg: BenchConfig) -> list[Row]:
    import azimage_widgets as aw

    emu = in_process_emulator(processing_time=cfg.batch_processing, retry_after=None)
    try:
        conn = aw.Connection(emu.endpoint, api_key=emu.api_key)
        prompts = [f"bench batch {i}" for i in range(cfg.batch_ops)]

        async def ours() -> tuple[float, list[Any]]:
            async with aw.ImageClient(conn) as client:
                t0 = time.perf_counter()
                out = await client.generate_many(prompts, size="256x256", concurrency=cfg.batch_concurrency)
                return time.perf_counter() - t0, out

        before = api_request_count(emu)
        wall, out = asyncio.run(ours())
        requests = api_request_count(emu) - before
    finally:
        emu.stop()
    failures = [repr(o) for o in out if isinstance(o, Exception)]
    waves = -(-cfg.batch_ops // cfg.batch_concurrency)
    ideal = waves * cfg.batch_processing
    ratio = wall / ideal
    return [
        Row("2", f"{cfg.batch_ops} ops at concurrency {cfg.batch_concurrency}, "
            f"{cfg.batch_processing:g} s each", "wall s", wall, ideal, "ideal", ratio, "ratio <= 1.10",
            MISSED if failures else _verdict(ratio, 1.10), "s", {"failures": failures[:3]}),
        Row("2r", "  requests per operation", "req/op", requests / cfg.batch_ops, None, "", None, "",
            INFO, "req"),
    ]


# -- 3. client CPU per request ----------------------------------------------------------------------

def bench_cpu(cfg: BenchConfig) -> list[Row]:
    import azimage_widgets as aw

    with EmulatorProcess(processing_time=0.0, retry_after=None, latency=0.0) as emu:
        conn = aw.Connection(emu.endpoint, api_key=emu.api_key)
        sent = 0

        async def count(_request: Any) -> None:
            nonlocal sent
            sent += 1

        async def run(ops: int) -> tuple[float, float, int]:
            nonlocal sent
            async with aw.ImageClient(conn, event_hooks={"request": [count]}) as client:
                await client.generate_many(["warm up"] * 2, size="256x256", concurrency=2)
                sent = 0
                c0, t0 = time.process_time(), time.perf_counter()
                out = await client.generate_many([f"cpu {i}" for i in range(ops)], size="256x256",
                                                 concurrency=cfg.cpu_concurrency)
                cpu, wall = time.process_time() - c0, time.perf_counter() - t0
                assert not [o for o in out if isinstance(o, Exception)], out
                return cpu, wall, sent

        cpu, wall, n = asyncio.run(run(cfg.cpu_ops))
    per = cpu / n * 1000 if n else None
    return [
        Row("3", "client CPU per request, zero latency (legacy flow)", "CPU ms/req", per, None, "", None, "",
            INFO, "ms", {"requests": n, "operations": cfg.cpu_ops, "cpu_s": cpu, "wall_s": wall}),
    ]


# -- 2v / 3v. the synchronous flow: ours vs openai v1 ----------------------------------------------

SYNC_VERSION = "2024-10-21"
SYNC_DEPLOYMENT = "dall-e-3"


def sync_flow_available() -> str | None:
    """None when both sides of the comparison exist; else why not."""
    from azimage_widgets.contract import API_VERSIONS

    if SYNC_VERSION not in API_VERSIONS:
        return NOT_BUILT
    try:
        import openai
    except ImportError:
        return "skipped: openai v1 not installed"
    if not hasattr(openai, "AsyncAzureOpenAI"):
        return "skipped: openai has no AsyncAzureOpenAI"
    return None


async def _ours_sync(endpoint: str, key: str, prompts: list[str], concurrency: int,
                     counter: list[int]) -> tuple[float, float, list[Any]]:
    import azimage_widgets as aw

    async def count(_request: Any) -> None:
        counter[0] += 1

    conn = aw.Connection(endpoint, api_key=key, api_version=SYNC_VERSION, deployment=SYNC_DEPLOYMENT,
                         timeout=60)
    async with aw.ImageClient(conn, event_hooks={"request": [count]}) as client:
        await client.generate_many(["warm up"], size="1024x1024", concurrency=1)
        counter[0] = 0
        c0, t0 = time.process_time(), time.perf_counter()
        out = await client.generate_many(prompts, size="1024x1024", concurrency=concurrency)
        return time.perf_counter() - t0, time.process_time() - c0, out


async def _theirs_sync(endpoint: str, key: str, prompts: list[str], concurrency: int,
                       counter: list[int]) -> tuple[float, float, list[Any]]:
    """openai v1 the way its docs suggest for many calls: AsyncAzureOpenAI, gather, a semaphore."""
    import httpx
    import openai

    async def count(_request: Any) -> None:
        counter[0] += 1

    http = httpx.AsyncClient(event_hooks={"request": [count]}, timeout=60)
    client = openai.AsyncAzureOpenAI(azure_endpoint=endpoint, api_key=key, api_version=SYNC_VERSION,
                                     http_client=http)
    sem = asyncio.Semaphore(concurrency)

    async def one(prompt: str) -> Any:
        async with sem:
            return await client.images.generate(model=SYNC_DEPLOYMENT, prompt=prompt, n=1, size="1024x1024")

    try:
        await one("warm up")
        counter[0] = 0
        c0, t0 = time.process_time(), time.perf_counter()
        out = await asyncio.gather(*(one(p) for p in prompts), return_exceptions=True)
        return time.perf_counter() - t0, time.process_time() - c0, list(out)
    finally:
        await client.close()
        await http.aclose()


def bench_sync(cfg: BenchConfig) -> list[Row]:
    why = sync_flow_available()
    if why is not None:
        return [Row("2v", "  vs openai v1 AsyncAzureOpenAI, sync flow", "wall s", None, None, "openai v1",
                    None, "ratio <= 1.0", why),
                Row("3v", "  client CPU per request vs openai v1, sync flow", "CPU ms/req", None, None,
                    "openai v1", None, "ratio <= 1.0", why)]
    import openai

    rows = []
    # wall time: every call takes ``latency`` seconds at the service, as the legacy jobs took 1 s
    emu = in_process_emulator(latency=cfg.batch_processing, retry_after=None)
    try:
        prompts = [f"bench sync {i}" for i in range(cfg.batch_ops)]
        n1, n2 = [0], [0]
        ours_walls, their_walls = [], []
        for _ in range(cfg.sync_repeats):  # interleaved, best of each: both are latency-bound
            w, _, ours_out = asyncio.run(_ours_sync(emu.endpoint, emu.api_key, prompts,
                                                    cfg.batch_concurrency, n1))
            ours_walls.append(w)
            w, _, their_out = asyncio.run(_theirs_sync(emu.endpoint, emu.api_key, prompts,
                                                       cfg.batch_concurrency, n2))
            their_walls.append(w)
        ours_wall, their_wall = min(ours_walls), min(their_walls)
    finally:
        emu.stop()
    failures = [repr(o) for o in ours_out if isinstance(o, BaseException)]
    their_failures = [repr(o) for o in their_out if isinstance(o, BaseException)]
    ratio = ours_wall / their_wall
    rows.append(Row("2v", f"  {cfg.batch_ops} calls at concurrency {cfg.batch_concurrency}, sync flow, "
                          f"{cfg.batch_processing:g} s latency", "wall s", ours_wall, their_wall,
                    f"openai {openai.__version__}", ratio, "ratio <= 1.0",
                    MISSED if failures else _verdict(ratio, 1.0), "s",
                    {"failures": failures[:3], "baseline_failures": their_failures[:3],
                     "requests": n1[0], "baseline_requests": n2[0], "ours_walls": ours_walls,
                     "baseline_walls": their_walls, "ideal_s": -(-cfg.batch_ops // cfg.batch_concurrency)
                     * cfg.batch_processing}))
    # CPU: zero latency, the emulator in another process
    with EmulatorProcess(latency=0.0, retry_after=None) as emu2:
        prompts = [f"bench sync cpu {i}" for i in range(cfg.sync_cpu_ops)]
        n1, n2 = [0], [0]
        _, ours_cpu, ours_out = asyncio.run(_ours_sync(emu2.endpoint, emu2.api_key, prompts,
                                                       cfg.cpu_concurrency, n1))
        _, their_cpu, their_out = asyncio.run(_theirs_sync(emu2.endpoint, emu2.api_key, prompts,
                                                           cfg.cpu_concurrency, n2))
    ours_per = ours_cpu / n1[0] * 1000 if n1[0] else None
    their_per = their_cpu / n2[0] * 1000 if n2[0] else None
    cpu_ratio = ours_per / their_per if ours_per and their_per else None
    failures = [repr(o) for o in ours_out if isinstance(o, BaseException)]
    rows.append(Row("3v", "  client CPU per request vs openai v1, sync flow, zero latency", "CPU ms/req",
                    ours_per, their_per, f"openai {openai.__version__}", cpu_ratio, "ratio <= 1.0",
                    MISSED if failures or cpu_ratio is None else _verdict(cpu_ratio, 1.0), "ms",
                    {"requests": n1[0], "baseline_requests": n2[0], "cpu_s": ours_cpu,
                     "baseline_cpu_s": their_cpu, "failures": failures[:3]}))
    return rows


# -- 4. preview cost ---------------------------------------------------------------------------------

def widget_state_bytes(root: Any) -> int:
    """Bytes a front end receives for ``root``'s tree: JSON state plus binary buffers."""
    from ipywidgets.widgets.widget import _remove_buffers

    from azimage_widgets.widgets import walk

    total = 0
    for w in walk(root):
        state, buffer_paths, buffers = _remove_buffers(w.get_state())
        total += len(json.dumps(state, default=str).encode()) + sum(len(bytes(b)) for b in buffers)
    return total


def bench_preview(cfg: BenchConfig) -> list[Row]:
    import azimage_widgets as aw
    from azimage_widgets.activities.download_image import DownloadResult, ImageSlot, decode_image
    from azimage_widgets.widgets import PreviewGrid

    emu = in_process_emulator(processing_time=0.05, retry_after=None)
    try:
        conn = aw.Connection(emu.endpoint, api_key=emu.api_key)

        async def fetch() -> list[tuple[Any, bytes]]:
            async with aw.ImageClient(conn) as client:
                out = []
                for _ in range(cfg.preview_images):  # one image per operation (the default version's n)
                    res = await client.generate("a preview benchmark, a fox in snow", size=cfg.preview_size)
                    out.append((res, await client.fetch_image(res.urls[0])))
                return out

        fetched = asyncio.run(fetch())
    finally:
        emu.stop()
    res, png = fetched[0]
    times = []
    for _ in range(cfg.preview_repeats):
        t0 = time.perf_counter()
        img, thumb = decode_image(png)
        times.append(time.perf_counter() - t0)
    ms = statistics.median(times) * 1000
    results, thumbs = [], []
    for res_i, png_i in fetched:
        img_i, thumb_i = decode_image(png_i)
        thumbs.append(len(thumb_i))
        results.append(DownloadResult(res_i, [ImageSlot(0, url=res_i.urls[0], data=png_i, image=img_i,
                                                        thumbnail=thumb_i)]))
    grid = PreviewGrid(prefix="bench")
    empty = widget_state_bytes(grid)
    grid.show(results[:1])
    first = widget_state_bytes(grid) - empty  # one tile, plus the tiles' shared layouts made for it
    t0 = time.perf_counter()
    grid.show(results)
    show_ms = (time.perf_counter() - t0) * 1000
    k = len(results)
    state = (widget_state_bytes(grid) - empty) / k
    grid.close()
    from bench.widget_state import state_of

    panel = aw.RequestImagePanel(name="bench-empty-panel", prompt="a fox", namespace={})
    panel_state = state_of(panel)
    panel.close()
    png_mean = sum(len(p) for _r, p in fetched) / k
    thumb_mean = sum(thumbs) / k
    share = state / png_mean
    return [
        Row("4", f"thumbnail of a {cfg.preview_size} PNG (decode + thumbnail)", "ms", ms, None, "", None, "",
            INFO, "ms", {"png_bytes": len(png), "thumbnail_bytes": len(thumb), "grid_show_ms": show_ms}),
        Row("4b", f"  widget state per image vs the PNG ({k}-image result)", "state bytes", state, png_mean,
            "PNG bytes", share, "ratio <= 0.10", _verdict(share, 0.10), "B",
            {"images": k, "thumbnail_bytes": thumb_mean, "tile_json_bytes": state - thumb_mean,
             "first_image_state_bytes": first,
             "note": f"state = (preview grid with a {k}-image result - empty grid) / {k}: JPEG thumbnail "
                     "buffer + JSON of each tile's widgets, plus the Layout/Style models the tiles share "
                     "(made with the first tile, so first_image_state_bytes holds them all), as sent on "
                     "comm_open; PNG bytes = the mean of the emulator's PNGs"}),
        Row("4c", "  widget state of an empty RequestImagePanel", "state bytes",
            float(panel_state["json_bytes"]), None, "", None, "", INFO, "B",
            {"models": panel_state["models"], "by_model": panel_state["by_model"],
             "drop_defaults_json_bytes": panel_state["drop_defaults_json_bytes"],
             "note": "JSON of every model's full state (as nbclient saves it); bench/widget_state.py"}),
    ]


# -- 5. kernel responsiveness -------------------------------------------------------------------------

_KERNEL_SETUP = """
import asyncio, time
import azimage_widgets as aw
_conn = aw.Connection({endpoint!r}, api_key={key!r})
_bench = {{"done": False, "images": 0, "error": None, "rounds": 0, "started": time.time()}}
# the panels exist before the batch starts, as on a user's screen; the batch is their Generate
_panels = [aw.RequestImagePanel(_conn, prompt="bench kernel", n={n}, size={size!r}, namespace={{}})
           for i in range({panels})]

async def _bench_batch():
    try:
        for r in range({rounds}):
            for i, p in enumerate(_panels):
                p.activity.prompt = f"bench kernel {{r}} {{i}}"
            await asyncio.gather(*(p.submit() for p in _panels))
            _bench["images"] += sum(len(res.images) for p in _panels for res in p.results if res)
            _bench["rounds"] += 1
    except Exception as exc:
        _bench["error"] = repr(exc)
    finally:
        _bench["done"] = True
"""


def percentile(values: list[float], q: float) -> float:
    s = sorted(values)
    k = (len(s) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def bench_kernel(cfg: BenchConfig) -> list[Row]:
    from jupyter_client.manager import KernelManager

    n = 5
    panels = max(1, cfg.kernel_images_per_round // n)
    emu = in_process_emulator(processing_time=cfg.kernel_processing, retry_after=None)
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    for var in [v for v in env if v.startswith("AZURE_OPENAI_")]:
        del env[var]
    km = KernelManager(kernel_name="python3")
    km.start_kernel(env=env, cwd=str(ROOT))
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=60)

        def run(code: str, **kw: Any) -> dict[str, Any]:
            reply = kc.execute_interactive(code, store_history=False, timeout=60,
                                           output_hook=lambda m: None, **kw)
            if reply["content"]["status"] != "ok":
                raise RuntimeError(f"kernel cell failed: {reply['content'].get('evalue')}")
            return reply["content"]

        def trivial(count: int, until: Callable[[], bool] | None = None) -> list[float]:
            out = []
            for i in range(count):
                t0 = time.perf_counter()
                run("_x = 1")
                out.append((time.perf_counter() - t0) * 1000)
                if until is not None and i % 10 == 9 and until():
                    break
                time.sleep(cfg.kernel_cell_gap)
            return out

        def expr(e: str) -> Any:
            c = run("pass", user_expressions={"v": e})
            return json.loads(c["user_expressions"]["v"]["data"]["text/plain"].replace("'", '"')
                              .replace("True", "true").replace("False", "false").replace("None", "null"))

        run(_KERNEL_SETUP.format(endpoint=emu.endpoint, key=emu.api_key, rounds=cfg.kernel_rounds,
                                 n=n, size=cfg.kernel_size, panels=panels))
        trivial(10)  # warm up
        base = trivial(cfg.kernel_baseline_cells)
        run("_bench_task = asyncio.get_running_loop().create_task(_bench_batch())")
        t0 = time.perf_counter()
        busy = trivial(cfg.kernel_max_cells, until=lambda: expr("_bench['done']"))
        while not expr("_bench['done']") and time.perf_counter() - t0 < 120:
            time.sleep(0.2)
        batch_wall = time.perf_counter() - t0
        status = {"images": expr("_bench['images']"), "rounds": expr("_bench['rounds']"),
                  "error": expr("_bench['error']")}
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
        emu.stop()
    p50, p95 = percentile(busy, 0.5), percentile(busy, 0.95)
    b50, b95 = percentile(base, 0.5), percentile(base, 0.95)
    ok_batch = status["error"] is None and status["images"] == cfg.kernel_rounds * panels * n
    details = {"samples_busy": len(busy), "samples_idle": len(base), "batch_wall_s": batch_wall,
               "batch": status, "idle_p50_ms": b50, "idle_p95_ms": b95, "busy_max_ms": max(busy)}
    return [
        Row("5", f"trivial cell p95 while a {panels * n}-image batch runs (x{cfg.kernel_rounds})", "p95 ms",
            p95, b95, "idle kernel p95", p95 / b95 if b95 else None, "p95 < 100 ms",
            _verdict(p95, 100.0, below=False) if ok_batch else MISSED, "ms", details),
        Row("5m", "  trivial cell p50", "p50 ms", p50, b50, "idle kernel p50", p50 / b50 if b50 else None, "",
            INFO, "ms"),
    ]


# -- 6. memory -----------------------------------------------------------------------------------------

def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _memory_run(cfg: BenchConfig, store: Any) -> dict[str, Any]:
    """RSS before/after driving one panel through ``memory_ops`` operations."""
    import azimage_widgets as aw

    with EmulatorProcess(processing_time=cfg.memory_processing, retry_after=None) as emu:
        conn = aw.Connection(emu.endpoint, api_key=emu.api_key)

        async def drive() -> dict[str, Any]:
            panel = aw.RequestImagePanel(conn, prompt="bench memory warm up", n=cfg.memory_n,
                                         size=cfg.memory_size, namespace={}, store=store)
            await panel.submit()  # warm up: imports, pools, caches, the store's index
            gc.collect()
            before = rss_mb()
            images, errors = 0, []
            t0 = time.perf_counter()
            for i in range(cfg.memory_ops):
                panel.activity.prompt = f"bench memory {i} {'store' if store is None else 'nostore'}"
                try:
                    await panel.submit()
                except Exception as exc:  # noqa: BLE001
                    errors.append(repr(exc))
                images += sum(len(r.images) for r in panel.results if r)
            wall = time.perf_counter() - t0
            panel.close()
            await aw.ImageClient.close_shared()
            gc.collect()
            return {"rss_before_mb": before, "rss_after_mb": rss_mb(), "images": images,
                    "errors": errors[:3], "wall_s": wall}

        return asyncio.run(drive())


def bench_memory(cfg: BenchConfig) -> list[Row]:
    rows = []
    for rid, label, store in (("6", "through a panel", False),
                              ("6s", "through a panel and the image store", None)):
        d = _memory_run(cfg, store)
        growth = d["rss_after_mb"] - d["rss_before_mb"]
        rows.append(Row(rid, f"RSS growth after {d['images']} images {label} ({cfg.memory_size})", "MB",
                        growth, d["rss_before_mb"], "RSS before (MB)", None, "growth < 60 MB",
                        _verdict(growth, 60.0, below=False) if not d["errors"] else MISSED, "MB", d))
    return rows


# -- 7. live previews -----------------------------------------------------------------------------------

def bench_live_preview(cfg: BenchConfig) -> list[Row]:
    from bench.live_preview_bench import TARGET_MS, measure

    r = measure(cfg.live_processing, cfg.live_partials, cfg.live_reps)
    details = {k: v for k, v in r.items() if k != "runs"} | {"runs": r["runs"]}
    what = f"gpt-image-2, {cfg.live_processing:g} s, {cfg.live_partials} partials, x{cfg.live_reps}"
    return [
        Row("7", f"first partial event to the first tile's update ({what})", "max ms",
            r["latency_max_ms"], None, "", None, f"<= {TARGET_MS:.0f} ms",
            _verdict(r["latency_max_ms"], TARGET_MS), "ms", details),
        Row("7m", "  the same, median", "median ms", r["latency_median_ms"], None, "", None, "",
            INFO, "ms"),
        Row("7r", "  time to first preview vs non-streamed time to image", "s",
            r["time_to_first_preview_s"], r["sdk_time_to_image_s"], "openai SDK, no stream",
            r["ratio"], "", INFO, "s"),
    ]


BENCHES: dict[str, Callable[[BenchConfig], list[Row]]] = {
    "legacy": bench_legacy, "batch": bench_batch, "sync": bench_sync, "cpu": bench_cpu,
    "preview": bench_preview, "kernel": bench_kernel, "memory": bench_memory,
    "livepreview": bench_live_preview,
}


# -- running and reporting ------------------------------------------------------------------------------

def machine() -> dict[str, Any]:
    model = ""
    try:
        with open("/proc/cpuinfo") as f:
            model = next((line.split(":", 1)[1].strip() for line in f
                          if line.startswith("model name")), "")
    except OSError:
        pass
    mem = ""
    try:
        with open("/proc/meminfo") as f:
            mem = f.readline().split(":", 1)[1].strip()
    except OSError:
        pass
    try:
        load = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        load = []
    return {"platform": platform.platform(), "python": platform.python_version(), "cpus": os.cpu_count(),
            "cpu_model": model, "memory": mem, "loadavg_at_end": load}


def run(cfg: BenchConfig | None = None, only: list[str] | None = None) -> dict[str, Any]:
    """Run the scenarios (all, or ``only``); the results as a JSON-ready dict."""
    cfg = cfg or BenchConfig()
    names = list(only or SCENARIOS)
    unknown = set(names) - set(SCENARIOS)
    if unknown:
        raise ValueError(f"unknown scenario(s): {', '.join(sorted(unknown))}; known: {', '.join(SCENARIOS)}")
    rows: list[Row] = []
    errors: dict[str, str] = {}
    t0 = time.perf_counter()
    # The panels keep every fetched image in the image store: a throwaway one, never the user's
    # (the kernel of scenario 5 inherits the variable).
    store_tmp = tempfile.TemporaryDirectory(prefix="azimage-bench-store-")
    saved_env = os.environ.get("AZIMAGE_STORE_DIR")
    os.environ["AZIMAGE_STORE_DIR"] = store_tmp.name
    try:
        _run_all(cfg, names, rows, errors)
    finally:
        if saved_env is None:
            os.environ.pop("AZIMAGE_STORE_DIR", None)
        else:
            os.environ["AZIMAGE_STORE_DIR"] = saved_env
        store_tmp.cleanup()
    return {"started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "seconds": time.perf_counter() - t0, "machine": machine(), "config": asdict(cfg),
            "scenarios": names, "errors": errors, "rows": [asdict(r) for r in rows]}


def _run_all(cfg: BenchConfig, names: list[str], rows: list[Row], errors: dict[str, str]) -> None:
    for name in names:
        s0 = time.perf_counter()
        try:
            rows.extend(BENCHES[name](cfg))
        except Exception as exc:  # noqa: BLE001 - one broken scenario must not hide the others
            import traceback

            errors[name] = f"{type(exc).__name__}: {exc}"
            rows.append(Row(name, f"{name}: failed to run", "", None, verdict=MISSED,
                            details={"error": errors[name], "traceback": traceback.format_exc()}))
        print(f"  [{name} done in {time.perf_counter() - s0:.1f} s]", file=sys.stderr, flush=True)


def _fmt(v: float | None, unit: str = "") -> str:
    if v is None:
        return "-"
    if unit == "B" or (abs(v) >= 1000 and unit != "s"):
        return f"{v:,.0f}"
    if abs(v) >= 100:
        return f"{v:.0f}"
    if abs(v) >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}" if unit != "ms" or abs(v) >= 1 else f"{v:.3f}"


def _ratio(r: float | None) -> str:
    if r is None:
        return "-"
    return f"{r:.3f}" if 0.995 <= r <= 1.005 or 0.345 <= r <= 0.355 or 1.095 <= r <= 1.105 else f"{r:.2f}"


def table(results: dict[str, Any]) -> str:
    head = ["#", "benchmark", "metric", "ours", "baseline", "ratio", "target", "verdict"]
    lines = []
    for r in results["rows"]:
        base = _fmt(r["baseline"], r["unit"])
        if r["baseline_name"] and r["baseline"] is not None:
            base = f"{base} ({r['baseline_name']})"
        lines.append([r["id"], r["name"], r["metric"], _fmt(r["ours"], r["unit"]), base,
                      _ratio(r["ratio"]), r["target"] or "-", r["verdict"]])
    widths = [max(len(str(x)) for x in col) for col in zip(head, *lines, strict=True)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    out = [fmt.format(*head), fmt.format(*["-" * w for w in widths])]
    out += [fmt.format(*line) for line in lines]
    m = results["machine"]
    out.append("")
    out.append(f"machine: {m['cpus']} cpu ({m['cpu_model']}), {m['memory']}, Python {m['python']}, "
               f"{m['platform']}; run took {results['seconds']:.0f} s; load average at the end "
               f"{'/'.join(str(x) for x in m.get('loadavg_at_end', []))} "
               "(other work on the machine skews timings)")
    for name, err in results["errors"].items():
        out.append(f"error in {name}: {err}")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", help=f"comma-separated scenarios of {', '.join(SCENARIOS)}")
    ap.add_argument("--out", default=str(DEFAULT_OUT),
                    help="where to write the JSON (default bench/results.json)")
    ap.add_argument("--no-openai028", action="store_true", help="skip the openai 0.28.1 baseline")
    args = ap.parse_args(argv)
    cfg = BenchConfig(legacy_openai028=not args.no_openai028)
    only = [s.strip() for s in args.only.split(",") if s.strip()] if args.only else None
    results = run(cfg, only)
    Path(args.out).write_text(json.dumps(results, indent=2, default=str) + "\n")
    print(table(results))
    print(f"\nwritten: {args.out}")
    return 1 if results["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
