"""Widget state of the panels: models by ``_model_name`` and JSON bytes (issue 6, bench 4).

    .venv/bin/python -m bench.widget_state            # table
    .venv/bin/python -m bench.widget_state --json     # the same numbers as JSON

No kernel (ipywidgets' dummy comms). Measures an empty RequestImagePanel and
DownloadImagePanel, then a RequestImagePanel after a 5-image result from the
in-process emulator. Bytes are the JSON of each model's full state (what a
front end receives on ``comm_open`` and what nbclient saves in a notebook),
binary buffers (thumbnails) counted separately; ``drop_defaults`` bytes are
what ``Widget.get_manager_state(drop_defaults=True)`` would embed.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import sys
import uuid
from collections import Counter
from typing import Any


def state_of(root: Any) -> dict[str, Any]:
    """Models reachable from ``root``: count by model name, JSON bytes (full and drop_defaults), buffers."""
    from ipywidgets.widgets.widget import _remove_buffers

    from azimage_widgets.widgets import walk

    models: Counter[str] = Counter()
    json_bytes = lean_bytes = buffer_bytes = 0
    for w in walk(root):
        models[w._model_name] += 1
        state, _paths, buffers = _remove_buffers(w.get_state())
        json_bytes += len(json.dumps(state, default=str).encode())
        buffer_bytes += sum(len(bytes(b)) for b in buffers)
        lean, _paths, _buffers = _remove_buffers(w.get_state(drop_defaults=True))
        lean_bytes += len(json.dumps(lean, default=str).encode())
    return {"models": sum(models.values()), "json_bytes": json_bytes,
            "drop_defaults_json_bytes": lean_bytes, "buffer_bytes": buffer_bytes,
            "by_model": dict(models.most_common())}


def measure(images: int = 5, size: str = "1024x1024") -> dict[str, Any]:
    import azimage_widgets as aw
    from azimage_widgets import emulator

    out: dict[str, Any] = {}
    req = aw.RequestImagePanel(name=f"m-{uuid.uuid4().hex[:6]}", prompt="a fox", namespace={})
    out["empty_request"] = state_of(req)
    dl = aw.DownloadImagePanel(name=f"m-{uuid.uuid4().hex[:6]}", namespace={})
    out["empty_download"] = state_of(dl)
    req.close()
    dl.close()

    emu = emulator.start(processing_time=0.05, retry_after=None)
    try:
        conn = aw.Connection(emu.endpoint, api_key=emu.api_key)

        async def run() -> Any:
            p = aw.RequestImagePanel(conn, name=f"m-{uuid.uuid4().hex[:6]}", prompt="a fox in snow",
                                     size=size, n=images, namespace={})
            before = state_of(p)
            await p.submit()
            return p, before

        panel, before = asyncio.run(run())
    finally:
        emu.stop()
    after = state_of(panel)
    thumbs = [w for w in panel.previews.thumbs]
    out["request_with_images"] = after
    out["images"] = len(thumbs)
    n = max(1, len(thumbs))
    out["per_image"] = {
        "models": (after["models"] - before["models"]) / n,
        "json_bytes": (after["json_bytes"] - before["json_bytes"]) / n,
        "drop_defaults_json_bytes": (after["drop_defaults_json_bytes"]
                                     - before["drop_defaults_json_bytes"]) / n,
        "thumbnail_bytes": (after["buffer_bytes"] - before["buffer_bytes"]) / n,
    }
    # the part of the run's growth that is not the tiles (status, ids, progress rows)
    out["grid_only"] = state_of(panel.previews)
    panel.close()
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--images", type=int, default=5)
    args = ap.parse_args(argv)
    res = measure(args.images)
    if args.json:
        print(json.dumps(res, indent=1))
        return 0
    for key in ("empty_request", "empty_download", "request_with_images"):
        r = res[key]
        print(f"{key:22} models {r['models']:4}  json {r['json_bytes']:8,} B  "
              f"drop_defaults {r['drop_defaults_json_bytes']:8,} B  buffers {r['buffer_bytes']:8,} B")
        print("    " + ", ".join(f"{k} {v}" for k, v in r["by_model"].items()))
    p = res["per_image"]
    print(f"per image ({res['images']} images): models {p['models']:.1f}  json {p['json_bytes']:,.0f} B  "
          f"drop_defaults {p['drop_defaults_json_bytes']:,.0f} B  thumbnail {p['thumbnail_bytes']:,.0f} B")
    return 0


if __name__ == "__main__":
    sys.exit(main())
