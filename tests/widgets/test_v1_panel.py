"""The Request Image panel on v1: Deployment and Model fields, the version list, sizes with a
custom WxH checked as typed, fields that follow the model, live previews replacing a tile's
picture in place."""
from __future__ import annotations

import asyncio
import base64
import io
from dataclasses import dataclass

from fakes import FAKE_KEY
from PIL import Image

import azimage_widgets as aw
from azimage_widgets.contract import ImageItem, ImageResult


def _conn(**kw: object) -> aw.Connection:
    return aw.Connection(endpoint="http://127.0.0.1:9", api_key=FAKE_KEY, api_version="v1", **kw)


def _png(color: str = "red", size: int = 64) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (size, size), color).save(buf, format="PNG")
    return buf.getvalue()


def test_version_list_v1_first_with_retirement_labels() -> None:
    p = aw.RequestImagePanel(_conn(deployment="my-gpt-image-2"), prompt="x", namespace={})
    options = p.fields["api_version"].input.options
    assert options[0] == ("v1", "v1")
    assert ("2024-10-21 (retired 2026-03-04)", "2024-10-21") in options
    p.close()


def test_fields_follow_version_and_model() -> None:
    p = aw.RequestImagePanel(_conn(deployment="my-gpt-image-2"), prompt="x", namespace={})
    mf = p.model_fields
    assert mf.deployment_input.value == "my-gpt-image-2"
    assert mf.model_input.options[0] == ("from the deployment's name (gpt-image-2)", "")
    assert mf.visible() == ["deployment", "model", "custom-size", "moderation", "input-fidelity",
                            "live-previews"]
    mf.model_input.value = "gpt-image-1-mini"  # no custom sizes, no input fidelity
    assert mf.visible() == ["deployment", "model", "moderation", "live-previews"]
    assert "custom" not in [v for _, v in p.size_input.options]
    p.fields["api_version"].input.value = "2023-06-01-preview"
    assert mf.visible() == []
    p.fields["api_version"].input.value = "2024-10-21"
    assert mf.visible() == ["deployment"]
    p.close()


def test_custom_size_checked_as_typed() -> None:
    p = aw.RequestImagePanel(_conn(deployment="my-gpt-image-2"), prompt="x", namespace={})
    custom = p.model_fields.custom_size_input
    custom.value = "1536x864"
    assert p.activity.size == "1536x864" and p.size_input.value == "custom"
    assert not p.field_errors() and not p.run_button.disabled
    custom.value = "1000x1000"
    assert p.activity.size == "1536x864"  # refused: the last allowed size stays
    assert p.field_errors() == {"custom_size": "edges must be multiples of 16"}
    assert "size: edges must be multiples of 16" in p.fields["custom_size"].error.value
    assert p.run_button.disabled
    p.size_input.value = "1024x1536"  # a preset clears the custom text
    assert (p.activity.size, custom.value) == ("1024x1536", "")
    p.close()


def test_panel_made_with_a_custom_size_keeps_it() -> None:
    p = aw.RequestImagePanel(_conn(deployment="my-gpt-image-2"), prompt="x", size="1536x864",
                             namespace={})
    assert p.activity.size == "1536x864" and p.size_input.value == "custom"
    assert p.model_fields.custom_size_input.value == "1536x864"
    p.close()


def test_changing_model_keeps_allowed_values() -> None:
    p = aw.RequestImagePanel(_conn(deployment="my-gpt-image-2"), prompt="x", namespace={})
    p.size_input.value = "1536x1024"
    p.n_input.value = 7
    p.version_fields.inputs["quality"].value = "low"
    p.model_fields.model_input.value = "gpt-image-1.5"
    a = p.activity
    assert (a.size, a.n, a.quality) == ("1536x1024", 7, "low")
    assert (p.size_input.value, p.n_input.value, p.version_fields.inputs["quality"].value) == \
        ("1536x1024", 7, "low")
    p.close()


def test_partial_tiles_replace_their_picture_in_place() -> None:
    grid = aw.RequestImagePanel(_conn(deployment="my-gpt-image-2"), prompt="x",
                                namespace={}).previews
    grid.show_partial(0, 0, _png("red"), 2)
    tile = grid.partial_tiles[0]
    first = tile.children[0].value
    grid.show_partial(0, 1, _png("blue"), 2)
    assert grid.partial_tiles[0] is tile and len(grid.tiles) == 1
    assert tile.children[0].value != first
    assert "preview 2 of 2" in tile.children[1].value
    assert "azimage-partial" in tile._dom_classes
    assert grid.grid.layout.display != "none"  # an empty grid is hidden; a partial shows it


@dataclass(frozen=True)
class _Partial:
    partial_index: int
    b64_json: str
    image_index: int = 0


class _StreamingClient:
    """Stands in for ImageClient (stream_image, download_image of the recorded result)."""

    def __init__(self, conn: aw.Connection) -> None:
        self.connection = conn
        self.result = ImageResult(id="sync-live", status="succeeded", created=1, items=(
            ImageItem(index=0, b64_json=base64.b64encode(_png("green")).decode()),))
        self.seen_tiles: list[int] = []

    def stream_image(self, prompt: str, **kw: object):  # noqa: ANN201
        async def gen():  # noqa: ANN202
            for i in range(int(kw["partial_images"])):  # type: ignore[call-overload]
                yield _Partial(i, base64.b64encode(_png(("red", "blue")[i % 2])).decode())
                await asyncio.sleep(0)
            yield self.result
        return gen()

    async def download_image(self, op: object, **kw: object) -> ImageResult:
        return self.result


async def test_generate_with_live_previews_shows_partials_then_the_image() -> None:
    conn = _conn(deployment="my-gpt-image-2")
    client = _StreamingClient(conn)
    p = aw.RequestImagePanel(conn, prompt="a fox", partial_images=2, namespace={})
    p.activity._client = client
    shown: list[str] = []
    p.previews.grid.observe(lambda c: shown.append(",".join(
        "partial" if "azimage-partial" in t._dom_classes else "final" for t in c["new"])),
        names="children")
    await p.submit()
    assert shown[0] == "partial"  # a partial tile before any final one
    assert shown[-1] == "final" and len(p.previews.tiles) == 1
    assert p.activity.state.ids == ("sync-live",)
    p.close()
