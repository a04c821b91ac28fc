"""Layer 3 without a network: names, settings, save/discard, [variable] resolution, binding, schemas."""
from __future__ import annotations

import dataclasses
import subprocess
import sys
import uuid

import pytest

from azimage_widgets.activities import (
    DownloadImage,
    RequestImage,
    VariableError,
    bind,
    parse_reference,
    registered,
    resolve,
)
from azimage_widgets.activities.variables import VariableRef, default_namespace
from azimage_widgets.contract import API_VERSIONS, ImageOperation, ValidationError
from azimage_widgets.contract.schemas import SchemaField, schemas_for


def uniq(prefix: str = "t") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


# -- import hygiene ----------------------------------------------------------------

def test_activities_do_not_import_ipywidgets():
    code = ("import sys, azimage_widgets.activities as a; "
            "a.RequestImage(name='x', prompt='p'); "
            "print('ipywidgets' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_lazy_exports_resolve():
    import azimage_widgets as aw

    assert aw.RequestImage is RequestImage
    assert aw.DownloadImage is DownloadImage


# -- names ----------------------------------------------------------------------

@pytest.mark.parametrize("bad, why", [("a/b", "'/'"), ("a:b", "':'"), ("", "empty"),
                                      ("   ", "empty"), (" pad", "spaces")])
def test_name_rules_name_the_field(bad, why):
    with pytest.raises(ValidationError) as ei:
        RequestImage(name=bad)
    assert ei.value.field == "name"
    assert why in str(ei.value)


def test_name_unique_per_kind_but_not_across_kinds():
    name = uniq()
    a = RequestImage(name=name)
    with pytest.raises(ValidationError) as ei:
        RequestImage(name=name)
    assert ei.value.field == "name" and "unique" in str(ei.value)
    d = DownloadImage(name=name)  # another kind: fine
    assert registered("request_image")[name] is a
    assert registered("download_image")[name] is d


def test_rename_onto_taken_name_is_refused_and_keeps_old_name():
    n1, n2 = uniq(), uniq()
    a = RequestImage(name=n1)
    b = RequestImage(name=n2)
    with pytest.raises(ValidationError):
        b.name = n1
    assert b.name == n2
    del a  # a dropped activity frees its name (the registry is weak)
    b.name = n1
    assert b.name == n1


def test_rename_frees_old_name_and_close_frees_name():
    n1, n2 = uniq(), uniq()
    a = RequestImage(name=n1)
    a.name = n2
    RequestImage(name=n1)  # the old name is free again
    a.close()
    assert n2 not in registered("request_image")
    RequestImage(name=n2)


def test_replace_closes_the_holder():
    name = uniq()
    old = RequestImage(name=name)
    seen = []
    old.on_close(seen.append)
    new = RequestImage(name=name, replace=True)
    assert old.closed and seen == [old]
    assert registered("request_image")[name] is new


def test_default_names_are_unique():
    a, b = DownloadImage(), DownloadImage()
    assert a.name != b.name
    assert a.name.startswith("download-image-")


# -- settings ---------------------------------------------------------------------

def test_defaults_follow_the_seeds():
    a = RequestImage(name=uniq())
    assert (a.size, a.n, a.api_version, a.continue_on_error) == ("1024x1024", 1, API_VERSIONS[0], False)


@pytest.mark.parametrize("field, value, limit", [
    ("prompt", "x" * 1001, "1000"),
    ("n", 0, "1 to 5"),
    ("n", 6, "1 to 5"),
    ("size", "2048x2048", "256x256"),
    ("api_version", "1999-01-01", "2023-06-01-preview"),
    ("output", "not a name", "variable name"),
])
def test_settings_are_checked_on_assignment(field, value, limit):
    a = RequestImage(name=uniq())
    before = getattr(a, field)
    with pytest.raises(ValidationError) as ei:
        setattr(a, field, value)
    assert ei.value.field == field
    assert limit in str(ei.value)
    assert getattr(a, field) == before


def test_prompt_of_exactly_1000_is_accepted():
    a = RequestImage(name=uniq(), prompt="y" * 1000)
    assert len(a.prompt) == 1000
    assert a.request().prompt == a.prompt


def test_blank_prompt_is_refused_before_sending():
    a = RequestImage(name=uniq(), prompt="   ")
    with pytest.raises(ValidationError) as ei:
        a.request()
    assert ei.value.field == "prompt" and "blank" in str(ei.value)


async def test_submit_with_blank_prompt_fails_without_network():
    # no connection at all: the request must be refused before a client is even made
    a = RequestImage(conn=object(), name=uniq(), prompt="")
    with pytest.raises(ValidationError):
        await a.submit()
    assert a.status == "failed"
    assert a.error["field"] == "prompt" and a.error["code"] == "validation"


def test_unknown_setting_is_refused():
    with pytest.raises(ValidationError) as ei:
        RequestImage(name=uniq(), colour="red")
    assert ei.value.field == "colour"


# -- save / discard ------------------------------------------------------------------

def test_new_activity_starts_saved_and_clean():
    a = RequestImage(name=uniq(), prompt="a fox", n=2)
    assert not a.dirty
    assert a.saved["prompt"] == "a fox" and a.saved["n"] == 2


def test_edit_makes_dirty_discard_restores_save_keeps():
    name = uniq()
    a = RequestImage(name=name, prompt="a fox")
    a.prompt = "a wolf"
    a.size = "256x256"
    assert a.dirty
    a.discard()
    assert (a.prompt, a.size, a.dirty) == ("a fox", "1024x1024", False)
    a.prompt = "a wolf"
    a.n = 3
    a.save()
    assert not a.dirty and a.saved["prompt"] == "a wolf"
    a.prompt = "a bear"
    a.discard()
    assert (a.prompt, a.n) == ("a wolf", 3)


def test_editing_back_to_saved_value_is_clean():
    a = RequestImage(name=uniq(), prompt="a fox")
    a.prompt = "x"
    assert a.dirty
    a.prompt = "a fox"
    assert not a.dirty


def test_discard_restores_name_and_registry():
    n1, n2 = uniq(), uniq()
    a = DownloadImage(name=n1, image_id="abc")
    a.name = n2
    a.image_id = "[x]"
    a.discard()
    assert (a.name, a.image_id) == (n1, "abc")
    assert registered("download_image")[n1] is a and n2 not in registered("download_image")


# -- [variable] references -------------------------------------------------------------

def test_parse_reference_forms():
    assert parse_reference("[fox_id]") == VariableRef("fox_id")
    assert parse_reference("[fox_ids][0]") == VariableRef("fox_ids", (0,))
    assert parse_reference('[res]["key"][-1]') == VariableRef("res", ("key", -1))
    assert parse_reference("[res]['a\\'b']") == VariableRef("res", ("a'b",))
    assert parse_reference(" [ x ][ 2 ] ").indexes == (2,)


@pytest.mark.parametrize("bad", ["[a.b]", "[a()]", "[__import__('os')]", "[a][b]", "[a][0",
                                 "[1a]", "[a] + [b]", "[class]", "[a][0.5]"])
def test_parse_reference_refuses_anything_else(bad):
    with pytest.raises(VariableError) as ei:
        parse_reference(bad, field="image_id")
    assert ei.value.field == "image_id"


def test_resolve_literal_and_references():
    ns = {"fox_id": "id-1", "fox_ids": ["a", "b"], "res": {"key": ["k0", "k1"]}}
    assert resolve("plain-id", ns) == "plain-id"
    assert resolve("[fox_id]", ns) == "id-1"
    assert resolve("[fox_ids][1]", ns) == "b"
    assert resolve("[fox_ids][-1]", ns) == "b"
    assert resolve('[res]["key"][0]', ns) == "k0"


def test_resolve_undefined_name_is_a_clear_error():
    with pytest.raises(VariableError) as ei:
        resolve("[fox_ids][0]", {}, field="image_id")
    msg = str(ei.value)
    assert ei.value.field == "image_id"
    assert "'fox_ids'" in msg and "not defined" in msg


@pytest.mark.parametrize("ref, part", [("[xs][5]", "index out of range"),
                                       ('[d]["nope"]', "no such key"),
                                       ("[n][0]", "cannot be indexed")])
def test_resolve_bad_index_says_which(ref, part):
    with pytest.raises(VariableError) as ei:
        resolve(ref, {"xs": [1], "d": {}, "n": 3})
    assert part in str(ei.value)


def test_resolve_never_evaluates():
    hit = []

    class Trap:
        def __getattr__(self, name):  # attribute access would be a bug
            hit.append(name)
            raise AttributeError(name)

    ns = {"t": Trap()}
    with pytest.raises(VariableError):
        resolve("[t.x]", ns)
    with pytest.raises(VariableError):
        resolve("[t][0]", ns)
    assert hit == []


def test_default_namespace_without_ipython_is_main():
    import __main__

    assert default_namespace() is __main__.__dict__


def test_download_image_resolves_id_from_namespace():
    ns = {"fox": [ImageOperation(id="op-9", status="notRunning")], "fox_id": "op-1"}
    assert DownloadImage(name=uniq(), image_id="[fox_id]").resolve_id(ns) == "op-1"
    # an ImageOperation (anything with a string .id) gives its id
    assert DownloadImage(name=uniq(), image_id="[fox][0]").resolve_id(ns) == "op-9"
    assert DownloadImage(name=uniq(), image_id="literal-id").resolve_id(ns) == "literal-id"


def test_download_image_id_errors():
    d = DownloadImage(name=uniq(), image_id="[missing]")
    with pytest.raises(VariableError) as ei:
        d.resolve_id({})
    assert ei.value.field == "image_id" and "missing" in str(ei.value)
    with pytest.raises(ValidationError):
        d.image_id = "[bad.attr]"
    assert d.image_id == "[missing]"
    with pytest.raises(ValidationError):
        d.image_id = "../etc/passwd"
    with pytest.raises(VariableError):
        DownloadImage(name=uniq(), image_id="[n]").resolve_id({"n": 3})
    with pytest.raises(ValidationError) as ei:
        DownloadImage(name=uniq()).resolve_id({})
    assert "required" in str(ei.value)


async def test_download_with_undefined_variable_reports_field():
    d = DownloadImage(conn=object(), name=uniq(), image_id="[nothing_here]")
    with pytest.raises(VariableError):
        await d.download({})
    assert d.status == "failed" and d.error["field"] == "image_id"
    assert "nothing_here" in d.error["message"]


def test_bind_assigns_into_namespace():
    ns: dict = {}
    bind("fox", [1, 2], ns)
    assert ns["fox"] == [1, 2]
    bind("", "ignored", ns)
    assert set(ns) == {"fox"}
    with pytest.raises(ValidationError):
        bind("1bad", 0, ns)


# -- schemas -------------------------------------------------------------------------

def test_schemas_request_image():
    req, resp = schemas_for("request_image", "2023-06-01-preview")
    assert all(isinstance(f, SchemaField) for f in req + resp)
    by = {f.name: f for f in req}
    assert by["prompt"].required and by["prompt"].type == "string" and "1000" in by["prompt"].description
    assert not by["n"].required and by["n"].type == "integer"
    assert "256x256" in by["size"].description
    names = [f.name for f in resp]
    assert names[:2] == ["id", "status"]
    assert {f.name for f in resp if f.required} == {"id", "status"}


def test_schemas_download_image_nested_fields():
    req, resp = schemas_for("DownloadImage", "2023-06-01-preview")
    assert [f.name for f in req] == ["id"] and req[0].required
    names = {f.name for f in resp}
    assert {"id", "status", "created", "expires", "result.data[].url", "result.data[].error.code",
            "error.code", "error.message"} <= names
    url = next(f for f in resp if f.name == "result.data[].url")
    assert url.depth == 2 and url.type == "string"
    with pytest.raises(dataclasses.FrozenInstanceError):
        url.name = "x"  # type: ignore[misc]


def test_schemas_unknown_kind_or_version():
    with pytest.raises(ValidationError) as ei:
        schemas_for("edit_image", "2023-06-01-preview")
    assert ei.value.field == "activity_kind"
    with pytest.raises(ValidationError) as ei:
        schemas_for("request_image", "2099-01-01")
    assert ei.value.field == "api_version"


def test_cancel_without_run_is_false():
    assert RequestImage(name=uniq()).cancel() is False
