"""Every notebook in notebooks/ runs headless under nbclient against the embedded emulator.

The kernel is ``python3`` started with this interpreter (the venv's), with
AZURE_OPENAI_* removed from its environment so ``Connection.from_env()``
uses the emulator, and with Jupyter/IPython folders pointed at a temp dir.
"""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpecManager
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def test_there_are_notebooks():
    assert any(p.name == "quickstart.ipynb" for p in NOTEBOOKS)


def test_python3_kernel_is_this_interpreter():
    spec = KernelSpecManager().get_kernel_spec("python3")
    exe = spec.argv[0]
    assert exe in ("python", sys.executable) or Path(exe).resolve() == Path(sys.executable).resolve()


def _execute(path: Path, cwd: Path) -> nbformat.NotebookNode:
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=180, kernel_name="python3", allow_errors=False,
                            store_widget_state=True, resources={"metadata": {"path": str(cwd)}})
    client.execute()
    return nb


def _text(nb) -> str:
    parts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream":
                parts.append(out.get("text", ""))
            elif "data" in out:
                parts.append(str(out["data"].get("text/plain", "")))
    return "\n".join(parts)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs(path, kernel_env):
    nb = _execute(path, kernel_env)
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors
    state = nb.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    assert state, "no widget state was saved"
    views = [o for c in nb.cells for o in c.get("outputs", []) if WIDGET_VIEW in o.get("data", {})]
    assert views, "no widget was displayed"
    for v in views:
        assert v["data"][WIDGET_VIEW]["model_id"] in state
    if path.name == "quickstart.ipynb":
        _check_quickstart(nb, state, [v["data"][WIDGET_VIEW]["model_id"] for v in views])


def _reachable(state: dict, roots: list[str]) -> set[str]:
    """Model ids reachable from the displayed views through IPY_MODEL_ references."""
    seen: set[str] = set()
    stack = list(roots)
    while stack:
        mid = stack.pop()
        if mid in seen or mid not in state:
            continue
        seen.add(mid)
        text = json.dumps(state[mid]["state"])
        stack.extend(re.findall(r"IPY_MODEL_([0-9a-f]+)", text))
    return seen


def _check_quickstart(nb, state, roots) -> None:
    text = _text(nb)
    assert "operation ids: ['" in text and "ids after the click: ['" in text
    assert "fox.ids = ['" in text
    assert "2 images of size (256, 256)" in text
    assert "urls: 2 images: [(256, 256), (256, 256)]" in text
    assert "the Download Image ID now follows Request Image:" in text
    assert "dl still reads: [fox_id]" in text  # the chaining cell feeds a panel of its own
    # today's models: v1 with a gpt-image-2 deployment, a custom size, live previews
    assert "model: gpt-image-2" in text and "v1 ids: ['sync-" in text
    assert "image size: (1536, 864)" in text
    assert "refused: size: edges must be multiples of 16" in text
    shown = _reachable(state, roots)
    assert any(state[m]["state"].get("value") == "[fox_id]" for m in shown)  # its ID field
    images = [state[m] for m in shown if state[m].get("model_name") == "ImageModel"]
    thumbs = [m for m in images if "azimage-thumb" in m["state"].get("_dom_classes", [])]
    # the panels as shown now: Request Image's last run (2) + Download Image (2) + the v1
    # panel's image (its partial tiles were replaced); the first run's tiles were replaced
    # too (nbclient keeps closed models in the state, unreachable)
    assert len(thumbs) == 5
    assert not [m for m in shown if "azimage-partial" in state[m]["state"].get("_dom_classes", [])]
    for m in thumbs:
        assert m["state"]["format"] == "webp"
        assert m.get("buffers") or m["state"].get("value"), "thumbnail has no bytes"
    ids = [state[m] for m in shown if "azimage-ids" in state[m]["state"].get("_dom_classes", [])]
    assert ids and "<code" in ids[0]["state"]["value"]
