"""What the teaching, prompt-iteration and batch (CSV) notebooks show, run under nbclient.

``test_notebooks.py`` checks that every notebook runs; these check what the
notebooks demonstrate, from their outputs and their saved widget state.
"""
from __future__ import annotations

import nbformat
import pytest
from test_notebooks import (
    NOTEBOOKS,
    ROOT,
    WIDGET_STATE,
    WIDGET_VIEW,
    _execute,
    _reachable,
    _text,
)

pytestmark = pytest.mark.timeout(300)


def _state_and_roots(nb) -> tuple[dict, list[str]]:
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors, [(e["ename"], e["evalue"]) for e in errors]
    state = nb.metadata["widgets"][WIDGET_STATE]["state"]
    roots = [o["data"][WIDGET_VIEW]["model_id"] for c in nb.cells for o in c.get("outputs", [])
             if WIDGET_VIEW in o.get("data", {})]
    return state, roots


def _with_class(state: dict, ids: set[str], css: str) -> list[dict]:
    return [state[m] for m in ids if css in state[m]["state"].get("_dom_classes", [])]


def _markdown(nb) -> str:
    return "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")


def test_my_notebooks_are_picked_up_by_test_notebooks():
    names = {p.name for p in NOTEBOOKS}
    assert {"quickstart.ipynb", "teaching.ipynb", "prompt_iteration.ipynb", "batch.ipynb"} <= names


@pytest.mark.parametrize("name", ["teaching.ipynb", "prompt_iteration.ipynb"])
def test_notebook_says_it_runs_on_azure_when_configured(name):
    nb = nbformat.read(ROOT / "notebooks" / name, as_version=4)
    text = _markdown(nb)
    assert "aw.Connection.from_env()" in text and "AZURE_OPENAI_ENDPOINT" in text
    assert "emulator" in text
    # no outputs committed: the notebooks are sources, tests execute them
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code")


def test_teaching(kernel_env):
    nb = _execute(ROOT / "notebooks" / "teaching.ipynb", kernel_env)
    state, roots = _state_and_roots(nb)
    text = _text(nb)
    assert "talking to the local emulator" in text
    # the two activities and the [variable]
    assert "operation ids: ['" in text
    assert "resolved id matches: True" in text
    assert "images: [(256, 256), (256, 256)]" in text
    # chaining through traitlets.dlink
    assert "Download Image ID follows Request Image: True" in text
    assert "after a new Generate, the Download ID is the new operation: True" in text
    assert "chained download: succeeded 2 images" in text
    # the refusal: exception, status, and the panel's red status line
    assert "refused: contentFilter - Your task failed as a result of our safety system." in text
    assert "status: failed" in text and "panel error: contentFilter" in text
    shown = _reachable(state, roots)
    errors = [m["state"]["value"] for m in _with_class(state, shown, "azimage-error")]
    assert any("Failed" in v and "contentFilter" in v and "safety system" in v for v in errors), errors
    # a partly filtered result: one image and a placeholder tile with the service's message
    assert "images: 1 - refused: [('contentFilter', 'Generated image was filtered" in text
    placeholders = _with_class(state, shown, "azimage-filtered")
    assert placeholders and "filtered" in placeholders[0]["state"]["value"]
    # thumbnails are WebP, not the PNGs
    thumbs = _with_class(state, shown, "azimage-thumb")
    assert len(thumbs) == 5  # Request Image (last run) 2 + Download Image 2 + partial 1
    assert {m["state"]["format"] for m in thumbs} == {"webp"}


def test_prompt_iteration(kernel_env):
    nb = _execute(ROOT / "notebooks" / "prompt_iteration.ipynb", kernel_env)
    state, roots = _state_and_roots(nb)
    text = _text(nb)
    rows = [line for line in text.splitlines() if " | " in line and "size=" in line]
    assert len(rows) == 3
    for line in rows:
        assert line.count("succeeded") == 2 and "size=256x256" in line and "size=512x512" in line
    assert "rerun: succeeded - runs of this cell: 2" in text
    assert "pinned record" in text and "evening light" in text
    # View code: the key is read from the environment, never written out
    snippet = [o["data"] for c in nb.cells for o in c.get("outputs", [])
               if "text/markdown" in o.get("data", {})]
    assert snippet, "view_code showed nothing"
    md = snippet[0]["text/markdown"]
    assert "```python" in md and "curl" in md and "AZURE_OPENAI_API_KEY" in md
    assert "api-key: $AZURE_OPENAI_API_KEY" in md or "$AZURE_OPENAI_API_KEY" in md
    # history: the 256 and 512 cells of row 2 plus the rerun; one pinned
    assert "3 stored images match 'evening light'" in text
    assert "pinned among them: 1" in text
    assert "favourites: ['a paper boat on a puddle, watercolour, evening light']" in text
    shown = _reachable(state, roots)
    grid_thumbs = _with_class(state, shown, "azimage-compare-thumb")
    assert len(grid_thumbs) == 6  # one per cell as shown now (the rerun replaced its cell's)
    history_thumbs = _with_class(state, shown, "azimage-history-thumb")
    assert len(history_thumbs) == 3 + 1
    assert {m["state"]["format"] for m in grid_thumbs + history_thumbs} == {"webp"}
    pins = _with_class(state, shown, "azimage-compare-pin")
    assert sum(1 for p in pins if p["state"].get("value")) == 1


def test_batch_csv_cell(kernel_env):
    nb = _execute(ROOT / "notebooks" / "batch.ipynb", kernel_env)
    _state_and_roots(nb)
    assert "3 of 3 CSV rows made images: [(256, 256), (512, 512), (256, 256)]" in _text(nb)

