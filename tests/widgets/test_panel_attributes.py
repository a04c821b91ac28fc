"""A panel's attributes are its activity's configuration: scripts drive a panel by them.

``panel.prompt = "..."`` sets the activity's trait (and the field shows it);
reading gives the activity's value; a refused value raises and changes nothing;
any other attribute is a plain attribute as on every object.
"""
from __future__ import annotations

import uuid

import pytest
from ipywidgets import Widget

import azimage_widgets as aw
from azimage_widgets.activities import DownloadImage, RequestImage
from azimage_widgets.contract.errors import ValidationError
from azimage_widgets.contract.limits import DALLE3_API_VERSION, GPT_IMAGE_API_VERSION
from azimage_widgets.widgets import ActivitySetting, walk


def uniq(prefix: str = "attr") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def one(root: Widget, css: str) -> Widget:
    found = [w for w in walk(root) if css in getattr(w, "_dom_classes", ())]
    assert len(found) == 1, (css, found)
    return found[0]


@pytest.fixture
def req():
    panel = aw.RequestImagePanel(name=uniq(), namespace={})
    yield panel
    panel.close()


@pytest.fixture
def dl():
    panel = aw.DownloadImagePanel(name=uniq(), namespace={})
    yield panel
    panel.close()


def test_every_config_trait_is_a_panel_attribute(req, dl):
    for panel, kind in ((req, RequestImage), (dl, DownloadImage)):
        for name in kind.all_config_names():
            assert getattr(panel, name) == getattr(panel.activity, name), name
            assert name not in panel.__dict__, name  # not a plain attribute of the panel


def test_setting_the_prompt_sets_the_activity_and_the_field(req):
    req.prompt = "a red fox in the snow"
    assert req.activity.prompt == "a red fox in the snow"
    assert "prompt" not in req.__dict__
    assert one(req, "azimage-prompt").value == "a red fox in the snow"
    assert req.prompt_counter == "21 / 1000"
    assert req.activity.dirty
    assert "a red fox in the snow" in req.frame.summary_button.description


def test_reading_follows_a_field_edit(req):
    from helpers import front_end_update

    front_end_update(one(req, "azimage-prompt"), {"value": "typed in the browser"})
    assert req.prompt == "typed in the browser"


def test_size_n_version_name_output_continue(req):
    req.api_version = DALLE3_API_VERSION
    assert one(req, "azimage-version").value == DALLE3_API_VERSION
    sizes = list(one(req, "azimage-size").options)
    assert req.activity.api_version == DALLE3_API_VERSION
    other = next(s for s in sizes if s != req.size)
    req.size = other
    assert req.activity.size == other and one(req, "azimage-size").value == other
    assert one(req, "azimage-n").disabled  # dall-e-3 makes one image per request

    req.api_version = GPT_IMAGE_API_VERSION
    req.n = 3
    assert req.activity.n == 3 and one(req, "azimage-n").value == 3
    req.quality = "high"
    assert req.activity.quality == "high" and one(req, "azimage-quality").value == "high"

    new_name = uniq("renamed")
    req.name = new_name
    assert req.activity.name == new_name and one(req, "azimage-name").value == new_name
    req.output = "fox_images"
    assert req.activity.output == "fox_images" and one(req, "azimage-output").value == "fox_images"
    req.continue_on_error = True
    assert req.activity.continue_on_error is True
    assert one(req, "azimage-continue-on-error").value is True


def test_save_keeps_what_attributes_set(req):
    req.prompt = "saved by a script"
    req.n = 2
    assert req.frame.save_and_exit()
    assert req.activity.saved["prompt"] == "saved by a script"
    assert '"prompt": "saved by a script"' in req.to_config()


def test_a_refused_value_raises_and_changes_nothing(req):
    req.n = 2
    with pytest.raises(ValidationError) as info:
        req.n = 99
    assert info.value.field == "n"
    assert req.n == 2 and req.activity.n == 2 and one(req, "azimage-n").value == 2
    with pytest.raises(ValidationError):
        req.name = "a/b"
    with pytest.raises(ValidationError):
        req.api_version = "1999-01-01"


def test_download_panel_attributes(dl):
    dl.image_id = "op-1234"
    assert dl.activity.image_id == "op-1234" and one(dl, "azimage-image-id").value == "op-1234"
    dl.activity.image_id = "[fox_id]"
    assert dl.image_id == "[fox_id]"
    dl.api_version = DALLE3_API_VERSION
    assert dl.activity.api_version == DALLE3_API_VERSION
    assert one(dl, "azimage-version").value == DALLE3_API_VERSION
    assert not hasattr(dl, "prompt")  # a Request Image setting, not a Download Image one


def test_unknown_attributes_behave_normally(req):
    req.my_note = "kept on the panel"
    assert req.my_note == "kept on the panel"
    assert not hasattr(req.activity, "my_note")
    with pytest.raises(AttributeError):
        _ = req.no_such_attribute
    del req.my_note
    assert not hasattr(req, "my_note")


def test_settings_are_documented_on_the_class():
    setting = aw.RequestImagePanel.prompt
    assert isinstance(setting, ActivitySetting)
    assert setting.__doc__ and "1000" in setting.__doc__
    assert "prompt" in dir(aw.RequestImagePanel)
