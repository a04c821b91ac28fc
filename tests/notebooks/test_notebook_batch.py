"""notebooks/batch.ipynb under nbclient: 20 prompts, continue on error, one content-filter trigger.

test_notebooks.py runs every notebook (this one included) and checks it raises nothing and
saves widget state; this file checks what batch.ipynb must show: 19 results and one logged error.
"""
from __future__ import annotations

from pathlib import Path

from test_notebooks import _execute, _text

ROOT = Path(__file__).resolve().parents[2]


def test_batch_notebook_shows_19_results_and_one_logged_error(kernel_env):  # noqa: F811
    nb = _execute(ROOT / "notebooks" / "batch.ipynb", kernel_env)
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors
    text = _text(nb)
    assert "19 results, 1 logged error" in text
    assert "failed datasets: [7]" in text
    assert "dataset 7: failed contentFilter:" in text
    assert "time,activity,dataset,status" in text
    assert "succeeded - 4 datasets succeeded; images in" in text
    assert "batch_images-0-1.png" in text
