"""Input refused before anything is sent: names, invisible prompts, non-JSON values, wrong types.

Each refusal is a ValidationError naming the field (never a raw ValueError,
TypeError or TraitError), and a refused name is never echoed back.
"""
from __future__ import annotations

import json
import math
import uuid

import pytest

import azimage_widgets as aw
from azimage_widgets.activities import DownloadImage, RequestImage
from azimage_widgets.activities.config_io import activity_from_config, config_dict
from azimage_widgets.activities.dataset_runs import DatasetError
from azimage_widgets.activities.schema_edit import SchemaDraft
from azimage_widgets.contract import ImageRequest, ValidationError

BAD_NAMES = {
    "lone surrogate": "fox\ud800",
    "NUL": "fox\x00",
    "newline": "fox\nbar",
    "escape": "fox\x1b[31m",
    "bidi override": "fox\u202etxt.exe",
    "bidi isolate": "fox\u2066x",
    "zero-width space": "fo\u200bx",
    "zero-width joiner": "fo\u200dx",
    "BOM": "\ufefffox",
    "line separator": "fox\u2028",
}
INVISIBLE_PROMPTS = ["\u200b", "\u200b\u200c\u200d", "\ufeff \u2060", "\u3164", " \u00a0\u200b\t",
                     "\u2800\u2800"]


def uniq() -> str:
    return f"s-{uuid.uuid4().hex[:8]}"


@pytest.mark.parametrize("kind", [RequestImage, DownloadImage])
@pytest.mark.parametrize("case", sorted(BAD_NAMES))
def test_activity_names_refuse_hidden_characters(kind, case):
    bad = BAD_NAMES[case]
    with pytest.raises(ValidationError) as ei:
        kind(None, name=bad, namespace={})
    assert ei.value.field == "name"
    assert bad not in str(ei.value) and bad not in repr(ei.value)
    act = kind(None, name=uniq(), namespace={})
    before = act.name
    with pytest.raises(ValidationError) as ei:
        act.name = bad
    assert ei.value.field == "name" and act.name == before
    json.dumps(config_dict(act))  # the configuration stays writable


@pytest.mark.parametrize("case", ["lone surrogate", "NUL", "bidi override", "zero-width space"])
def test_panel_names_refuse_hidden_characters(case):
    with pytest.raises(ValidationError) as ei:
        aw.RequestImagePanel(name=BAD_NAMES[case], namespace={})
    assert ei.value.field == "name"


def test_visible_unicode_names_are_kept():
    for name in ("Füchse 🦊", "キツネ", "renard-2 (brouillon)"):
        assert RequestImage(None, name=f"{name} {uniq()}", namespace={}).name.startswith(name)


@pytest.mark.parametrize("prompt", INVISIBLE_PROMPTS)
def test_a_prompt_of_invisible_characters_is_blank(prompt):
    with pytest.raises(ValidationError) as ei:
        ImageRequest(prompt)
    assert ei.value.field == "prompt" and "blank" in str(ei.value)
    act = RequestImage(object(), name=uniq(), namespace={}, prompt=prompt)  # typing it is allowed
    with pytest.raises(ValidationError) as ei:
        act.request()
    assert ei.value.field == "prompt"


async def test_an_invisible_prompt_is_refused_before_a_client_is_made():
    act = RequestImage(object(), name=uniq(), namespace={}, prompt="\u200b\u200b")
    with pytest.raises(ValidationError):
        await act.submit()  # conn=object(): any request attempt would fail differently
    assert act.status == "failed" and act.error["field"] == "prompt"


@pytest.mark.parametrize("value, what", [
    ({"a": math.nan}, "NaN"),
    ({"a": math.inf}, "infinity"),
    ({"a": b"raw"}, "bytes"),
    ({"a": {1, 2}}, "set"),
    ({"a": "x\udc00"}, "surrogate"),
    ({"\ud800": 1}, "surrogate key"),
])
def test_non_json_values_of_added_fields_are_refused(value, what):
    act = RequestImage(object(), name=uniq(), namespace={}, prompt="a fox")
    draft = SchemaDraft.of(act)
    draft.add("request", "metadata", "object")
    draft.apply(act)
    with pytest.raises(ValidationError) as ei:
        act.request({"metadata": value})
    assert ei.value.field == "metadata", what


async def test_client_extra_body_refuses_non_json_before_sending(conn, emu):
    before = len(emu.requests)
    async with aw.ImageClient(conn) as client:
        for bad in (math.nan, b"x", {1}, "\ud800"):
            with pytest.raises(ValidationError) as ei:
                await client.request_image("a fox", extra_body={"seed": bad})
            assert ei.value.field.startswith("extra_body")
    assert len(emu.requests) == before


@pytest.mark.parametrize("field, value", [
    ("prompt", 123), ("n", "2"), ("size", 512), ("continue_on_error", "yes"), ("output", 7),
    ("api_version", 20231001), ("name", 5),
])
def test_wrong_typed_configuration_names_the_field(field, value):
    cfg = config_dict(RequestImage(None, name=uniq(), namespace={}, prompt="a fox"))
    cfg["config"][field] = value
    if field != "name":
        cfg["config"]["name"] = uniq()
    with pytest.raises(ValidationError) as ei:
        activity_from_config(cfg, namespace={})
    assert ei.value.field == field
    with pytest.raises(ValidationError) as ei:
        aw.RequestImagePanel.from_config(cfg)
    assert ei.value.field == field


async def test_wrong_typed_dataset_values_name_the_field(conn):
    act = RequestImage(conn, name=uniq(), namespace={}, prompt="a fox", size="256x256")
    for dataset, field in (({"prompt": 123}, "prompt"), ({"n": "2"}, "n"), ({"size": 5}, "size"),
                           ([{"prompt": "a fox"}, {"prompt": 7}], "prompt")):
        with pytest.raises(ValidationError) as ei:
            await act.run(dataset)
        assert ei.value.field == field
        assert isinstance(ei.value, DatasetError)  # which dataset, and the successes so far
        assert isinstance(ei.value.error, ValidationError) and ei.value.error.field == field


@pytest.mark.parametrize("field, value", [("prompt", 123), ("n", "2"), ("size", None)])
def test_wrong_typed_panel_attributes_name_the_field(field, value):
    panel = aw.RequestImagePanel(name=uniq(), namespace={}, prompt="a fox")
    try:
        before = getattr(panel, field)
        with pytest.raises(ValidationError) as ei:
            setattr(panel, field, value)
        assert ei.value.field == field and getattr(panel, field) == before
    finally:
        panel.close()
