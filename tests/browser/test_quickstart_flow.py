"""The quickstart flow a user clicks through, in a real browser, in JupyterLab 4,
Notebook 7 and Voila (issue 3 "Proof", issue 6 "Browser tests").

Each flow: the Request Image panel renders; type a prompt, open Optional
settings, choose a size and a number of images (keyboard on the slider
handle), click Generate; the operation ids and ``n`` thumbnails (<= 256 px)
appear. Then a Download Image panel whose ID is the variable ``[fox_id]``
downloads the same operation and shows the same images (byte-identical
thumbnails, one URL per image).

- Lab / Notebook 7: later cells, added and run in the page, read the bound
  variables (``fox``: ids, image size; ``fox_id``; ``fox_images``).
- Voila (no cell editing): a Label updated by an observer on the panel's
  ``results`` reads the bound variable ``fox`` and sets ``fox_id``.

Kernels use the embedded emulator (the server env has no AZURE_OPENAI_*);
AZIMAGE_STORE_DIR points at a temp folder. Screenshots go to test-artifacts/.
"""
from __future__ import annotations

import time

import pytest
from browser_helpers import run_all_cells, run_code_cell, write_notebook

PROMPT = "a red fox in the snow, watercolour"
SIZE = "512x512"
SIZE_WH = tuple(int(x) for x in SIZE.split("x"))  # a Pillow image's .size
N = 3

CELLS = [
    """\
import azimage_widgets as aw
conn = aw.Connection.from_env()
req = aw.RequestImagePanel(conn, name="fox", output="fox")
req""",
    """\
dl = aw.DownloadImagePanel(conn, name="get fox", image_id="[fox_id]", output="fox_images")
dl""",
]
# Voila: no cells to run after Generate, so an observer reads the bound variable.
VOILA_CELLS = CELLS + [
    """\
import ipywidgets as w
bound = w.Label("bound: nothing yet")
bound.add_class("flow-bound")

def _on_results(change):
    # `fox` is bound by the run (output="fox"); read it from the notebook's namespace
    ops = globals().get("fox")
    if ops is not None and ops.ids:
        globals()["fox_id"] = ops.ids[0]
        bound.value = f"bound: {len(ops.ids)} id(s): {ops.ids[0]}; results {len(change['new'])}"

req.observe(_on_results, names="results")
bound""",
]

# SHA-256 (hex) of every thumbnail's bytes in a panel. ipywidgets 8 serves an
# Image's value as a blob: URL, so the src differs between panels; the bytes don't.
_THUMB_DIGESTS_JS = """
async (panel) => {
  const out = [];
  for (const img of panel.querySelectorAll('img.azimage-thumb')) {
    const buf = await (await fetch(img.src)).arrayBuffer();
    const dig = await crypto.subtle.digest('SHA-256', buf);
    out.push([...new Uint8Array(dig)].map(b => b.toString(16).padStart(2, '0')).join(''));
  }
  return out;
}
"""


@pytest.fixture(scope="module")
def flow_server(jupyter_servers, notebook_dir, tmp_path_factory):
    # The kernels' image store: a temp folder, never the real home.
    store = tmp_path_factory.mktemp("azimage-store")
    jupyter_servers.env["AZIMAGE_STORE_DIR"] = str(store)
    # One notebook per front end, so Lab's autosave can't change Notebook 7's.
    write_notebook(notebook_dir / "flow_lab.ipynb", CELLS)
    write_notebook(notebook_dir / "flow_notebook.ipynb", CELLS)
    write_notebook(notebook_dir / "flow_voila.ipynb", VOILA_CELLS)
    started: dict = {}

    def get(kind: str):
        if kind not in started:
            if kind == "voila":
                started[kind] = jupyter_servers.voila(notebook_dir, "flow_voila.ipynb")
            else:
                started[kind] = getattr(jupyter_servers, kind)(notebook_dir)
        return started[kind]

    get.store = store  # type: ignore[attr-defined]
    return get


# --------------------------------------------------------------------------- steps


def _generate(page) -> list[str]:
    """Fill the Request Image panel, Generate; returns the ids shown on the page."""
    req = page.locator(".azimage-request-image")
    req.wait_for(state="visible", timeout=60_000)

    # Prompt: the Python-side counter proves the value reached the kernel.
    req.locator(".azimage-prompt textarea").fill(PROMPT)
    counter = req.locator(".azimage-prompt-counter")
    page.wait_for_function(
        "([el, n]) => el.textContent.replace(/\\s+/g, ' ').includes(n + ' / 1000')",
        arg=[counter.element_handle(), len(PROMPT)], timeout=15_000)

    # Optional settings: collapsed by default.
    size_select = req.locator(".azimage-size select")
    assert not size_select.is_visible()
    req.locator(".azimage-optional").get_by_text("Optional settings").first.click()
    size_select.wait_for(state="visible")
    size_select.select_option(SIZE)
    assert size_select.input_value() == SIZE

    # Number of images: drag the noUiSlider handle along its track. (Arrow keys
    # on the focused handle work in Lab, but Notebook 7 swallows them.)
    _drag_slider(page, req.locator(".azimage-n"), N, lo=1, hi=5)

    generate = req.locator("button.azimage-generate")
    assert generate.is_enabled()
    generate.click()

    ids_el = req.locator(".azimage-ids")
    page.wait_for_function("(el) => el.textContent.trim().length > 0",
                           arg=ids_el.element_handle(), timeout=60_000)
    _wait_thumbs(page, req, N)
    ids = req.locator(".azimage-ids code").all_inner_texts()
    assert len(ids) == 1 and ids[0].strip(), ids  # one request -> one operation of N images
    # the status line follows the previews
    page.wait_for_function("([el, n]) => el.textContent.includes(n + ' images ready')",
                           arg=[req.locator(".azimage-status").element_handle(), N], timeout=15_000)
    return [i.strip() for i in ids]


def _drag_slider(page, slider, value: int, lo: int, hi: int) -> None:
    readout = slider.locator(".widget-readout")
    assert readout.inner_text().strip() == str(lo)
    handle = slider.locator(".noUi-handle").bounding_box()
    track = slider.locator(".noUi-base").bounding_box()
    assert handle and track
    x = track["x"] + track["width"] * (value - lo) / (hi - lo)
    y = handle["y"] + handle["height"] / 2
    page.mouse.move(handle["x"] + handle["width"] / 2, y)
    page.mouse.down()
    page.mouse.move(x, y, steps=8)
    page.mouse.up()
    page.wait_for_function("([el, n]) => el.textContent.trim() === String(n)",
                           arg=[readout.element_handle(), value], timeout=10_000)


def _wait_thumbs(page, panel, n: int) -> None:
    """Exactly n thumbnails, all loaded, 0 < width <= 256."""
    page.wait_for_function(
        """([panel, n]) => {
          const imgs = [...panel.querySelectorAll('img.azimage-thumb')];
          return imgs.length === n && imgs.every(i => i.complete && i.naturalWidth > 0);
        }""",
        arg=[panel.element_handle(), n], timeout=60_000)
    sizes = panel.locator("img.azimage-thumb").evaluate_all(
        "imgs => imgs.map(i => [i.naturalWidth, i.naturalHeight])")
    assert len(sizes) == n
    for w, h in sizes:
        assert 0 < w <= 256 and 0 < h <= 256, sizes
    # each tile's Full size and Save buttons sit below its thumbnail, not squeezed beside it
    layout = panel.locator(".azimage-tile").evaluate_all("""tiles => tiles.map(t => {
        const box = e => t.querySelector(e).getBoundingClientRect();
        const img = box('img.azimage-thumb'), full = box('.azimage-fullsize'),
              save = box('.azimage-save');
        return [full.top >= img.bottom - 1, save.top >= img.bottom - 1];
    })""")
    assert layout and all(all(checks) for checks in layout), layout


def _download_same_images(page, op_id: str) -> tuple[list[str], list[str]]:
    """Click Download on the [fox_id] panel; its thumbnails are the Request panel's."""
    req = page.locator(".azimage-request-image")
    dl = page.locator(".azimage-download-image")
    assert dl.locator(".azimage-image-id input").input_value() == "[fox_id]"
    dl.locator("button.azimage-download").click()
    _wait_thumbs(page, dl, N)
    urls = dl.locator(".azimage-urls a").evaluate_all("as => as.map(a => a.href)")
    assert len(urls) == N and all(u.startswith("http") for u in urls), urls
    assert dl.locator(".azimage-urls code").first.inner_text().strip() == op_id
    req_digests = req.evaluate(_THUMB_DIGESTS_JS)
    dl_digests = dl.evaluate(_THUMB_DIGESTS_JS)
    assert len(set(req_digests)) == N, "the N thumbnails should differ from each other"
    assert dl_digests == req_digests, "the Download panel shows other images than Generate"
    return urls, dl_digests


def _scroll_to(page, selector: str) -> None:
    page.locator(selector).first.scroll_into_view_if_needed()


# --------------------------------------------------------------------------- tests


@pytest.mark.parametrize("kind", ["lab", "notebook"])
def test_quickstart_flow_lab_and_notebook7(kind, flow_server, page, page_errors, screenshot):
    t0 = time.monotonic()
    server = flow_server(kind)
    t_server = time.monotonic() - t0
    page.goto(server.notebook_url(f"flow_{kind}.ipynb"))
    run_all_cells(page)

    ids = _generate(page)
    t_generate = time.monotonic() - t0

    # A later cell reads the bound variable.
    out = run_code_cell(page, "print(len(fox.ids), fox.ids[0], fox.results[0].images[0].size)")
    assert out.strip() == f"1 {ids[0]} {SIZE_WH}", out
    out = run_code_cell(page, "fox_id = fox.ids[0]\nprint('fox_id =', fox_id)")
    assert out.strip() == f"fox_id = {ids[0]}", out

    # The Download panel fed by [fox_id] shows the same images.
    urls, _ = _download_same_images(page, ids[0])
    out = run_code_cell(page, "print(len(fox_images.urls), [im.size for im in fox_images.images])")
    assert out.strip() == f"{N} {[SIZE_WH] * N}", out
    assert run_code_cell(page, "print(fox_images.urls == [u for u in "
                               f"{urls!r}])").strip() == "True"

    # The image store is the temp folder of the server env (never the home).
    store_out = run_code_cell(page, "import os; print(os.environ.get('AZIMAGE_STORE_DIR'))")
    assert store_out.strip() == str(flow_server.store)

    _scroll_to(page, ".azimage-request-image")
    screenshot(page, "generate", full_page=False)
    _scroll_to(page, ".azimage-download-image img.azimage-thumb")
    screenshot(page, "download", full_page=False)
    page_errors.check()
    print(f"{kind}: server {t_server:.1f}s, generate done {t_generate:.1f}s, "
          f"total {time.monotonic() - t0:.1f}s")


def test_quickstart_flow_voila(flow_server, page, page_errors, screenshot):
    t0 = time.monotonic()
    server = flow_server("voila")
    t_server = time.monotonic() - t0
    page.goto(server.notebook_url("flow_voila.ipynb"))

    ids = _generate(page)
    bound = page.locator(".flow-bound")
    page.wait_for_function("(el) => el.textContent.startsWith('bound: 1 id(s)')",
                           arg=bound.element_handle(), timeout=15_000)
    assert bound.inner_text().strip() == f"bound: 1 id(s): {ids[0]}; results 1"
    # No code cells or editors in an app.
    assert page.locator(".jp-CodeCell .jp-InputArea-editor:visible").count() == 0

    _download_same_images(page, ids[0])
    # Voila scrolls inside its own container: a tall viewport shows the whole app.
    page.set_viewport_size({"width": 1280, "height": 2200})
    page.locator(".azimage-request-image").scroll_into_view_if_needed()
    screenshot(page, full_page=False)
    page_errors.check()
    print(f"voila: server {t_server:.1f}s, total {time.monotonic() - t0:.1f}s")
