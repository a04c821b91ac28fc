"""Static HTML export with the offline widget renderer, and the size of saved widget state.

- quickstart is executed under nbclient (widget state stored), exported with
  ``jupyter nbconvert --to html`` pointed at a renderer packed with npm
  (scripts/fetch_widget_renderer.sh, staged next to the HTML), and checked:
  (a) the HTML embeds the widget state with the thumbnails' WebP bytes;
  (b) in Debian's chromium (Playwright; every non-loopback request refused),
  the ``img.widget-image`` thumbnails render with a natural width > 0.
  A screenshot goes to test-artifacts/.
- a notebook with one 5-image result (1024x1024, the default size) is saved
  and its widget state measured against the PNGs it shows.
"""
from __future__ import annotations

import base64
import functools
import http.server
import io
import json
import os
import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook
from test_notebooks import (
    ROOT,
    WIDGET_STATE,
    _execute,
    _text,
)

from azimage_widgets import html_export

ARTIFACTS = Path(os.environ.get("AZIMAGE_TEST_ARTIFACTS", ROOT / "test-artifacts"))
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ON_CI = os.environ.get("CI", "").lower() == "true"
def is_webp(data: bytes) -> bool:
    return data[:4] == b"RIFF" and data[8:12] == b"WEBP"

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def renderer() -> Path:
    """The npm-packed renderer; fetched with the script when missing and npm is there."""
    try:
        return html_export.find_renderer()
    except FileNotFoundError:
        pass
    if shutil.which("npm") is None:
        if ON_CI:
            pytest.fail("CI=true but npm is missing: cannot pack the widget renderer")
        pytest.skip("no widget renderer and no npm: run scripts/fetch_widget_renderer.sh")
    subprocess.run(["sh", str(ROOT / "scripts" / "fetch_widget_renderer.sh"),
                    str(html_export.DEFAULT_RENDERER)], check=True, timeout=240)
    return html_export.find_renderer()


def _state_in_html(page: str) -> dict:
    m = re.search(r'<script type="application/vnd\.jupyter\.widget-state\+json">(.*?)</script>',
                  page, re.S)
    assert m, "no widget state embedded in the HTML"
    return json.loads(m.group(1))


def test_quickstart_html_export_renders_previews_offline(kernel_env, renderer, tmp_path):
    nb = _execute(ROOT / "notebooks" / "quickstart.ipynb", kernel_env)
    executed = tmp_path / "quickstart.ipynb"
    nbformat.write(nb, executed)
    out = tmp_path / "html"
    html_export.stage_renderer(out, renderer)
    subprocess.run(
        [sys.executable, "-m", "jupyter", "nbconvert", "--to", "html", str(executed),
         "--output-dir", str(out),
         f"--HTMLExporter.widget_renderer_url={html_export.RENDERER_URL}",
         f"--HTMLExporter.require_js_url={html_export.REQUIRE_URL}"],
        check=True, capture_output=True, timeout=120)
    html_file = out / "quickstart.html"
    page = html_file.read_text(encoding="utf-8")

    # (a) the renderer is the local one, and the state carries the thumbnails' bytes
    assert f"widgetRendererSrc = '{html_export.RENDERER_URL}'" in page
    assert f'<script src="{html_export.REQUIRE_URL}"' in page
    assert "unpkg.com" not in page and "cdn.jsdelivr.net" not in page
    state = _state_in_html(page)["state"]
    thumbs = [m for m in state.values() if m["model_name"] == "ImageModel"
              and "azimage-thumb" in m["state"].get("_dom_classes", [])]
    assert len(thumbs) >= 4
    for m in thumbs:
        data = base64.b64decode(m["buffers"][0]["data"])
        assert is_webp(data) and m["state"]["format"] == "webp"
    views = re.findall(r'<script type="application/vnd\.jupyter\.widget-view\+json">', page)
    assert len(views) >= 2

    # (b) the previews render in a real browser, offline
    if not Path(CHROMIUM).exists():
        if ON_CI:
            pytest.fail(f"CI=true but {CHROMIUM} is missing (.ci/run installs chromium)")
        pytest.skip(f"no chromium at {CHROMIUM}: the HTML was checked, not rendered")
    _render_in_chromium(out, html_file.name)


def _render_in_chromium(folder: Path, name: str) -> None:
    from playwright.sync_api import sync_playwright

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                             functools.partial(Quiet, directory=str(folder)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    origin = f"http://127.0.0.1:{server.server_address[1]}/"
    refused: list[str] = []
    failures: list[str] = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                page = browser.new_page(viewport={"width": 1200, "height": 900})

                def route(r):
                    if r.request.url.startswith(origin):
                        r.continue_()
                    else:  # offline: nothing may come from elsewhere (MathJax's CDN is refused)
                        refused.append(r.request.url)
                        r.abort()

                page.route("**/*", route)
                page.on("pageerror", lambda e: failures.append(f"pageerror {e}"))
                page.on("response", lambda r: r.status >= 400 and failures.append(f"{r.status} {r.url}"))
                page.goto(origin + name)
                page.wait_for_selector("img.widget-image.azimage-thumb", timeout=60_000)
                page.wait_for_function(
                    "() => [...document.querySelectorAll('img.widget-image.azimage-thumb')]"
                    ".every(i => i.complete)", timeout=30_000)
                widths = page.evaluate(
                    "() => [...document.querySelectorAll('img.widget-image.azimage-thumb')]"
                    ".map(i => i.naturalWidth)")
                icons = page.evaluate(
                    "() => document.fonts.check('14px FontAwesome') || "
                    "[...document.fonts].some(f => f.status === 'loaded')")
                ARTIFACTS.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(ARTIFACTS / "test_html_export_quickstart.png"),
                                full_page=True)
            finally:
                browser.close()
    finally:
        server.shutdown()
    assert len(widths) >= 4 and all(w > 0 for w in widths), widths
    assert all(w <= 256 for w in widths), widths  # thumbnails, not the full images
    assert icons, "the widget icon fonts did not load"
    assert not failures, failures
    assert all("mathjax" in u.lower() for u in refused), refused


# -- widget state size ----------------------------------------------------------------
#: Kernel code making the embedded emulator answer with photo-like PNGs (~1.5 MB at 1024x1024,
#: like DALL-E's), instead of its own flat drawings, which PNG compresses to ~60 kB.
PHOTO_LIKE = """
import io
from PIL import Image, ImageFilter
from azimage_widgets.emulator import images as emu_images

def photo_like(prompt, index, size):
    w, h = emu_images.parse_size(size)
    red = Image.effect_noise((w, h), 60).filter(ImageFilter.GaussianBlur(0.8))
    green = Image.linear_gradient("L").resize((w, h)).rotate(40 * index)
    blue = Image.effect_noise((w, h), 30).filter(ImageFilter.GaussianBlur(1.5))
    out = io.BytesIO()
    Image.merge("RGB", (red, green, blue)).save(out, format="PNG")
    return out.getvalue()

emu_images.render_png = photo_like
"""


def _size_notebook(n: int, photo_like: bool) -> nbformat.NotebookNode:
    cells = [new_code_cell(PHOTO_LIKE)] if photo_like else []
    cells += [
        new_code_cell("import azimage_widgets as aw\nconn = aw.Connection.from_env()"),
        new_code_cell(f"req = aw.RequestImagePanel(conn, name='size', prompt='a harbour at dawn, "
                      f"oil painting', n={n})\nreq"),
        new_code_cell("await req.submit()\nres = req.activity.results[0]\n"
                      "print('PNG', [len(s.data) for s in res.slots])\n"
                      "print('SIZE', [s.image.size for s in res.slots])"),
    ]
    return new_notebook(cells=cells, metadata={"kernelspec": {
        "name": "python3", "display_name": "Python 3", "language": "python"}})


def _run_and_save(kernel_env, tmp_path: Path, n: int, photo_like: bool):
    name = f"{'photo' if photo_like else 'emulator'}-{n}"
    src = tmp_path / f"{name}-in.ipynb"
    nbformat.write(_size_notebook(n, photo_like), src)
    nb = _execute(src, kernel_env)
    assert f"SIZE {[(1024, 1024)] * n}" in _text(nb)
    out = tmp_path / f"{name}.ipynb"
    nbformat.write(nb, out)  # as Jupyter saves it
    saved = json.loads(out.read_text())
    state = saved["metadata"]["widgets"][WIDGET_STATE]
    pngs = json.loads(re.search(r"PNG (\[.*\])", _text(nb)).group(1))
    return out.stat().st_size, len(json.dumps(state)), pngs, state["state"]


def _images_in_state(models: dict) -> list[tuple[str, tuple[int, int], int]]:
    """(css classes, pixel size, base64 length) of every image held in the saved state."""
    from PIL import Image

    found = []
    for m in models.values():
        for buf in m.get("buffers", []):
            data = base64.b64decode(buf["data"])
            if is_webp(data) or data[:8] == b"\x89PNG\r\n\x1a\n":
                with Image.open(io.BytesIO(data)) as img:
                    found.append((" ".join(m["state"].get("_dom_classes", [])), img.size,
                                  len(buf["data"])))
    return found


def test_saved_widget_state_holds_thumbnails_not_pngs(kernel_env, tmp_path):
    """A saved notebook with a 5-image 1024x1024 result: thumbnails only, a fraction of the PNGs."""
    file1, state1, _, _ = _run_and_save(kernel_env, tmp_path, 1, photo_like=True)
    file5, state5, pngs, models = _run_and_save(kernel_env, tmp_path, 5, photo_like=True)
    held = _images_in_state(models)
    assert len(held) == 5 and all(max(size) <= 256 for _, size, _ in held), held
    assert all("azimage-thumb" in css for css, _, _ in held)
    png_avg = sum(pngs) / len(pngs)
    per_image = (state5 - state1) / 4           # what one more image adds to the saved state
    thumb_avg = sum(n for _, _, n in held) / len(held)
    ratio = per_image / png_avg
    print(f"\n[widget state, photo-like PNGs] 5 x 1024x1024: PNGs {sum(pngs) / 1024:.0f} KiB "
          f"(avg {png_avg / 1024:.0f} KiB); saved notebook {file5 / 1024:.0f} KiB "
          f"(with 1 image: {file1 / 1024:.0f} KiB); saved widget state per image "
          f"{per_image / 1024:.1f} KiB (thumbnail {thumb_avg / 1024:.1f} KiB as base64 WebP, the "
          f"rest its tile's widgets); per image / PNG = {ratio:.3f}; "
          f"notebook / sum of PNGs = {file5 / sum(pngs):.2f}")
    assert png_avg > 1_000_000        # the stand-in really is photo-sized
    assert ratio < 0.05               # "much smaller": under a twentieth of the PNG
    assert file5 < sum(pngs) / 10     # the whole notebook, panel and all


def test_saved_widget_state_with_the_emulators_own_pngs(kernel_env, tmp_path):
    """The emulator's drawings compress well as PNG; the state still holds only thumbnails."""
    file5, state5, pngs, models = _run_and_save(kernel_env, tmp_path, 5, photo_like=False)
    held = _images_in_state(models)
    assert len(held) == 5 and all(max(size) <= 256 for _, size, _ in held), held
    png_avg = sum(pngs) / len(pngs)
    thumb_avg = sum(n for _, _, n in held) / len(held)
    print(f"\n[widget state, emulator PNGs] 5 x 1024x1024: PNGs {sum(pngs) / 1024:.0f} KiB "
          f"(avg {png_avg / 1024:.0f} KiB); saved notebook {file5 / 1024:.0f} KiB; thumbnail "
          f"{thumb_avg / 1024:.1f} KiB per image = {thumb_avg / png_avg:.3f} of the PNG")
    assert thumb_avg < png_avg / 4
