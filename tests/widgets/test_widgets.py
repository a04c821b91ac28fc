"""Layer 4 with no kernel: widgets on ipywidgets' dummy comm, driven like a front end would.

A browser edit arrives as a comm ``update`` message; ``widget.comm.handle_msg``
with that message is exactly what the kernel does with it.
"""
from __future__ import annotations

import io
import json
import uuid

import helpers
import traitlets
from ipywidgets import Accordion, Button, Image, Widget
from ipywidgets.widgets.widget import _instances
from PIL import Image as PILImage

import azimage_widgets as aw
from azimage_widgets.activities import DownloadResult, ImageSlot
from azimage_widgets.contract import ImageItem, ImageResult
from azimage_widgets.widgets import PreviewGrid, walk
from azimage_widgets.widgets.widget_tree import visible


def uniq(prefix: str = "w") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def front_end_update(widget: Widget, **state) -> list[dict]:
    """Deliver a front-end ``update`` comm message; returns what the kernel sent back."""
    return helpers.front_end_update(widget, state)


def with_class(root: Widget, css: str) -> list[Widget]:
    return [w for w in walk(root) if css in getattr(w, "_dom_classes", ())]


def one(root: Widget, css: str) -> Widget:
    found = with_class(root, css)
    assert len(found) == 1, (css, found)
    return found[0]


# -- the prompt cap ---------------------------------------------------------------------

def test_prompt_cap_is_the_browsers_maxlength_and_pythons():
    p = aw.RequestImagePanel(name=uniq(), namespace={})
    area = one(p, "azimage-prompt")
    assert area is p.prompt_input and area.get_state()["max_chars"] == 1000


def test_over_cap_from_browser_is_cut_with_a_note_and_only_the_cut_reaches_activity():
    p = aw.RequestImagePanel(name=uniq(), prompt="a red fox", namespace={})
    area = one(p, "azimage-prompt")
    sent = front_end_update(area, value="x" * 1001)
    assert area.value == "x" * 1000
    assert p.activity.prompt == "x" * 1000
    assert "1001" in area.note and "1000" in area.note
    # the front end is told to show the kept text
    updates = [m for m in sent if m.get("method") == "update" and "value" in m["state"]]
    assert updates and updates[-1]["state"]["value"] == "x" * 1000


def test_at_cap_from_browser_is_accepted_and_counted():
    p = aw.RequestImagePanel(name=uniq(), namespace={})
    area = one(p, "azimage-prompt")
    front_end_update(area, value="y" * 1000)
    assert p.activity.prompt == "y" * 1000
    assert p.prompt_counter == "1000 / 1000" and area.note == ""
    assert one(p, "azimage-prompt-error").value == ""


def test_counter_follows_the_value():
    p = aw.RequestImagePanel(name=uniq(), namespace={})
    assert p.prompt_counter == "0 / 1000"
    front_end_update(one(p, "azimage-prompt"), value="hello")
    assert p.prompt_counter == "5 / 1000"


def test_over_cap_from_python_is_cut_too():
    p = aw.RequestImagePanel(name=uniq(), namespace={})
    p.prompt_input.value = "z" * 1500
    assert p.activity.prompt == "z" * 1000 and "1500" in p.prompt_input.note


# -- fields -------------------------------------------------------------------------

def test_name_error_shows_next_to_field_and_blocks_save():
    p = aw.RequestImagePanel(name=uniq(), prompt="p", namespace={})
    name = p.activity.name
    front_end_update(one(p, "azimage-name"), value="bad/name")
    assert "/" in one(p, "azimage-name-error").value
    assert p.activity.name == name
    assert p.frame.save_exit_button.disabled
    p.frame.save_exit_button.click()
    assert not p.frame.collapsed
    front_end_update(one(p, "azimage-name"), value=name + "-ok")
    assert one(p, "azimage-name-error").value == ""
    assert p.activity.name == name + "-ok" and not p.frame.save_exit_button.disabled


def test_duplicate_name_error_next_to_field():
    other = aw.RequestImagePanel(name=uniq(), namespace={})
    p = aw.RequestImagePanel(name=uniq(), namespace={})
    front_end_update(one(p, "azimage-name"), value=other.activity.name)
    assert "unique" in one(p, "azimage-name-error").value


def test_optional_settings_collapsed_with_seed_defaults():
    p = aw.RequestImagePanel(name=uniq(), namespace={})
    acc = one(p, "azimage-optional")
    assert isinstance(acc, Accordion) and acc.selected_index is None
    assert one(p, "azimage-size").value == "1024x1024"
    assert set(one(p, "azimage-size").options) == {"1024x1024", "512x512", "256x256"}
    n = one(p, "azimage-n")
    assert (n.value, n.min, n.max) == (1, 1, 5)
    assert one(p, "azimage-version").value == "2023-06-01-preview"
    assert one(p, "azimage-continue-on-error").value is False


def test_widget_edits_reach_activity():
    p = aw.RequestImagePanel(name=uniq(), namespace={})
    front_end_update(one(p, "azimage-size"), index=2)
    front_end_update(one(p, "azimage-n"), value=4)
    front_end_update(one(p, "azimage-continue-on-error"), value=True)
    a = p.activity
    assert (a.size, a.n, a.continue_on_error) == ("256x256", 4, True)


# -- steps and buttons ------------------------------------------------------------------

def test_next_back_show_the_right_step_and_buttons():
    p = aw.RequestImagePanel(name=uniq(), prompt="p", namespace={})
    f = p.frame
    assert visible(f.step1) and not visible(f.step2)
    assert visible(f.next_button) and visible(f.save_exit_button)
    assert not visible(f.back_button) and not visible(f.finished_button)
    one(p, "azimage-next").click()
    assert f.step == 2 and visible(f.step2) and not visible(f.step1)
    assert visible(f.back_button) and visible(f.finished_button) and not visible(f.next_button)
    one(p, "azimage-back").click()
    assert f.step == 1 and visible(f.step1)


def test_next_keeps_changes_unsaved_then_finished_saves():
    p = aw.RequestImagePanel(name=uniq(), prompt="a fox", namespace={})
    front_end_update(one(p, "azimage-prompt"), value="a wolf")
    one(p, "azimage-next").click()
    assert p.activity.dirty and p.activity.saved["prompt"] == "a fox"
    one(p, "azimage-finished").click()
    assert not p.activity.dirty and p.activity.saved["prompt"] == "a wolf"
    assert p.frame.collapsed and visible(p.frame.summary_button) and not visible(p.frame.body)


def test_save_and_exit_collapses_to_summary_that_reopens():
    p = aw.RequestImagePanel(name=uniq(), prompt="a fox on a hill", namespace={})
    front_end_update(one(p, "azimage-n"), value=3)
    one(p, "azimage-save-exit").click()
    summary = one(p, "azimage-summary")
    assert p.frame.collapsed and p.activity.saved["n"] == 3
    assert "a fox on a hill" in summary.description and "\u00d7 3" in summary.description
    summary.click()
    assert not p.frame.collapsed and p.frame.step == 1 and visible(p.frame.body)


def test_discard_asks_then_restores_saved():
    p = aw.RequestImagePanel(name=uniq(), prompt="a fox", namespace={})
    discard = one(p, "azimage-discard")
    assert discard.disabled  # nothing to discard yet
    front_end_update(one(p, "azimage-prompt"), value="a wolf")
    assert not discard.disabled
    discard.click()
    assert visible(one(p, "azimage-confirm")) and p.activity.prompt == "a wolf"
    one(p, "azimage-discard-no").click()  # keep editing
    assert not visible(one(p, "azimage-confirm")) and p.activity.prompt == "a wolf"
    discard.click()
    one(p, "azimage-discard-yes").click()
    assert p.activity.prompt == "a fox" and one(p, "azimage-prompt").value == "a fox"
    assert not p.activity.dirty and p.frame.collapsed


def test_discard_clears_a_refused_edit():
    p = aw.RequestImagePanel(name=uniq(), prompt="p", namespace={})
    name = p.activity.name
    front_end_update(one(p, "azimage-name"), value="x:y")
    front_end_update(one(p, "azimage-prompt"), value="q")
    one(p, "azimage-discard").click()
    one(p, "azimage-discard-yes").click()
    assert one(p, "azimage-name").value == name and one(p, "azimage-name-error").value == ""
    assert not p.frame.save_exit_button.disabled


def test_schema_step_shows_fields_and_refresh_edit():
    p = aw.RequestImagePanel(name=uniq(), namespace={})
    tables = [w.value for w in with_class(p, "azimage-schema-table")]
    assert len(tables) == 2
    assert "prompt" in tables[0] and "integer" in tables[0] and "1000" in tables[0]
    assert "<code>id</code>" in tables[1] and "status" in tables[1]
    for css in ("azimage-schema-refresh", "azimage-schema-edit"):
        b = one(p, css)
        # wired by SchemaTools (tests/activities/test_schema_edit.py drives them)
        assert isinstance(b, Button) and not b.disabled and b.tooltip
    d = aw.DownloadImagePanel(name=uniq(), namespace={})
    resp = with_class(d, "azimage-schema-table")[1].value
    assert "result.data[].url" in resp and "error.code" in resp and "expires" in resp


def test_download_panel_id_field_and_variable_errors():
    d = aw.DownloadImagePanel(name=uniq(), image_id="[fox_id]", namespace={})
    field = one(d, "azimage-image-id")
    assert field.value == "[fox_id]" and d.image_id == "[fox_id]"
    front_end_update(field, value="[fox.id]")
    assert "image_id" in one(d, "azimage-image-id-error").value
    assert d.activity.image_id == "[fox_id]"
    front_end_update(field, value="[fox_ids][0]")
    assert d.activity.image_id == "[fox_ids][0]" and d.image_id == "[fox_ids][0]"


def test_dlink_chains_request_ids_into_download_image_id():
    req = aw.RequestImagePanel(name=uniq(), namespace={})
    dl = aw.DownloadImagePanel(name=uniq(), namespace={})
    traitlets.dlink((req, "ids"), (dl, "image_id"), lambda ids: ids[0] if ids else "")
    req.activity.publish(ids=["op-123", "op-456"])
    assert req.ids == ["op-123", "op-456"]
    assert dl.image_id == "op-123" and dl.activity.image_id == "op-123"
    assert one(dl, "azimage-image-id").value == "op-123"
    assert "op-123" in one(req, "azimage-ids").value


def test_generate_without_loop_reports_in_panel():
    p = aw.RequestImagePanel(name=uniq(), prompt="p", namespace={})
    one(p, "azimage-generate").click()  # no running loop here: must show, not raise
    assert "running asyncio loop" in one(p, "azimage-status").value


# -- css classes documented ----------------------------------------------------------------

def test_every_css_class_used_is_documented():
    import azimage_widgets.widgets as pkg

    p = aw.RequestImagePanel(name=uniq(), prompt="p", namespace={})
    d = aw.DownloadImagePanel(name=uniq(), namespace={})
    used = {c for root in (p, d) for w in walk(root) for c in getattr(w, "_dom_classes", ())
            if c.startswith("azimage-")}
    missing = sorted(c for c in used if f"``{c}``" not in pkg.__doc__)
    assert not missing
    for css in ("azimage-generate", "azimage-prompt", "azimage-ids", "azimage-summary"):
        assert css in used


# -- previews (no network: a result built by hand) -------------------------------------------

def _png(size: int, colour: str) -> bytes:
    buf = io.BytesIO()
    PILImage.new("RGB", (size, size), colour).save(buf, format="PNG")
    return buf.getvalue()


def _result(n_ok: int, filtered: bool) -> DownloadResult:
    from azimage_widgets.activities.download_image import decode_image

    slots, items = [], []
    for i in range(n_ok):
        data = _png(512, "red")
        img, thumb = decode_image(data)
        slots.append(ImageSlot(i, url=f"http://img/{i}.png", data=data, image=img, thumbnail=thumb))
        items.append(ImageItem(i, url=f"http://img/{i}.png"))
    if filtered:
        message = "Generated image was filtered as a result of our safety system."
        slots.append(ImageSlot(n_ok, error_code="contentFilter", error_message=message))
        items.append(ImageItem(n_ok, error_code="contentFilter", error_message="filtered"))
    return DownloadResult(ImageResult("op-abcdef123", "succeeded", tuple(items), 1, 2), slots)


def test_preview_tiles_thumbnails_placeholder_fullsize_and_save(tmp_path):
    grid = PreviewGrid(prefix="fox", folder=str(tmp_path / "out"))
    grid.show([_result(2, filtered=True)])
    thumbs = with_class(grid, "azimage-thumb")
    assert len(thumbs) == 2
    for t in thumbs:
        assert isinstance(t, Image) and t.format == "webp"
        im = PILImage.open(io.BytesIO(t.value))
        assert im.format == "WEBP" and max(im.size) <= 256
    placeholder = one(grid, "azimage-filtered")
    assert "contentFilter" in placeholder.value and "safety system" in placeholder.value
    sent = []
    grid.full_view.comm.send = lambda data=None, metadata=None, buffers=None: sent.append(buffers)
    assert grid.full_index is None
    with_class(grid, "azimage-fullsize")[1].click()  # the overlay (test_full_size.py)
    assert grid.full_index == 1 and PILImage.open(io.BytesIO(bytes(sent[-1][0]))).size == (512, 512)
    grid.hide_full()
    assert grid.full_index is None and grid.full_view.showing is None
    assert grid.save(0).name == "fox_op-abcde_1.png"  # into the folder on the server
    one(grid, "azimage-save-folder-button").click()
    saved = sorted(p.name for p in (tmp_path / "out").iterdir())
    # the first file is kept: "Save to folder" numbers the new one rather than overwrite it
    assert saved == ["fox_op-abcde_1-2.png", "fox_op-abcde_1.png", "fox_op-abcde_2.png"]
    assert all(PILImage.open(tmp_path / "out" / n).format == "PNG" for n in saved)
    assert "Saved 2 files on the server" in one(grid, "azimage-save-status").value


def test_preview_replacement_closes_old_widgets():
    grid = PreviewGrid()
    grid.show([_result(3, filtered=False)])
    old = list(walk(grid))
    before = len(_instances)
    grid.show([_result(3, filtered=False)])
    assert len(_instances) == before  # same number: the old tiles were closed
    old_tiles = [w for w in old if "azimage-tile" in getattr(w, "_dom_classes", ())]
    assert old_tiles and all(w.comm is None for w in old_tiles)
    grid.clear()
    assert len(_instances) < before


# -- no key in synced state; closing ----------------------------------------------------------

def test_no_widget_state_holds_the_key():
    key = "fake-key-should-never-show-0042"
    conn = aw.Connection("http://127.0.0.1:9", api_key=key)
    req = aw.RequestImagePanel(conn, name=uniq(), prompt="p", namespace={})
    dl = aw.DownloadImagePanel(conn, name=uniq(), namespace={})
    count = 0
    for root in (req, dl):
        for w in walk(root):
            state = json.dumps(w.get_state(), default=str)
            assert key not in state
            count += 1
    assert count > 50  # the walk really covered the trees


def test_replacing_a_panel_keeps_it_disabled_saying_what_replaced_it():
    name = uniq()
    old = aw.RequestImagePanel(name=name, prompt="p", namespace={})
    old_widgets = list(walk(old))
    new = aw.RequestImagePanel(name=name, prompt="p", namespace={})
    # still open (a reloaded page finds its models), every control disabled
    assert all(w.comm is not None for w in old_widgets)
    assert all(w.disabled for w in walk(old) if w.has_trait("disabled"))
    assert old.generate_button.disabled and not new.generate_button.disabled
    notice = old.children[0]
    assert "azimage-replaced" in notice._dom_classes
    assert f"Replaced by a newer Request Image panel named {name!r}" in notice.value
    assert "(created at " in notice.value  # no kernel here: the time only
    assert new.activity.name == name and old.activity.closed
    # an edit in the old panel's fields no longer reaches any activity
    old.prompt_input.value = "edited in the old panel"
    assert new.activity.prompt == "p" and old.activity.prompt == "p"
    new.close()
    assert new.comm is None  # closed for good (not replaced): gone


def test_close_frees_the_name():
    name = uniq()
    p = aw.DownloadImagePanel(name=name, namespace={})
    p.close()
    assert p.comm is None
    aw.DownloadImage(name=name)  # free again


def test_generate_is_disabled_while_a_field_is_invalid():
    p = aw.RequestImagePanel(name=uniq(), prompt="a fox", namespace={})
    assert not p.generate_button.disabled
    front_end_update(one(p, "azimage-name"), value="bad/name")
    assert p.generate_button.disabled  # the activity still has the old name: no run under it
    front_end_update(one(p, "azimage-name"), value=uniq("ok"))
    assert not p.generate_button.disabled
    p.close()
