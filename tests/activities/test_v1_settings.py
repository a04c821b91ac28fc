"""Request Image on v1: deployment and model, the model's rules as settings are typed,
values kept across version and model changes, several images to edit, live previews."""
from __future__ import annotations

import asyncio
import base64
import io
from dataclasses import dataclass

import pytest
from fakes import FAKE_KEY
from PIL import Image

import azimage_widgets as aw
from azimage_widgets.activities.model_settings import model_choices, version_choices
from azimage_widgets.activities.request_image import RequestImage
from azimage_widgets.contract import ImageItem, ImageResult, ValidationError
from azimage_widgets.contract.limits import API_VERSIONS


def _conn(**kw: object) -> aw.Connection:
    return aw.Connection(endpoint="http://127.0.0.1:9", api_key=FAKE_KEY, api_version="v1", **kw)


def _png(color: str = "red") -> bytes:
    buf = io.BytesIO()
    Image.new("RGBA", (32, 32), color).save(buf, format="PNG")
    return buf.getvalue()


def test_deployment_and_model_default_from_the_connection() -> None:
    a = RequestImage(_conn(deployment="prod-gpt-image-1-mini"), prompt="fox")
    assert a.deployment == "prod-gpt-image-1-mini"
    assert a.model is None and a.image_model.name == "gpt-image-1-mini"
    b = RequestImage(_conn(deployment="images", model="gpt-image-2"), prompt="fox")
    assert b.model == "gpt-image-2" and b.image_model.name == "gpt-image-2"


def test_custom_size_checked_by_the_model_rules() -> None:
    a = RequestImage(_conn(deployment="my-gpt-image-2"), prompt="fox")
    a.size = "1536x864"
    assert a.request().to_json()["size"] == "1536x864"
    with pytest.raises(ValidationError) as err:
        a.size = "1000x1000"
    assert err.value.field == "size" and "multiples of 16" in err.value.limit
    with pytest.raises(ValidationError) as err:
        a.size = "3840x512"
    assert "aspect ratio" in err.value.limit
    a.model = "gpt-image-1.5"  # no custom sizes: back to a preset
    assert a.size in a.image_model.sizes


def test_version_and_model_changes_keep_what_the_new_rules_allow() -> None:
    a = RequestImage(_conn(deployment="my-gpt-image-2"), prompt="fox", size="1024x1536", n=6,
                     quality="low", moderation="low", partial_images=2)
    a.model = "gpt-image-1-mini"
    assert (a.size, a.n, a.quality, a.moderation, a.partial_images) == \
        ("1024x1536", 6, "low", "low", 2)
    a.api_version = "2025-04-01-preview"  # the deployments path: the same model's rules as v1
    assert (a.size, a.n, a.quality, a.moderation, a.partial_images) == \
        ("1024x1536", 6, "low", "low", 2)
    a.model = "gpt-image-2"  # its custom sizes on 2025-04-01-preview too
    a.size = "1536x864"
    assert a.size == "1536x864"
    a.model = "gpt-image-1-mini"  # no custom size: back to the default
    assert a.size == "auto"
    a.api_version = "2024-10-21"  # dall-e-3: one image, its own sizes and qualities
    assert (a.n, a.quality, a.partial_images) == (1, None, 0)
    assert a.size in ("1024x1024", "1792x1024", "1024x1792")


def test_model_only_settings_refused_on_older_versions() -> None:
    a = RequestImage(_conn(deployment="d"), prompt="fox", api_version="2023-06-01-preview")
    with pytest.raises(ValidationError) as err:
        a.moderation = "low"
    assert err.value.field == "moderation"
    with pytest.raises(ValidationError) as err:
        a.partial_images = 1
    assert err.value.field == "partial_images"


def test_input_fidelity_not_for_mini_and_edit_of_several_images() -> None:
    a = RequestImage(_conn(deployment="my-gpt-image-1-mini"), prompt="on a beach")
    with pytest.raises(ValidationError) as err:
        a.input_fidelity = "high"
    assert err.value.field == "input_fidelity"
    a.model = "gpt-image-2"
    a.input_fidelity = "high"
    a.edit_image = [_png("red"), _png("blue")]
    edit = a.edit_request()
    assert len(edit.images) == 2 and edit.fields["input_fidelity"] == "high"
    a.model = "gpt-image-1-mini"  # fidelity no longer allowed: left out
    assert a.input_fidelity is None
    a.api_version = "2025-04-01-preview"  # the deployments path takes several too (image[])
    assert a.edit_image == (_png("red"), _png("blue"))
    a.api_version = "2024-10-21"  # dall-e-3 has no edits: the images go
    assert a.edit_image is None


def test_version_list_puts_v1_first_with_retirement_labels() -> None:
    labels = version_choices(API_VERSIONS)
    assert labels[0] == ("v1", "v1")
    assert ("2023-06-01-preview (retired 2025-01-27)", "2023-06-01-preview") in labels
    models = dict((v, k) for k, v in model_choices("v1"))
    assert models["gpt-image-2"] == "gpt-image-2"
    assert models["gpt-image-1"] == "gpt-image-1 (retired 2026-10-23)"
    assert model_choices("2023-06-01-preview") == []


@dataclass(frozen=True)
class _Partial:
    """The fields of a PartialImage the activity reads."""

    partial_index: int
    b64_json: str
    image_index: int = 0


class _StreamingClient:
    """Stands in for ImageClient.stream_image: two partials, then the result."""

    def __init__(self, conn: aw.Connection) -> None:
        self.connection = conn
        self.calls: list[dict[str, object]] = []

    def stream_image(self, prompt: str, **kw: object):  # noqa: ANN201
        self.calls.append({"prompt": prompt, **kw})

        async def gen():  # noqa: ANN202
            for i in range(2):
                yield _Partial(partial_index=i, b64_json=base64.b64encode(_png()).decode())
                await asyncio.sleep(0)
            yield ImageResult(id="sync-1", status="succeeded", created=1,
                              items=(ImageItem(index=0, b64_json=base64.b64encode(_png()).decode()),))
        return gen()


def test_live_previews_run_through_stream_image() -> None:
    conn = _conn(deployment="my-gpt-image-2")
    client = _StreamingClient(conn)
    a = RequestImage(conn, prompt="fox", size="1536x864", partial_images=2, client=client)
    seen: list[int] = []
    a.observe(lambda c: c["new"] is not None and seen.append(c["new"].partial_index),
              names="partial")
    ops = asyncio.run(a.submit())
    assert seen == [0, 1]
    assert ops.ids == ["sync-1"]
    call = client.calls[0]
    assert call["partial_images"] == 2 and call["size"] == "1536x864"
    assert call["deployment"] == "my-gpt-image-2" and call["api_version"] == "v1"
