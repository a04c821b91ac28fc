"""The anywidget controls and %image in a real JupyterLab 4 (Debian chromium, Playwright).

- the prompt's maxlength: typing stops at the cap and the caret stays put; a paste is cut
  to the cap with a note; a longer value from the kernel is cut too (caret read with evaluate);
- Save on a tile and Save all: real downloads land in the browser, bytes compared with the
  kernel's PNGs (and the zip's members);
- the mask brush: an uploaded image (through the real file chooser), painted and erased with
  the mouse; the kernel's mask is a PNG of the image's size, transparent where painted;
- %load_ext azimage_widgets, then %image shows two previews and binds _image.

The kernel uses the embedded emulator (no AZURE_OPENAI_* in the server's env).
Screenshots go to test-artifacts/.
"""
from __future__ import annotations

import time
import zipfile

import pytest
from browser_helpers import open_panel_notebook, run_code_cell
from PIL import Image

GI = "2025-04-01-preview"
CELLS = [
    """\
import io
import azimage_widgets as aw
from PIL import Image
conn = aw.Connection.from_env()
req = aw.RequestImagePanel(conn, name="ux", namespace=globals())
req""",
    f"""\
edit = aw.RequestImagePanel(conn, name="ux-edit", prompt="a sun", api_version="{GI}",
                            namespace=globals())
edit""",
]


@pytest.fixture
def nb_page(lab, page, request):
    # a notebook (so a kernel) per test: re-running the cells of a notebook whose widgets
    # a fresh page is still restoring from the kernel logs "model not found" errors
    name = f"ux_{request.node.name.removeprefix('test_')[:40]}.ipynb"
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=lab.base_url)
    open_panel_notebook(page, lab, name, CELLS)
    return page


def _textarea(page):
    return page.locator(".azimage-request-image").first.locator("textarea.azimage-prompt-text")


def _wait_value_length(page, ta, n: int) -> None:
    page.wait_for_function("([el, n]) => el.value.length === n", arg=[ta.element_handle(), n],
                           timeout=15_000)


def _kernel_says(page, code: str, expected: str, timeout: float = 15.0) -> None:
    """Run ``code`` until it prints ``expected``: ipywidgets holds a model's next update
    until the kernel answered its last one, so a cell can run before the latest value lands."""
    deadline = time.monotonic() + timeout
    while True:
        out = run_code_cell(page, code).strip()
        if out == expected or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert out == expected, out


def test_prompt_maxlength_typing_paste_and_kernel(nb_page, page_errors, screenshot):
    page = nb_page
    ta = _textarea(page)
    assert ta.get_attribute("maxlength") == "1000"
    run_code_cell(page, "req.prompt_input.value = 'a' * 990")
    _wait_value_length(page, ta, 990)

    # typing at the end stops at the cap
    ta.evaluate("el => { el.focus(); el.setSelectionRange(990, 990); }")
    page.keyboard.type("bcdefghijklmnop")
    _wait_value_length(page, ta, 1000)
    assert ta.evaluate("el => el.value.slice(-10)") == "bcdefghijk"

    # typing in the middle at the cap changes nothing and leaves the caret where it was
    ta.evaluate("el => { el.focus(); el.setSelectionRange(500, 500); }")
    page.keyboard.type("XYZ")
    state = ta.evaluate("el => [el.value.length, el.selectionStart, el.value.includes('X')]")
    assert state == [1000, 500, False], state
    counter = page.locator(".azimage-request-image .azimage-prompt-counter").first
    assert counter.inner_text().strip() == "1000 / 1000"
    _kernel_says(page, "print(len(req.activity.prompt), req.activity.prompt[-3:])", "1000 ijk")

    # a paste is cut to the room left, with a note; the caret ends after the pasted text
    run_code_cell(page, "req.prompt_input.value = 'b' * 900")
    _wait_value_length(page, ta, 900)
    ta.evaluate("el => { el.focus(); el.setSelectionRange(900, 900); }")
    page.evaluate("t => navigator.clipboard.writeText(t)", "P" * 300)
    page.keyboard.press("Control+v")
    _wait_value_length(page, ta, 1000)
    assert ta.evaluate("el => [el.value.slice(-100) === 'P'.repeat(100), el.selectionStart]") == [
        True, 1000]
    note = page.locator(".azimage-request-image .azimage-prompt-note").first
    page.wait_for_function("el => el.textContent.includes('the last 200 of 300')",
                           arg=note.element_handle(), timeout=10_000)
    _kernel_says(page, "print(len(req.activity.prompt), req.activity.prompt.count('P'))",
                 "1000 100")
    ta.scroll_into_view_if_needed()
    screenshot(page, "paste", full_page=False)

    # a longer value from the kernel is cut as well, and the page shows the kept text
    run_code_cell(page, "req.prompt_input.value = 'k' * 1200")
    _wait_value_length(page, ta, 1000)
    page.wait_for_function("el => el.textContent.includes('1200')", arg=note.element_handle(),
                           timeout=10_000)
    page_errors.check()


def test_save_and_save_all_land_as_browser_downloads(nb_page, lab, page_errors, screenshot, tmp_path):
    page = nb_page
    out = run_code_cell(page, """\
req.prompt_input.value = 'a red fox in the snow'
req.activity.n = 2
req.activity.size = '512x512'
await req.submit()
from azimage_widgets.widgets.widget_previews import png_bytes
for i, (_op, slot) in enumerate(req.previews.entries):
    open(f'expected_{i}.png', 'wb').write(png_bytes(slot))
print(len(req.previews.entries), [req.previews.file_name(i) for i in range(2)])""", timeout=60_000)
    assert out.startswith("2 "), out
    names = eval(out.split(" ", 1)[1])  # noqa: S307 - the list printed just above
    panel = page.locator(".azimage-request-image").first
    panel.locator("img.azimage-thumb").nth(1).wait_for(state="visible", timeout=30_000)

    save = panel.locator(".azimage-tile").nth(1).locator("button.azimage-save")
    with page.expect_download(timeout=30_000) as dl:
        save.click()
    got = tmp_path / "one.png"
    dl.value.save_as(str(got))
    assert dl.value.suggested_filename == names[1]
    assert got.read_bytes() == (lab.root / "expected_1.png").read_bytes()
    caption = panel.locator(".azimage-tile").nth(1)
    page.wait_for_function("([el, n]) => el.textContent.includes('downloaded ' + n)",
                           arg=[caption.element_handle(), names[1]], timeout=10_000)
    assert "downloaded" not in panel.locator(".azimage-tile").nth(0).inner_text()

    with page.expect_download(timeout=30_000) as dl_all:
        panel.locator("button.azimage-save-all").click()
    zpath = tmp_path / "all.zip"
    dl_all.value.save_as(str(zpath))
    assert dl_all.value.suggested_filename == "ux_images.zip"
    with zipfile.ZipFile(zpath) as zf:
        assert zf.namelist() == names
        for i, name in enumerate(names):
            assert zf.read(name) == (lab.root / f"expected_{i}.png").read_bytes()
    status = panel.locator(".azimage-save-status")
    page.wait_for_function("el => el.textContent.includes('Downloaded ux_images.zip')",
                           arg=status.element_handle(), timeout=10_000)
    # the message sits in the row of Save all
    row = panel.locator(".azimage-save-all").evaluate(
        "(b) => { const s = b.parentElement.querySelector('.azimage-save-status');"
        " return s && Math.abs(s.getBoundingClientRect().top - b.getBoundingClientRect().top) < 40; }")
    assert row
    panel.locator(".azimage-tile").first.scroll_into_view_if_needed()
    screenshot(page, "saved", full_page=False)
    page_errors.check()


def test_mask_brush_paints_transparent_pixels(nb_page, page_errors, screenshot, tmp_path):
    page = nb_page
    photo = tmp_path / "photo.png"
    Image.new("RGB", (200, 150), (30, 120, 200)).save(photo)
    panel = page.locator(".azimage-request-image").nth(1)
    panel.get_by_text("Edit an image").first.click()
    upload = panel.locator(".azimage-edit-image")
    upload.wait_for(state="visible")
    with page.expect_file_chooser() as chooser:
        upload.click()
    chooser.value.set_files(str(photo))
    uploaded = panel.locator(".azimage-edit-uploaded")
    page.wait_for_function("el => el.textContent.includes('photo.png') && el.textContent.includes('200x150')",
                           arg=uploaded.element_handle(), timeout=20_000)
    canvas = panel.locator("canvas.azimage-mask-canvas")
    page.wait_for_function("el => el.width === 200 && el.height === 150",
                           arg=canvas.element_handle(), timeout=20_000)
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    assert box and abs(box["width"] - 200) < 2  # shown at its own size (not up-scaled)

    def stroke(x0: float, x1: float) -> None:
        canvas.scroll_into_view_if_needed()  # a cell run below may have scrolled the page
        box = canvas.bounding_box()
        assert box
        y = box["y"] + box["height"] / 2
        page.mouse.move(box["x"] + x0, y)
        page.mouse.down()
        page.mouse.move(box["x"] + x1, y, steps=15)
        page.mouse.up()

    note = panel.locator(".azimage-mask-note")
    stroke(40, 160)
    page.wait_for_function("el => /\\d+% of the image painted/.test(el.textContent)",
                           arg=note.element_handle(), timeout=15_000)
    check = ("m = Image.open(io.BytesIO(edit.activity.edit_mask)).convert('RGBA')\n"
             "print(m.size, m.getpixel((100, 75))[3], m.getpixel((150, 75))[3], "
             "m.getpixel((5, 5))[3], m.getpixel((195, 145))[3])")
    out = run_code_cell(page, check)
    assert out.strip() == "(200, 150) 0 0 255 255", out
    screenshot(page, "painted", full_page=False)

    # the eraser takes paint away: the right part is opaque (kept) again
    panel.locator("button.azimage-mask-eraser").click()
    before = note.inner_text()
    stroke(130, 195)
    page.wait_for_function("([el, t]) => el.textContent !== t", arg=[note.element_handle(), before],
                           timeout=15_000)
    out = run_code_cell(page, check)
    assert out.strip() == "(200, 150) 0 255 255 255", out
    info = panel.locator(".azimage-edit-info").inner_text()
    assert "where the mask is transparent" in info and "painted mask" in uploaded.inner_text()
    screenshot(page, "erased", full_page=False)
    page_errors.check()


def test_image_magic_shows_previews_and_binds(nb_page, page_errors, screenshot):
    page = nb_page
    run_code_cell(page, "%load_ext azimage_widgets")
    run_code_cell(page, "%image a red fox in the snow --size 512x512 -n 2", timeout=60_000)
    magic = page.locator(".azimage-magic").last
    page.wait_for_function(
        """el => { const imgs = [...el.querySelectorAll('img.azimage-thumb')];
                   return imgs.length === 2 && imgs.every(i => i.complete && i.naturalWidth > 0); }""",
        arg=magic.element_handle(), timeout=60_000)
    assert "succeeded" in magic.locator(".azimage-magic-status").inner_text()
    out = run_code_cell(page, "print(len(_image.ids), [im.size for im in _image.results[0].images])")
    assert out.strip() == "1 [(512, 512), (512, 512)]", out
    out = run_code_cell(page, "%image a fox -n 9")
    assert "n: must be from 1 to" in out and "Nothing was sent" in out
    magic.scroll_into_view_if_needed()
    screenshot(page, full_page=False)
    page_errors.check()


def test_full_size_opens_in_view_never_upscaled_and_closes(nb_page, page_errors, screenshot):
    page = nb_page
    page.set_viewport_size({"width": 1280, "height": 700})
    out = run_code_cell(page, """\
req.prompt_input.value = 'a small fox'
req.activity.n = 2
req.activity.size = '256x256'
await req.submit()
print(len(req.previews.entries))""", timeout=60_000)
    assert out.strip() == "2", out
    panel = page.locator(".azimage-request-image").first
    full_buttons = panel.locator("button.azimage-fullsize")
    full_buttons.nth(1).scroll_into_view_if_needed()
    full_buttons.nth(1).click()
    overlay = page.locator(".azimage-full-overlay")
    overlay.wait_for(state="visible", timeout=10_000)
    img = overlay.locator("img.azimage-full")
    page.wait_for_function("el => el.complete && el.naturalWidth > 0", arg=img.element_handle())
    natural, shown = img.evaluate("el => [[el.naturalWidth, el.naturalHeight], "
                                  "[el.getBoundingClientRect().width, el.getBoundingClientRect().height]]")
    assert natural == [256, 256] and shown == [256, 256], (natural, shown)  # its own size
    box = img.bounding_box()
    assert box and 0 <= box["y"] and box["y"] + box["height"] <= 700  # where the user looks
    assert overlay.locator(".azimage-full-caption").inner_text().startswith("image 2 of ")
    screenshot(page, "small", full_page=False)
    page.keyboard.press("Escape")
    overlay.wait_for(state="detached", timeout=10_000)
    assert run_code_cell(page, "print(req.previews.full_index)").strip() == "None"

    # a large image is fitted down to the window, and a click closes it
    run_code_cell(page, "req.activity.size = '1024x1024'\nreq.activity.n = 1\nawait req.submit()",
                  timeout=60_000)
    panel.locator("button.azimage-fullsize").first.click()
    overlay.wait_for(state="visible", timeout=10_000)
    page.wait_for_function("el => el.complete && el.naturalWidth === 1024", arg=img.element_handle())
    shown = img.evaluate("el => [el.getBoundingClientRect().width, el.getBoundingClientRect().height]")
    assert shown[1] <= 700 and abs(shown[0] - shown[1]) < 2, shown  # fitted, square kept
    screenshot(page, "large", full_page=False)
    overlay.click(position={"x": 5, "y": 5})
    overlay.wait_for(state="detached", timeout=10_000)
    assert run_code_cell(page, "print(req.previews.full_index)").strip() == "None"
    page_errors.check()


def test_generate_waits_for_valid_fields_and_compression_follows_jpeg(nb_page, page_errors, screenshot):
    page = nb_page
    panel = page.locator(".azimage-request-image").nth(1)  # gpt-image-1: has output options
    generate = panel.locator("button.azimage-generate")
    assert generate.is_enabled()
    name = panel.locator(".azimage-name input")
    name.fill("bad/name")
    page.wait_for_function("el => el.disabled", arg=generate.element_handle(), timeout=10_000)
    assert "/" in panel.locator(".azimage-name-error").inner_text()
    name.fill("good-name")
    page.wait_for_function("el => !el.disabled", arg=generate.element_handle(), timeout=10_000)

    panel.locator(".azimage-optional").get_by_text("Optional settings").first.click()
    fmt = panel.locator(".azimage-output-format select")
    fmt.wait_for(state="visible")
    compression = panel.locator(".azimage-output-compression")
    assert not compression.is_visible()
    fmt.select_option("jpeg")
    compression.wait_for(state="visible", timeout=10_000)
    compression.scroll_into_view_if_needed()
    screenshot(page, "jpeg", full_page=False)
    fmt.select_option("png")
    compression.wait_for(state="hidden", timeout=10_000)
    page_errors.check()


def test_history_search_follows_typing(nb_page, page_errors, screenshot):
    page = nb_page
    run_code_cell(page, """\
for p in ('a zebra on a beach', 'a quokka smiling'):
    req.prompt_input.value = p
    req.activity.size = '256x256'
    await req.submit()
gallery = aw.history()
gallery""", timeout=90_000)
    gallery = page.locator(".azimage-history").last
    gallery.wait_for(state="visible", timeout=30_000)
    box = gallery.locator(".azimage-history-search input")
    box.click()
    page.keyboard.type("quokka", delay=40)  # no Enter
    page.wait_for_function(
        """el => { const t = [...el.querySelectorAll('.azimage-history-tile')];
                   return t.length === 1 && t[0].textContent.includes('a quokka smiling'); }""",
        arg=gallery.element_handle(), timeout=15_000)
    assert run_code_cell(page, "print(gallery.query, len(gallery.records))").strip() == "quokka 1"
    box.fill("")
    page.keyboard.type("zebra", delay=40)
    page.wait_for_function(
        """el => { const t = [...el.querySelectorAll('.azimage-history-tile')];
                   return t.length === 1 && t[0].textContent.includes('a zebra on a beach'); }""",
        arg=gallery.element_handle(), timeout=15_000)
    gallery.scroll_into_view_if_needed()
    screenshot(page, full_page=False)
    page_errors.check()


# WCAG relative luminance and contrast of the text colours as the browser computes them
# (color-mix() comes back as "color(srgb r g b)"), against the first opaque background up
# the tree; a translucent text colour is blended over that background first.
_CONTRAST_JS = """
(selectors) => {
  const parse = (s) => {
    let m = s.match(/^rgba?\\(([^)]+)\\)/);
    if (m) { const p = m[1].split(/[ ,\\/]+/).filter(Boolean).map(Number);
             return [p[0] / 255, p[1] / 255, p[2] / 255, p.length > 3 ? p[3] : 1]; }
    m = s.match(/^color\\(srgb ([^)]+)\\)/);
    if (m) { const p = m[1].split(/[ \\/]+/).filter(Boolean).map(Number);
             return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1]; }
    throw new Error('colour not understood: ' + s);
  };
  const lin = (c) => c <= 0.04045 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4);
  const lum = (c) => 0.2126 * lin(c[0]) + 0.7152 * lin(c[1]) + 0.0722 * lin(c[2]);
  const background = (el) => {
    for (let e = el; e; e = e.parentElement) {
      const c = parse(getComputedStyle(e).backgroundColor);
      if (c[3] > 0.99) return c;
    }
    return [1, 1, 1, 1];
  };
  const out = {};
  for (const sel of selectors) {
    const el = document.querySelector(sel);
    if (!el) { out[sel] = null; continue; }
    const bg = background(el);
    const fg = parse(getComputedStyle(el).color);
    const text = [0, 1, 2].map(i => fg[i] * fg[3] + bg[i] * (1 - fg[3]));
    const [a, b] = [lum(text), lum(bg)];
    out[sel] = Math.round(((Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05)) * 100) / 100;
  }
  return out;
}
"""
_MEASURED = [".azimage-progress-row b", ".azimage-filtered div", ".azimage-name-error span",
             ".azimage-prompt-counter", ".azimage-status"]


def test_text_contrast_in_light_and_dark_themes(nb_page, page_errors, screenshot):
    page = nb_page
    out = run_code_cell(page, """\
req.prompt_input.value = 'a fox PARTIAL_FILTER'
req.activity.n = 2
req.activity.size = '256x256'
await req.submit()
print(sum(len(r.errors) for r in req.results))""", timeout=60_000)
    assert out.strip() == "1", out  # one image refused: a placeholder tile
    panel = page.locator(".azimage-request-image").first
    panel.locator(".azimage-name input").fill("bad/name")
    panel.locator(".azimage-name-error span").wait_for(timeout=10_000)
    panel.locator(".azimage-filtered").scroll_into_view_if_needed()
    results = {}
    for theme in ("JupyterLab Light", "JupyterLab Dark"):
        page.evaluate("t => window.jupyterapp.commands.execute('apputils:change-theme', {theme: t})",
                      theme)
        page.wait_for_function("light => document.body.dataset.jpThemeLight === light",
                               arg="true" if theme.endswith("Light") else "false", timeout=20_000)
        page.wait_for_timeout(500)  # the theme's stylesheet applied
        results[theme] = page.evaluate(_CONTRAST_JS, _MEASURED)
        screenshot(page, theme.split()[-1].lower(), full_page=False)
    print(results)
    for theme, measured in results.items():
        for sel, ratio in measured.items():
            assert ratio is not None, (theme, sel, "not on the page")
            assert ratio >= 4.5, (theme, sel, ratio)
    page_errors.check()


def test_operation_log_scrolls_within_a_bounded_height(nb_page, page_errors, screenshot):
    page = nb_page
    run_code_cell(page, """\
from azimage_widgets.activities.oplog import OperationLog
log = OperationLog()
for i in range(60):
    log.add(activity="fox", kind="request_image", dataset=i, status="succeeded",
            operation_id=f"op-{i}", message="ok")
view = aw.OperationLogView(log)
view""")
    table = page.locator(".azimage-oplog-table").last
    table.wait_for(state="visible", timeout=20_000)
    client, scroll = table.evaluate("el => [el.clientHeight, el.scrollHeight]")
    assert client <= 322 and scroll > client, (client, scroll)
    table.scroll_into_view_if_needed()
    screenshot(page, full_page=False)
    page_errors.check()
