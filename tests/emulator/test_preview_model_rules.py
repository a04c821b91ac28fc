"""The deployments path of 2025-04-01-preview answers as the deployment's model, with the same
rules as v1 (contract.model_rules), over real HTTP; the DALL-E versions keep their own."""
from __future__ import annotations

import base64
import io

import httpx
import pytest
from fakes import FAKE_KEY
from PIL import Image

from azimage_widgets import emulator

GI = "2025-04-01-preview"


@pytest.fixture
def http():
    handle = emulator.start(api_key=FAKE_KEY, processing_time=0.0, retry_after=None,
                            deployments={"prod-images": "gpt-image-2", "my-gpt-image-2": None,
                                         "cheap": "gpt-image-1-mini", "plain": None})
    try:
        with httpx.Client(base_url=handle.endpoint, headers={"api-key": FAKE_KEY},
                          timeout=30) as c:
            yield c
    finally:
        handle.stop()


def generate(http, deployment, version=GI, **body):
    return http.post(f"/openai/deployments/{deployment}/images/generations",
                     params={"api-version": version}, json={"prompt": "a fox", **body})


def size_of(r: httpx.Response) -> tuple[int, int]:
    assert r.status_code == 200, r.text
    return Image.open(io.BytesIO(base64.b64decode(r.json()["data"][0]["b64_json"]))).size


@pytest.mark.parametrize("deployment", ["my-gpt-image-2", "prod-images"])
def test_a_gpt_image_2_deployment_takes_its_custom_sizes(http, deployment):
    assert size_of(generate(http, deployment, size="1536x864")) == (1536, 864)
    r = generate(http, deployment, size="1000x1000")
    err = r.json()["error"]
    assert r.status_code == 400 and err["param"] == "size"
    assert "edges must be multiples of 16" in err["message"]


def test_other_models_refuse_a_custom_size(http):
    for deployment in ("cheap", "plain"):  # gpt-image-1-mini; a name naming none: gpt-image-1
        r = generate(http, deployment, size="1536x864")
        assert r.status_code == 400 and r.json()["error"]["param"] == "size"
    assert size_of(generate(http, "cheap", size="1536x1024")) == (1536, 1024)


def test_the_dall_e_3_version_keeps_its_rules_whatever_the_deployment(http):
    r = generate(http, "prod-images", version="2024-10-21", size="1536x864")
    assert r.status_code == 400 and r.json()["error"]["param"] == "size"
