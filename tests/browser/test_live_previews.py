"""Live previews in a real browser (JupyterLab 4): a v1 Request Image panel with Live previews
shows a partial tile, its picture replaced in place, before the finished image.

The kernel starts an emulator of its own playing a gpt-image-2 deployment that takes 4 s
per image (two partials spaced over that time). A MutationObserver installed in the
page before Generate is clicked records, for every tile picture it sees, whether its tile
is a partial one (``azimage-partial``) and the picture's bytes (SHA-256 of its blob), so
the order "partial, partial with other bytes, final" is read from the page itself.
A screenshot of the panel while a partial is shown goes to test-artifacts/ and
docs/screenshots/ (the README shows it).
"""
from __future__ import annotations

import shutil
from pathlib import Path

from browser_helpers import run_all_cells, write_notebook

CELLS = [
    """\
import azimage_widgets as aw
emu = aw.emulator.start(processing_time=4)
conn = aw.Connection(endpoint=emu.endpoint, api_key=emu.api_key, api_version="v1",
                     deployment="demo-gpt-image-2")
live = aw.RequestImagePanel(conn, name="fox live", prompt="a red fox in the snow, watercolour",
                            size="1536x1024", quality="low", partial_images=2)
live""",
]

# Records every tile picture the grid shows: partial or not, and its bytes' digest.
_WATCH_JS = """
(panel) => {
  window.__tiles = [];
  const seen = new Set();
  const note = async (img) => {
    const tile = img.closest('.azimage-tile');
    if (!tile || !img.src || seen.has(img.src)) return;
    seen.add(img.src);
    const partial = tile.classList.contains('azimage-partial');
    const at = performance.now();
    const buf = await (await fetch(img.src)).arrayBuffer();
    const dig = await crypto.subtle.digest('SHA-256', buf);
    const hex = [...new Uint8Array(dig)].map(b => b.toString(16).padStart(2, '0')).join('');
    window.__tiles.push({partial, hex, at});
  };
  const scan = () => panel.querySelectorAll('.azimage-grid img').forEach(note);
  new MutationObserver(scan).observe(panel, {subtree: true, childList: true,
                                             attributes: true, attributeFilter: ['src']});
}
"""


def test_live_previews_show_partial_tiles_before_the_image(jupyter_servers, notebook_dir, page,
                                                           page_errors, screenshot):
    write_notebook(notebook_dir / "live.ipynb", CELLS)
    server = jupyter_servers.lab(notebook_dir)
    page.goto(server.notebook_url("live.ipynb"))
    run_all_cells(page)
    panel = page.locator(".azimage-request-image")
    panel.wait_for(state="visible", timeout=60_000)
    panel.evaluate(_WATCH_JS)
    panel.locator("button.azimage-generate").click()

    page.wait_for_selector(".azimage-request-image .azimage-partial img", timeout=60_000)
    shot = screenshot(page, "partial")
    page.wait_for_function(
        "() => (window.__tiles || []).some(t => !t.partial)", timeout=60_000)
    page.wait_for_function("(el) => el.textContent.includes('1 image ready')",
                           arg=panel.locator(".azimage-status").element_handle(), timeout=30_000)
    tiles = page.evaluate("() => window.__tiles")
    partial = [t for t in tiles if t["partial"]]
    final = [t for t in tiles if not t["partial"]]
    assert partial and final, tiles
    assert partial[0]["at"] < final[0]["at"]  # a partial tile was shown before the image
    # the partial tile's picture changed in place: two partials with different bytes
    assert len({t["hex"] for t in partial}) == len(partial) >= 2, tiles
    assert final[0]["hex"] not in {t["hex"] for t in partial}
    assert panel.locator(".azimage-partial").count() == 0  # the image replaced the preview
    docs = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
    docs.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(shot, docs / "jupyterlab-live-previews.png")
    page_errors.check()
