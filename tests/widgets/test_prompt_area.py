"""PromptArea (anywidget): the cap in the browser (maxlength, synced) and again in Python."""
from __future__ import annotations

import helpers

from azimage_widgets.widgets.widget_prompt_area import PromptArea, cut_note


def test_cap_is_synced_as_the_browsers_maxlength():
    area = PromptArea(max_chars=12)
    state = area.get_state()
    assert state["max_chars"] == 12
    assert "maxLength = cap()" in state["_esm"]  # the ESM applies it to the <textarea>
    assert "import " not in state["_esm"] and "http" not in state["_esm"]  # self-contained
    assert "var(--jp-" in state["_css"]


def test_longer_value_from_the_front_end_is_cut_with_a_note_and_echoed():
    area = PromptArea(max_chars=10, value="abc")
    sent = helpers.front_end_update(area, {"value": "x" * 15})
    assert area.value == "x" * 10
    assert area.note == cut_note(15, 10) and "5 of 15" in area.note
    updates = [m for m in sent if m.get("method") == "update" and "value" in m.get("state", {})]
    assert updates and updates[-1]["state"]["value"] == "x" * 10


def test_longer_value_from_the_kernel_is_cut_too():
    area = PromptArea(max_chars=5)
    area.value = "abcdefgh"
    assert area.value == "abcde" and "8" in area.note and "3" in area.note


def test_value_at_the_cap_is_kept_whole_and_counted():
    area = PromptArea(max_chars=5)
    helpers.front_end_update(area, {"value": "abcde"})
    assert area.value == "abcde" and area.note == "" and area.counter == "5 / 5"


def test_a_paste_note_from_the_browser_stays_until_the_text_gets_shorter():
    area = PromptArea(max_chars=5)
    helpers.front_end_update(area, {"note": "Pasted text cut", "value": "abcde"})
    assert area.note == "Pasted text cut"
    helpers.front_end_update(area, {"value": "abcd"})
    assert area.note == "" and area.counter == "4 / 5"
