"""Smoke test of the browser harness: a plain ipywidgets notebook (Button ->
Label, and an Image) in JupyterLab 4, Notebook 7 and Voila.

If this fails, the harness or the machine is broken, not the panels.
"""
from __future__ import annotations

import sys
import time

import pytest
from browser_helpers import run_all_cells, run_code_cell, write_notebook

SMOKE_CELLS = [
    """\
import io, sys
import ipywidgets as w
from PIL import Image as PILImage

buf = io.BytesIO()
PILImage.new("RGB", (96, 64), (200, 60, 30)).save(buf, "PNG")
label = w.Label("not clicked")
label.add_class("smoke-label")
clicks = []

def on_click(_button):
    clicks.append(1)
    label.value = f"clicked {len(clicks)}"

button = w.Button(description="Click me")
button.add_class("smoke-button")
button.on_click(on_click)
image = w.Image(value=buf.getvalue(), format="png", width=96, height=64)
image.add_class("smoke-image")
w.VBox([button, label, image])
""",
    'print("KERNEL-PYTHON:", sys.executable)',
]
NB = "smoke.ipynb"


@pytest.fixture(scope="module")
def smoke_server(jupyter_servers, notebook_dir):
    write_notebook(notebook_dir / NB, SMOKE_CELLS)
    started: dict = {}

    def get(kind: str):
        if kind not in started:
            if kind == "voila":
                started[kind] = jupyter_servers.voila(notebook_dir, NB)
            else:
                started[kind] = getattr(jupyter_servers, kind)(notebook_dir)
        return started[kind]

    return get


def _click_and_check(page) -> None:
    button = page.locator("button.smoke-button")
    button.wait_for(state="visible", timeout=60_000)
    label = page.locator(".smoke-label")
    assert label.inner_text().strip() == "not clicked"
    button.click()
    page.wait_for_function(
        "() => document.querySelector('.smoke-label').textContent.trim() === 'clicked 1'",
        timeout=15_000,
    )
    img = page.locator("img.widget-image.smoke-image")
    img.wait_for(state="visible")
    assert img.evaluate("el => el.complete && el.naturalWidth") == 96


@pytest.mark.parametrize("kind", ["lab", "notebook"])
def test_smoke_lab_and_notebook7(kind, smoke_server, page, page_errors, screenshot):
    t0 = time.monotonic()
    server = smoke_server(kind)
    t_server = time.monotonic() - t0
    page.goto(server.notebook_url(NB))
    run_all_cells(page)
    _click_and_check(page)
    # The kernel runs this venv's python, and the click reached the kernel.
    out = page.locator(".jp-OutputArea-output", has_text="KERNEL-PYTHON:")
    out.wait_for(timeout=30_000)
    assert out.inner_text().split("KERNEL-PYTHON:", 1)[1].strip() == sys.executable
    assert run_code_cell(page, "print('clicks =', len(clicks))").strip() == "clicks = 1"
    shot = screenshot(page)
    assert shot.stat().st_size > 1000
    page_errors.check()
    print(f"{kind}: server {t_server:.1f}s, total {time.monotonic() - t0:.1f}s")


def test_smoke_voila(smoke_server, page, page_errors, screenshot):
    t0 = time.monotonic()
    server = smoke_server("voila")
    t_server = time.monotonic() - t0
    page.goto(server.notebook_url(NB))
    _click_and_check(page)
    page.get_by_text("KERNEL-PYTHON:").wait_for(timeout=30_000)
    assert sys.executable in page.get_by_text("KERNEL-PYTHON:").inner_text()
    shot = screenshot(page)
    assert shot.stat().st_size > 1000
    page_errors.check()
    print(f"voila: server {t_server:.1f}s, total {time.monotonic() - t0:.1f}s")
