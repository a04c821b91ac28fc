"""Panels in a real JupyterLab 4 (Debian chromium, Playwright): what View code shows runs as
is, a replaced panel says what replaced it, a new run clears the last run's lines, the layout.

The kernel uses the embedded emulator (no AZURE_OPENAI_* in the server's env).
Screenshots go to test-artifacts/.
"""
from __future__ import annotations

import pytest
from browser_helpers import open_panel_notebook, run_all_cells, run_code_cell, write_notebook

CELLS = [
    """\
import azimage_widgets as aw
conn = aw.Connection.from_env()
req = aw.RequestImagePanel(conn, name="vc", prompt="a fox in the snow", size="256x256", n=2,
                           namespace=globals())
req""",
]


@pytest.fixture
def nb_page(lab, page, request):
    open_panel_notebook(page, lab, f"pf_{request.node.name.removeprefix('test_')[:40]}.ipynb", CELLS)
    return page


def test_view_code_pasted_into_a_new_cell_runs(nb_page, page_errors, screenshot):
    page = nb_page
    panel = page.locator(".azimage-request-image").first
    panel.locator(".azimage-view-code").click()
    python = panel.locator(".azimage-code-python textarea, textarea.azimage-code-python").first
    python.wait_for(state="visible", timeout=10_000)
    page.wait_for_function("el => el.value.includes('.named(')", arg=python.element_handle(),
                           timeout=10_000)
    shown = python.input_value()  # what the user sees and copies
    code_lines = [ln for ln in shown.splitlines() if not ln.lstrip().startswith("#")]
    assert not any("AZURE_OPENAI_API_KEY" in ln or "api_key=" in ln for ln in code_lines), shown
    python.scroll_into_view_if_needed()
    screenshot(page, "shown", full_page=False)
    out = run_code_cell(page, shown, timeout=60_000)  # pasted unchanged into a new cell
    assert "Error" not in out and "KeyError" not in out, out
    check = run_code_cell(page, "print(_aw_res.status, len(_aw_images), type(conn).__name__)")
    assert check.strip() == "succeeded 2 Connection", check
    screenshot(page, "ran", full_page=False)
    page_errors.check()


def test_replaced_panel_stays_disabled_and_survives_a_reload(nb_page, page_errors, screenshot):
    page = nb_page
    run_code_cell(page, "req2 = aw.RequestImagePanel(conn, name='vc', prompt='a heron')\nreq2")
    page.locator(".azimage-request-image").nth(1).wait_for(state="visible", timeout=30_000)
    old = page.locator(".azimage-request-image").first
    notice = old.locator(".azimage-replaced")
    notice.wait_for(state="visible", timeout=10_000)
    text = notice.inner_text()
    prompt = page.locator(".jp-Cell").last.locator(".jp-InputPrompt").inner_text().strip()  # "[N]:"
    assert prompt.startswith("[") and prompt.endswith("]:"), prompt
    assert (f"Replaced by a newer Request Image panel named 'vc' (created in cell {prompt[:-1]} at "
            in text), (prompt, text)
    assert old.locator("button.azimage-generate").is_disabled()
    assert old.locator("textarea").first.is_disabled()
    assert page.locator(".azimage-request-image").nth(1).locator("button.azimage-generate").is_enabled()
    notice.scroll_into_view_if_needed()
    screenshot(page, "replaced", full_page=False)
    # saved and reloaded: the replaced panel's cell still shows it, no "model not found"
    page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")
    page.wait_for_timeout(1000)
    page.reload()
    page.locator(".azimage-request-image").nth(1).wait_for(state="visible", timeout=60_000)
    old = page.locator(".azimage-request-image").first
    old.locator(".azimage-replaced").wait_for(state="visible", timeout=30_000)
    page.wait_for_timeout(1000)
    body = page.locator(".jp-Notebook").inner_text()
    assert "model not found" not in body and "Error displaying widget" not in body, body[:2000]
    old.scroll_into_view_if_needed()
    screenshot(page, "reloaded", full_page=False)
    page_errors.check()


def test_a_new_run_clears_the_last_runs_lines(nb_page, page_errors, screenshot):
    page = nb_page
    panel = page.locator(".azimage-request-image").first
    out = run_code_cell(page, "ops = await req.submit()\nprint(ops.ids[0])", timeout=60_000)
    first_id = out.strip()
    page.wait_for_function("el => el.querySelectorAll('img.azimage-thumb').length === 2",
                           arg=panel.element_handle(), timeout=30_000)
    assert first_id in panel.locator(".azimage-ids").inner_text()
    # a failed run (content filter): only its own id and error line; earlier pictures labelled
    run_code_cell(page, "req.activity.prompt = 'a fox CONTENT_FILTER'\n"
                        "try:\n    await req.submit()\nexcept Exception as e:\n    print(type(e).__name__)",
                  timeout=60_000)
    page.wait_for_function("el => el.querySelector('.azimage-status').innerText.includes('Failed')",
                           arg=panel.element_handle(), timeout=30_000)
    ids_text = panel.locator(".azimage-ids").inner_text()
    assert first_id not in ids_text and "Operation ids" in ids_text, ids_text
    assert first_id not in panel.inner_text().replace(panel.locator(".azimage-grid").inner_text(), "")
    labels = panel.locator(".azimage-earlier-label")
    assert labels.count() == 2 and labels.first.inner_text() == "earlier run"
    panel.scroll_into_view_if_needed()
    screenshot(page, "failed", full_page=False)
    # a run refused before sending: no ids, no rows of the failed run
    run_code_cell(page, "req.activity.prompt = ''\ntry:\n    await req.submit()\n"
                        "except Exception as e:\n    print(type(e).__name__)", timeout=60_000)
    page.wait_for_function("el => el.querySelector('.azimage-status').innerText.includes('prompt')",
                           arg=panel.element_handle(), timeout=30_000)
    assert panel.locator(".azimage-ids").inner_text().strip() == ""
    assert "CONTENT_FILTER" not in panel.locator(".azimage-status").inner_text()
    assert panel.locator(".azimage-earlier-label").count() == 2
    page_errors.check()


def test_quickstart_run_all_keeps_fox_id_and_a_wrong_id_says_where(lab, page, page_errors, screenshot):
    import shutil
    from pathlib import Path

    src = Path(__file__).resolve().parents[2] / "notebooks" / "quickstart.ipynb"
    shutil.copy(src, lab.root / "pf_quickstart.ipynb")
    page.goto(lab.url("/lab/tree/pf_quickstart.ipynb?reset"))
    run_all_cells(page)
    page.wait_for_function(
        """() => [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')]
                 .every(p => /\\[\\d+\\]/.test(p.textContent))""", timeout=120_000)
    get_fox = page.locator(".azimage-download-image").first
    get_fox.wait_for(state="visible", timeout=30_000)
    assert get_fox.locator(".azimage-image-id input").input_value() == "[fox_id]"
    get_fox.scroll_into_view_if_needed()
    screenshot(page, "fox_id", full_page=False)
    # a wrong id: the status says the id, the endpoint's host and the api-version
    run_code_cell(page, "bad = aw.DownloadImagePanel(conn, name='bad id', image_id='0000-not-there')\n"
                        "try:\n    await bad.submit()\nexcept Exception as e:\n    print(type(e).__name__)\n"
                        "bad", timeout=60_000)
    bad = page.locator(".azimage-download-image").last
    page.wait_for_function("el => el.querySelector('.azimage-status').innerText.includes('Failed')",
                           arg=bad.element_handle(), timeout=30_000)
    status = bad.locator(".azimage-status").inner_text()
    host = run_code_cell(page, "from urllib.parse import urlsplit\nprint(urlsplit(conn.endpoint).netloc)")
    assert "'0000-not-there'" in status and host.strip() in status and "api-version" in status, status
    bad.scroll_into_view_if_needed()
    screenshot(page, "wrong_id", full_page=False)
    page_errors.check()


def test_optional_settings_have_one_label_column(nb_page, page_errors, screenshot):
    page = nb_page
    panel = page.locator(".azimage-request-image").first
    panel.locator(".azimage-optional").get_by_text("Optional settings").first.click()
    box = panel.locator(".azimage-optional")
    box.locator("select").first.wait_for(state="visible", timeout=10_000)
    # the x where each visible labelled control's input starts
    starts = box.evaluate("""el => [...el.querySelectorAll('.widget-inline-hbox')]
        .filter(w => w.offsetParent !== null && w.querySelector(':scope > .widget-label')
                     && w.querySelector(':scope > .widget-label').textContent.trim())
        .map(w => { const input = w.querySelector(':scope > select, :scope > input, '
                                                 + ':scope > .slider-container, :scope > .widget-slider');
                    return [w.querySelector(':scope > .widget-label').textContent.trim(),
                            input ? Math.round(input.getBoundingClientRect().left) : null]; })""")
    assert len(starts) >= 4, starts
    # one label column: every input starts at the same x (a slider's track is drawn a few
    # pixels in from its box, to leave room for the knob)
    xs = [x for _label, x in starts if x is not None]
    assert len(xs) == len(starts) and max(xs) - min(xs) <= 8, starts
    box.scroll_into_view_if_needed()
    screenshot(page, "label_column", full_page=False)
    page_errors.check()


def test_view_code_sits_at_the_panels_right_edge(nb_page, page_errors, screenshot):
    page = nb_page
    run_code_cell(page, "dl = aw.DownloadImagePanel(conn, name='edge', image_id='abc')\ndl")
    for css in (".azimage-request-image", ".azimage-download-image"):
        panel = page.locator(css).first
        panel.wait_for(state="visible", timeout=30_000)
        button = panel.locator(".azimage-view-code").first
        right = button.evaluate("el => el.getBoundingClientRect().right")
        row = button.evaluate("el => el.parentElement.getBoundingClientRect().right")
        edge = panel.evaluate("el => el.getBoundingClientRect().right")
        assert abs(right - row) <= 6 and abs(right - edge) <= 12, (css, right, row, edge)
    screenshot(page, full_page=False)
    page_errors.check()


EDGE_CELLS = [
    "import azimage_widgets as aw\nconn = aw.Connection.from_env()\n"
    "aw.RequestImagePanel(conn, name='edge-r', prompt='a fox')",
    "aw.DownloadImagePanel(conn, name='edge-d', image_id='abc')",
]


def _check_right_edges(page) -> None:
    for css in (".azimage-request-image", ".azimage-download-image"):
        panel = page.locator(css).first
        panel.wait_for(state="visible", timeout=60_000)
        button = panel.locator(".azimage-view-code").first
        right = button.evaluate("el => el.getBoundingClientRect().right")
        edge = panel.evaluate("el => el.getBoundingClientRect().right")
        assert abs(right - edge) <= 12, (css, right, edge)


@pytest.mark.parametrize("kind", ["notebook", "voila"])
def test_view_code_at_the_right_edge_in_notebook7_and_voila(kind, jupyter_servers, notebook_dir, store_dir,
                                                             page, page_errors, screenshot):
    name = f"edge_{kind}.ipynb"
    write_notebook(notebook_dir / name, EDGE_CELLS)
    if kind == "voila":
        server = jupyter_servers.voila(notebook_dir, name)
        page.goto(server.notebook_url(name))
    else:
        server = jupyter_servers.notebook(notebook_dir)
        page.goto(server.notebook_url(name))
        run_all_cells(page)
    _check_right_edges(page)
    screenshot(page, full_page=False)
    page_errors.check()
