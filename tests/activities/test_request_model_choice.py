"""Request Image's Model choice reaches the client: a deployment whose name names no model
("prod-images", mapped to gpt-image-2 in the emulator) takes gpt-image-2's sizes when the
activity's model says so, over real HTTP (generate, stream, edit; v1 and 2025-04-01-preview)."""
from __future__ import annotations

import io
import json
from typing import Any

import pytest
from PIL import Image

import azimage_widgets as aw
from azimage_widgets.activities.request_image import RequestImage
from azimage_widgets.activities.view_code import view_code

DEP = "prod-images"


def _conn(emu: Any, version: str = "v1") -> aw.Connection:
    emu.config.deployments = {DEP: "gpt-image-2"}
    return aw.Connection(endpoint=emu.endpoint, api_key=emu.api_key, api_version=version,
                         deployment=DEP)


def _client(conn: aw.Connection) -> tuple[aw.ImageClient, list[Any]]:
    seen: list[Any] = []

    async def hook(request: Any) -> None:
        await request.aread()
        seen.append(request)
    return aw.ImageClient(conn, event_hooks={"request": [hook]}), seen


def _png(w: int = 64, h: int = 64) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (w, h), (10, 120, 200)).save(buf, "PNG")
    return buf.getvalue()


@pytest.mark.parametrize("version", ["v1", "2025-04-01-preview"])
async def test_model_and_custom_size_generate_on_a_deployment_named_for_no_model(
        emu: Any, version: str) -> None:
    conn = _conn(emu, version)
    client, seen = _client(conn)
    try:
        req = RequestImage(conn, name="prod", prompt="a red fox", model="gpt-image-2",
                           size="1536x864", quality="low", client=client, namespace={})
        await req.generate()
        assert [im.size for im in req.results[0].images] == [(1536, 864)]
        (sent,) = seen
        body = json.loads(sent.content)
        assert body["size"] == "1536x864"
        assert body.get("model") == (DEP if version == "v1" else None)  # never the rules' model
    finally:
        await client.aclose()


def test_without_a_model_the_common_rules_refuse_the_custom_size(emu: Any) -> None:
    req = RequestImage(_conn(emu), prompt="a red fox")
    with pytest.raises(aw.ValidationError) as ei:
        req.size = "1536x864"
    assert ei.value.field == "size"
    assert ei.value.limit == "must be one of auto, 1024x1024, 1536x1024, 1024x1536 for gpt-image"
    with pytest.raises(aw.ValidationError) as ei:
        req.model = "gpt-image-9"
    assert ei.value.field == "model"


async def test_without_a_model_nothing_is_sent(emu: Any) -> None:
    conn = _conn(emu)
    client, seen = _client(conn)
    try:
        req = RequestImage(conn, prompt="a red fox", model="gpt-image-2", size="1536x864",
                           client=client, namespace={})
        req.model = None  # the size no longer fits: back to the default
        assert req.size == "auto"
        with pytest.raises(aw.ValidationError) as ei:
            await client.generate("a red fox", size="1536x864")
        assert ei.value.field == "size"
        assert seen == []
    finally:
        await client.aclose()


async def test_live_previews_and_an_edit_pass_the_model(emu: Any) -> None:
    conn = _conn(emu)
    client, seen = _client(conn)
    try:
        req = RequestImage(conn, name="live", prompt="a red fox", model="gpt-image-2",
                           size="1536x864", partial_images=1, client=client, namespace={})
        await req.generate()
        assert [im.size for im in req.results[0].images] == [(1536, 864)]
        edit = RequestImage(conn, name="edit", prompt="on a beach", model="gpt-image-2",
                            size="1536x864", input_fidelity="high", client=client, namespace={})
        edit.edit_image = [_png(), _png(32, 32)]
        await edit.generate()
        assert [im.size for im in edit.results[0].images] == [(1536, 864)]
        assert len(seen) == 2 and seen[1].content.count(b'name="image[]"') == 2
    finally:
        await client.aclose()


def test_view_code_shows_the_model_argument(emu: Any) -> None:
    req = RequestImage(_conn(emu), prompt="a red fox", model="gpt-image-2", size="1536x864")
    code = view_code(req)
    assert "model='gpt-image-2'" in code.python and "size='1536x864'" in code.python
    assert "extra_body" not in code.python  # the body's model (the deployment) is no extra field
    assert "/openai/v1/images/generations" in code.curl
    assert '"model": "prod-images"' in code.curl and "gpt-image-2" not in code.curl
    plain = view_code(RequestImage(_conn(emu), prompt="a red fox"))
    assert "model=" not in plain.python
