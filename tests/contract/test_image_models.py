"""Models as data (contract.image_models) and their checks (contract.model_rules).

Dates and limits are the ones CONTRACT.md sections 0 and 4 state; the tests
write them out rather than reading them back from the tables under test.
"""
from __future__ import annotations

import io
from datetime import date

import pytest
from PIL import Image

from azimage_widgets.contract import ValidationError, version_spec
from azimage_widgets.contract.image_models import (
    GPT_IMAGE_COMMON,
    MODEL_NAMES,
    MODELS,
    model_for_version,
    model_in_name,
    model_spec,
    resolve_model,
    retirement_label,
    retirement_note,
    uses_model_rules,
)
from azimage_widgets.contract.limits import API_VERSIONS, V1_API_VERSION
from azimage_widgets.contract.model_rules import (
    form_values,
    parse_size,
    validate_generation,
    validate_image_edit,
)

TODAY = date(2026, 11, 25)


def png(w: int = 32, h: int = 32) -> bytes:
    buf = io.BytesIO()
    Image.new("RGBA", (w, h), (0, 0, 255, 255)).save(buf, "PNG")
    return buf.getvalue()


def jpeg() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (16, 16), (0, 255, 0)).save(buf, "JPEG")
    return buf.getvalue()


# -- the catalogue -----------------------------------------------------------------------------

@pytest.mark.parametrize("name,retires,retired_today", [
    ("dall-e-2", date(2025, 1, 27), True),
    ("dall-e-3", date(2026, 3, 4), True),
    ("gpt-image-1", date(2026, 10, 23), True),
    ("gpt-image-1-mini", date(2027, 4, 7), False),
    ("gpt-image-1.5", date(2027, 6, 16), False),
    ("gpt-image-2", date(2027, 10, 21), False),
])
def test_every_model_carries_its_azure_retirement_date(name, retires, retired_today):
    m = model_spec(name)
    assert m.retires == retires
    assert m.is_retired(TODAY) is retired_today
    assert m.is_retired(date(2030, 1, 1))
    assert not m.is_retired(date(2024, 1, 1))


def test_catalogue_lists_newest_first_and_gpt_image_limits():
    assert MODEL_NAMES[:3] == ("gpt-image-2", "gpt-image-1.5", "gpt-image-1-mini")
    assert set(MODEL_NAMES) == {"gpt-image-2", "gpt-image-1.5", "gpt-image-1-mini", "gpt-image-1",
                                "dall-e-3", "dall-e-2"}
    for name in ("gpt-image-2", "gpt-image-1.5", "gpt-image-1-mini", "gpt-image-1"):
        m = MODELS[name]
        assert (m.n_max, m.prompt_max) == (10, 32000)
        assert set(m.sizes) == {"auto", "1024x1024", "1536x1024", "1024x1536"}
        assert set(m.qualities) == {"low", "medium", "high", "auto"}
        assert m.output_formats == ("png", "jpeg")
        assert set(m.backgrounds) == {"transparent", "opaque", "auto"}
        assert set(m.moderations) == {"low", "auto"}
        assert m.streams and m.edits and m.usage
    assert MODELS["gpt-image-1-mini"].default_quality == "medium"
    assert MODELS["gpt-image-2"].default_quality == "high"
    assert not MODELS["gpt-image-1-mini"].input_fidelity and MODELS["gpt-image-1.5"].input_fidelity
    assert MODELS["gpt-image-2"].custom_sizes is not None
    assert MODELS["gpt-image-1.5"].custom_sizes is None
    assert (MODELS["dall-e-3"].n_max, MODELS["dall-e-3"].prompt_max) == (1, 4000)
    assert model_spec("GPT-Image-2") is MODELS["gpt-image-2"]
    with pytest.raises(ValidationError) as ei:
        model_spec("gpt-image-9")
    assert ei.value.field == "model" and "gpt-image-2" in ei.value.limit


# -- which model a request is for ------------------------------------------------------------

@pytest.mark.parametrize("deployment,expected", [
    ("my-gpt-image-1-mini", "gpt-image-1-mini"),
    ("gpt-image-1", "gpt-image-1"),
    ("prod-gpt-image-1.5-eastus", "gpt-image-1.5"),
    ("img-gpt-image-1-5", "gpt-image-1.5"),
    ("Prod_GPT_Image_2", "gpt-image-2"),
    ("team-dall-e-3", "dall-e-3"),
    ("images", "gpt-image"),
    ("my-deployment", "gpt-image"),
])
def test_model_from_deployment_name_longest_match(deployment, expected):
    assert resolve_model(None, deployment).name == expected


def test_explicit_model_wins_over_the_deployment_name():
    assert resolve_model("gpt-image-2", "my-gpt-image-1-mini") is MODELS["gpt-image-2"]
    assert resolve_model(None, None) is GPT_IMAGE_COMMON
    assert model_in_name("nothing-here") is None
    with pytest.raises(ValidationError):
        resolve_model("midjourney", "gpt-image-2")


def test_model_for_version():
    assert model_for_version("2024-10-21", deployment="my-gpt-image-2").name == "dall-e-3"
    assert model_for_version("2023-06-01-preview").name == "dall-e-2"
    assert model_for_version("2025-04-01-preview", deployment="x").name == "gpt-image-1"
    assert model_for_version("2025-04-01-preview", deployment="x-gpt-image-2").name == "gpt-image-2"
    assert model_for_version("v1", deployment="x") is GPT_IMAGE_COMMON
    assert model_for_version("preview", model="gpt-image-1-mini").name == "gpt-image-1-mini"


# -- versions: v1 and preview, retirement ------------------------------------------------------

def test_v1_version_and_its_preview_query_value():
    v1 = version_spec("v1")
    assert V1_API_VERSION in API_VERSIONS and v1.is_v1 and v1.is_sync
    assert version_spec("preview") is v1
    assert (v1.n_max, v1.prompt_max, v1.retires) == (10, 32000, None)
    assert not version_spec("2025-04-01-preview").is_v1
    assert version_spec("2023-06-01-preview").retires == date(2025, 1, 27)
    assert version_spec("2024-10-21").retires == date(2026, 3, 4)
    assert version_spec("2024-10-21").is_retired(TODAY) and not v1.is_retired(TODAY)


def test_retirement_texts():
    assert retirement_note("gpt-image-1", TODAY) == \
        "model gpt-image-1 was retired on Azure on 2026-10-23; use gpt-image-2 instead."
    assert retirement_note("dall-e-2", TODAY).startswith("model dall-e-2 was retired on Azure on "
                                                         "2025-01-27; use ")
    assert retirement_note("2023-06-01-preview", TODAY) == \
        "api-version 2023-06-01-preview was retired on Azure on 2025-01-27; use v1 instead."
    assert retirement_note("gpt-image-2", TODAY) is None
    assert retirement_note("v1", TODAY) is None
    assert retirement_note("unknown-model", TODAY) is None
    # not retired yet, then retired
    assert retirement_note("gpt-image-1-mini", date(2027, 4, 6)) is None
    assert "2027-04-07" in retirement_note("gpt-image-1-mini", date(2027, 4, 7))
    assert retirement_label("dall-e-3", TODAY) == "retired 2026-03-04"
    assert retirement_label("gpt-image-2", TODAY) == "retires 2027-10-21"
    assert retirement_label("v1", TODAY) == ""


# -- generation checks -------------------------------------------------------------------------

G2 = MODELS["gpt-image-2"]
MINI = MODELS["gpt-image-1-mini"]


@pytest.mark.parametrize("size", ["1536x864", "1024x1024", "auto", "3840x2160", "2160x3840",
                                  "1280x3840", "816x816", "2048x2048"])
def test_gpt_image_2_custom_sizes_accepted(size):
    validate_generation(G2, {"prompt": "a fox", "size": size})


@pytest.mark.parametrize("size,rule", [
    ("1000x1000", "edges must be multiples of 16"),
    ("1024x1000", "edges must be multiples of 16"),
    ("4096x2048", "long edge must be at most 3840"),
    ("3840x1024", "aspect ratio must be between 1:3 and 3:1"),
    ("800x800", "655,360 to 8,294,400 pixels"),
    ("3840x2176", "655,360 to 8,294,400 pixels"),
    ("big", "WIDTHxHEIGHT"),
    ("1024X1024", "WIDTHxHEIGHT"),
    ("0x1024", "WIDTHxHEIGHT"),
])
def test_gpt_image_2_bad_sizes_name_the_rule(size, rule):
    with pytest.raises(ValidationError) as ei:
        validate_generation(G2, {"prompt": "a fox", "size": size})
    assert ei.value.field == "size" and rule in ei.value.limit


def test_other_models_take_only_their_presets():
    for model in (MINI, MODELS["gpt-image-1.5"], GPT_IMAGE_COMMON):
        validate_generation(model, {"prompt": "p", "size": "1536x1024"})
        with pytest.raises(ValidationError) as ei:
            validate_generation(model, {"prompt": "p", "size": "1536x864"})
        assert ei.value.field == "size" and "must be one of" in ei.value.limit


@pytest.mark.parametrize("fields,field,rule", [
    ({"prompt": ""}, "prompt", "empty"),
    ({}, "prompt", "required"),
    ({"prompt": "x" * 32001}, "prompt", "at most 32000"),
    ({"prompt": "p", "n": 11}, "n", "from 1 to 10"),
    ({"prompt": "p", "n": 0}, "n", "from 1 to 10"),
    ({"prompt": "p", "n": True}, "n", "from 1 to 10"),
    ({"prompt": "p", "quality": "hd"}, "quality", "low, medium, high, auto"),
    ({"prompt": "p", "output_format": "webp"}, "output_format", "webp is not supported on Azure"),
    ({"prompt": "p", "output_format": "gif"}, "output_format", "png, jpeg"),
    ({"prompt": "p", "output_compression": 101}, "output_compression", "0 to 100"),
    ({"prompt": "p", "background": "transparent", "output_format": "jpeg"}, "background",
     "transparent needs output_format png"),
    ({"prompt": "p", "moderation": "high"}, "moderation", "low, auto"),
    ({"prompt": "p", "partial_images": 4}, "partial_images", "0 to 3"),
    ({"prompt": "p", "stream": "yes"}, "stream", "true or false"),
    ({"prompt": "p", "input_fidelity": "high"}, "input_fidelity", "only image edits"),
    ({"prompt": "p", "response_format": "url"}, "response_format", "always answer b64_json"),
    ({"prompt": "p", "style": "vivid"}, "style", "dall-e-3 setting"),
    ({"prompt": "p", "user": 3}, "user", "string"),
    ({"prompt": "p\ud800"}, "prompt", "Unicode"),
])
def test_generation_fields_name_field_and_rule(fields, field, rule):
    with pytest.raises(ValidationError) as ei:
        validate_generation(G2, fields)
    assert ei.value.field == field and rule in ei.value.limit


def test_generation_accepts_every_documented_setting():
    validate_generation(MINI, {
        "prompt": "p", "model": "my-dep", "n": 10, "size": "1024x1536", "quality": "low",
        "output_format": "jpeg", "output_compression": 0, "background": "opaque",
        "moderation": "low", "stream": True, "partial_images": 3, "user": "u",
        "response_format": "b64_json", "safety_identifier": "ignored"})
    validate_generation(G2, {"prompt": "p", "background": "transparent", "output_format": "png"})
    validate_generation(G2, {"prompt": "p", "n": None, "size": None})  # null: left out
    validate_generation(MODELS["dall-e-3"], {"prompt": "p", "style": "natural", "quality": "hd",
                                              "response_format": "url"})
    with pytest.raises(ValidationError) as ei:
        validate_generation(MODELS["dall-e-3"], {"prompt": "p", "n": 2})
    assert ei.value.limit.startswith("must be 1")
    with pytest.raises(ValidationError) as ei:
        validate_generation(MODELS["dall-e-3"], {"prompt": "p", "stream": True})
    assert ei.value.field == "stream"


# -- edit checks -------------------------------------------------------------------------------

def test_edit_takes_several_images_a_mask_and_input_fidelity():
    validate_image_edit(G2, {"prompt": "beach", "input_fidelity": "high", "n": 2},
                        [png(), jpeg()], png())
    with pytest.raises(ValidationError) as ei:
        validate_image_edit(MINI, {"prompt": "beach", "input_fidelity": "high"}, [png()])
    assert ei.value.field == "input_fidelity" and "gpt-image-1-mini does not take it" in ei.value.limit
    with pytest.raises(ValidationError) as ei:
        validate_image_edit(GPT_IMAGE_COMMON, {"prompt": "b", "input_fidelity": "high"}, [png()])
    assert "name the model" in ei.value.limit
    with pytest.raises(ValidationError) as ei:
        validate_image_edit(G2, {"prompt": "b", "input_fidelity": "max"}, [png()])
    assert "high, low" in ei.value.limit


@pytest.mark.parametrize("images,mask,field,rule", [
    ([], None, "image", "at least one"),
    ([b"GIF89a..."], None, "image", "PNG or JPEG"),
    ([png(), b"nope"], None, "image[1]", "PNG or JPEG"),
    ([png()], jpeg(), "mask", "must be a PNG"),
    ([png()] * 17, None, "image", "at most 16"),
])
def test_edit_inputs_refused_by_name(images, mask, field, rule):
    with pytest.raises(ValidationError) as ei:
        validate_image_edit(G2, {"prompt": "p"}, images, mask)
    assert ei.value.field == field and rule in ei.value.limit


def test_edit_refused_by_a_model_without_edits():
    with pytest.raises(ValidationError) as ei:
        validate_image_edit(MODELS["dall-e-3"], {"prompt": "p"}, [png()])
    assert ei.value.field == "model"


def test_form_values_types_multipart_text():
    typed = form_values({"prompt": "p", "n": "2", "stream": "true", "partial_images": "1",
                         "output_compression": "x"})
    assert typed == {"prompt": "p", "n": 2, "stream": True, "partial_images": 1,
                     "output_compression": "x"}
    with pytest.raises(ValidationError) as ei:
        validate_image_edit(G2, typed, [png()])
    assert ei.value.field == "output_compression"
    assert parse_size("1536x864") == (1536, 864) and parse_size("1536 x 864") is None


def test_which_versions_follow_the_models_rules():
    assert [v for v in API_VERSIONS if uses_model_rules(v)] == ["2025-04-01-preview", "v1"]
    assert uses_model_rules("preview")


def test_model_for_version_model_over_deployment_name_over_common_rules():
    for version in ("v1", "2025-04-01-preview"):
        assert model_for_version(version, "gpt-image-2", "prod-images").name == "gpt-image-2"
        assert model_for_version(version, "gpt-image-2", "my-gpt-image-1-mini").name == \
            "gpt-image-2"
        assert model_for_version(version, None, "my-gpt-image-1-mini").name == "gpt-image-1-mini"
        with pytest.raises(ValidationError) as ei:
            model_for_version(version, "gpt-image-9", "prod-images")
        assert ei.value.field == "model"
    assert model_for_version("v1", None, "prod-images") is GPT_IMAGE_COMMON
    # the DALL-E versions serve their one model; a name given is still checked
    assert model_for_version("2024-10-21", "gpt-image-2").name == "dall-e-3"
    with pytest.raises(ValidationError) as ei:
        model_for_version("2023-06-01-preview", "gpt-image-9")
    assert ei.value.field == "model"
