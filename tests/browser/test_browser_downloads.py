"""Save on a preview tile and Save all download to the viewer's computer in Notebook 7 and Voila.

The notebook generates two images on the embedded emulator while it runs (top-level await),
and writes the PNG bytes it holds beside itself; a click on a tile's Save and on Save all
must land as real browser downloads (Playwright's download event) with those bytes. JupyterLab
is covered by test_notebook_ux.py. Screenshots go to test-artifacts/.
"""
from __future__ import annotations

import zipfile

import pytest
from browser_helpers import run_all_cells, write_notebook

CELLS = [
    """\
import azimage_widgets as aw
from azimage_widgets.widgets.widget_previews import png_bytes
req = aw.RequestImagePanel(aw.Connection.from_env(), name="dl", prompt="a red fox in the snow",
                           size="512x512", n=2, namespace=globals())
display(req)
await req.submit()
for i, (_op, slot) in enumerate(req.previews.entries):
    open(f"{KIND}_expected_{i}.png", "wb").write(png_bytes(slot))
names = [req.previews.file_name(i) for i in range(len(req.previews.entries))]
print(names)""",
]


@pytest.fixture(scope="module")
def served(jupyter_servers, notebook_dir, tmp_path_factory):
    jupyter_servers.env["AZIMAGE_STORE_DIR"] = str(tmp_path_factory.mktemp("azimage-store"))
    for kind in ("notebook", "voila"):
        write_notebook(notebook_dir / f"dl_{kind}.ipynb",
                       [c.replace("{KIND}", kind) for c in CELLS])
    started: dict = {}

    def get(kind: str):
        if kind not in started:
            started[kind] = (jupyter_servers.voila(notebook_dir, "dl_voila.ipynb") if kind == "voila"
                             else jupyter_servers.notebook(notebook_dir))
        return started[kind]

    return get


def _downloads(page, server, kind: str, tmp_path) -> None:
    panel = page.locator(".azimage-request-image").first
    page.wait_for_function(
        """el => { const imgs = [...el.querySelectorAll('img.azimage-thumb')];
                   return imgs.length === 2 && imgs.every(i => i.complete && i.naturalWidth > 0); }""",
        arg=panel.element_handle(), timeout=90_000)
    expected = [(server.root / f"{kind}_expected_{i}.png").read_bytes() for i in range(2)]

    save = panel.locator(".azimage-tile").first.locator("button.azimage-save")
    save.scroll_into_view_if_needed()
    with page.expect_download(timeout=30_000) as dl:
        save.click()
    one = tmp_path / "one.png"
    dl.value.save_as(str(one))
    assert one.read_bytes() == expected[0]
    name0 = dl.value.suggested_filename
    assert name0.startswith("dl_") and name0.endswith("_1.png"), name0
    page.wait_for_function("([el, n]) => el.textContent.includes('downloaded ' + n)",
                           arg=[panel.locator(".azimage-tile").first.element_handle(), name0],
                           timeout=10_000)

    with page.expect_download(timeout=30_000) as dl_all:
        panel.locator("button.azimage-save-all").click()
    zpath = tmp_path / "all.zip"
    dl_all.value.save_as(str(zpath))
    assert dl_all.value.suggested_filename == "dl_images.zip"
    with zipfile.ZipFile(zpath) as zf:
        names = zf.namelist()
        assert len(names) == 2 and names[0] == name0
        assert [zf.read(n) for n in names] == expected
    page.wait_for_function("el => el.textContent.includes('Downloaded dl_images.zip')",
                           arg=panel.locator(".azimage-save-status").element_handle(), timeout=10_000)


def test_downloads_in_notebook7(served, page, page_errors, screenshot, tmp_path):
    server = served("notebook")
    page.goto(server.notebook_url("dl_notebook.ipynb"))
    run_all_cells(page)
    _downloads(page, server, "notebook", tmp_path)
    screenshot(page, full_page=False)
    page_errors.check()


def test_downloads_in_voila(served, page, page_errors, screenshot, tmp_path):
    server = served("voila")
    page.goto(server.notebook_url("dl_voila.ipynb"))
    _downloads(page, server, "voila", tmp_path)
    page.set_viewport_size({"width": 1280, "height": 1400})
    screenshot(page, full_page=False)
    page_errors.check()
