"""Helpers to drive notebooks in JupyterLab / Notebook 7 from Playwright (sync API)."""
from __future__ import annotations

import json
from pathlib import Path

# --------------------------------------------------------------------------- driving


_RUN_ALL_JS = """
async () => {
  const app = window.jupyterapp;
  if (!app) { throw new Error('window.jupyterapp missing: start with expose_app_in_browser'); }
  const panel = app.shell.currentWidget;
  if (!panel || !panel.sessionContext) { throw new Error('no notebook is the current widget'); }
  await panel.context.ready;
  await panel.sessionContext.ready;
  const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
  if (!kernel) { throw new Error('the notebook has no kernel'); }
  const t0 = Date.now();
  while (kernel.connectionStatus !== 'connected' || kernel.status !== 'idle') {
    if (Date.now() - t0 > 60000) {
      throw new Error('kernel not idle: ' + kernel.connectionStatus + '/' + kernel.status);
    }
    await new Promise(r => setTimeout(r, 100));
  }
  await app.commands.execute('notebook:run-all-cells');
  return kernel.name;
}
"""


def wait_for_kernel_idle(page, timeout: float = 60_000) -> None:
    """The DOM says a kernel is attached and idle (Lab and Notebook 7)."""
    page.wait_for_function(
        """() => {
          const names = [...document.querySelectorAll('.jp-KernelName, .jp-Toolbar-kernelName')];
          const detached = n => /No Kernel|Kernel\\s*$/.test(n.textContent.trim());
          if (names.length === 0 || names.some(detached)) return false;
          const ind = document.querySelector('.jp-Notebook-ExecutionIndicator');
          return !ind || ind.getAttribute('data-status') === 'idle';
        }""",
        timeout=timeout,
    )


def run_all_cells(page, timeout: float = 60_000) -> str:
    """Wait until the notebook's kernel is connected and idle, then Run All.

    Works in JupyterLab and Notebook 7 started with expose_app_in_browser.
    Returns the kernel's name.
    """
    page.wait_for_function("() => window.jupyterapp && window.jupyterapp.shell.currentWidget "
                           "&& window.jupyterapp.shell.currentWidget.sessionContext", timeout=timeout)
    wait_for_kernel_idle(page, timeout)
    return page.evaluate(_RUN_ALL_JS)


def run_code_cell(page, code: str, timeout: float = 30_000) -> str:
    """Append a code cell at the end of the open notebook, run it, return its text output."""
    return page.evaluate(
        """async ([code, timeout]) => {
          const app = window.jupyterapp;
          const panel = app.shell.currentWidget;
          const nb = panel.content;
          nb.activeCellIndex = nb.widgets.length - 1;
          await app.commands.execute('notebook:insert-cell-below');
          const cell = nb.activeCell;
          cell.model.sharedModel.setSource(code);
          await app.commands.execute('notebook:run-cell');
          const t0 = Date.now();
          const text = () => cell.node.querySelector('.jp-OutputArea') ?
              cell.node.querySelector('.jp-OutputArea').innerText : '';
          while (cell.model.executionCount === null || cell.promptNode.textContent.includes('*')) {
            if (Date.now() - t0 > timeout) throw new Error('cell did not finish: ' + text());
            await new Promise(r => setTimeout(r, 100));
          }
          return text();
        }""",
        [code, timeout],
    )


def notebook_json(cells: list[str]) -> dict:
    """A minimal nbformat-4 notebook of code cells with the python3 kernel."""
    return {
        "cells": [
            {"cell_type": "code", "execution_count": None, "id": f"cell-{i}", "metadata": {},
             "outputs": [], "source": src}
            for i, src in enumerate(cells)
        ],
        "metadata": {
            "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def write_notebook(path: Path, cells: list[str]) -> Path:
    path.write_text(json.dumps(notebook_json(cells), indent=1))
    return path


def open_panel_notebook(page, server, name: str, cells: list[str]):
    """Write ``cells`` as notebook ``name`` in the server's root, open it in a fresh Lab
    workspace (``?reset``: no tab of an earlier test comes back), run every cell and wait
    for the first Request Image panel."""
    write_notebook(server.root / name, cells)
    page.goto(server.url(f"/lab/tree/{name}?reset"))
    run_all_cells(page)
    page.locator(".azimage-request-image").first.wait_for(state="visible", timeout=60_000)
    return page
