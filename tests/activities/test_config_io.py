"""Configurations as JSON: panels and activities round-trip, never with the key."""
from __future__ import annotations

import json
import uuid

import pytest

import azimage_widgets as aw
from azimage_widgets.activities import RequestImage
from azimage_widgets.activities.config_io import activity_from_config, read_config, to_config
from azimage_widgets.activities.oplog import OperationLog
from azimage_widgets.activities.schema_edit import SchemaDraft
from azimage_widgets.contract import ValidationError


def uniq(prefix: str = "c") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def test_panel_round_trip_without_the_key(emu, conn, tmp_path):
    p = aw.RequestImagePanel(conn, name=uniq(), prompt="a red fox", size="512x512", n=3,
                             continue_on_error=True, output="fox", namespace={})
    d = SchemaDraft.of(p.activity)
    d.delete("request", "user")
    d.apply(p.activity)
    p.activity.save()
    text = p.to_config(tmp_path / "fox.json")
    assert emu.api_key not in text and "api_key" not in text and emu.endpoint not in text
    data = json.loads(text)
    assert data["kind"] == "request_image" and data["config"]["prompt"] == "a red fox"
    name = p.activity.name
    p.close()
    q = aw.RequestImagePanel.from_config(tmp_path / "fox.json", conn, namespace={})
    a = q.activity
    assert (a.name, a.prompt, a.size, a.n, a.continue_on_error, a.output) == \
        (name, "a red fox", "512x512", 3, True, "fox")
    assert [f["name"] for f in a.schema_edit["request"]] == ["prompt", "n", "size"]
    assert not a.dirty and q.fields["prompt"].input.value == "a red fox"


def test_unsaved_edits_are_not_exported_unless_asked():
    req = RequestImage(None, name=uniq(), prompt="saved", namespace={})
    req.prompt = "not saved"
    assert json.loads(to_config(req))["config"]["prompt"] == "saved"
    assert json.loads(to_config(req, saved=False))["config"]["prompt"] == "not saved"


def test_download_panel_round_trip_and_kind_check():
    d = aw.DownloadImagePanel(name=uniq(), image_id="[fox][0]", namespace={})
    text = d.to_config()
    d.close()
    d2 = aw.DownloadImagePanel.from_config(text, namespace={})
    assert d2.activity.image_id == "[fox][0]"
    with pytest.raises(ValidationError, match="kind"):
        aw.RequestImagePanel.from_config(text)
    act = activity_from_config(text, name=uniq())
    assert act.kind == "download_image" and act.image_id == "[fox][0]"


@pytest.mark.parametrize("bad, field", [
    ({"format": "other"}, "format"),
    ({"version": 2}, "version"),
    ({"kind": "nope"}, "kind"),
    ({"config": {"name": "x", "api_key": "fake-key-1"}}, "api_key"),
    ({"config": {"name": "x", "prompt": "p", "token": "t"}}, "token"),
])
def test_bad_configurations_are_refused(bad, field):
    good = json.loads(to_config(RequestImage(None, name=uniq(), namespace={})))
    good.update(bad)
    with pytest.raises(ValidationError, match=field):
        read_config(good)
    with pytest.raises(ValidationError, match="JSON"):
        read_config("{not json")


async def test_a_loaded_panel_runs_against_the_emulator(conn):
    p = aw.RequestImagePanel(conn, name=uniq(), prompt="handed out", size="256x256", namespace={})
    text = p.to_config()
    p.close()
    q = aw.RequestImagePanel.from_config(text, conn, name=uniq(), namespace={})
    results = await q.run(["one", {}], log=OperationLog())
    assert [r.request["prompt"] for r in results] == ["one", "handed out"]
    assert all(r.images[0].size == (256, 256) for r in results)
