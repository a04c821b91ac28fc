"""Schemathesis against the emulator, with Microsoft's 2024-10-21 inference spec.

The spec file (Azure/azure-rest-api-specs, copied into ../shared/specs beside
the repository) is limited to its one image operation, ``POST
/deployments/{deployment-id}/images/generations`` (``ImageGenerations_Create``);
about 100 generated requests go to a real emulator over HTTP, each checked by
schemathesis's default checks: no 5xx, status codes, content types, headers
and bodies conforming to the spec (``generateImagesResponse`` on 200,
``dalleErrorResponse`` otherwise), schema-valid requests accepted,
schema-invalid ones refused, and a request without credentials refused.

One change to the loaded spec: the prompt's documented 4000-character limit
(stated in its description only) becomes a ``maxLength``.

Without the spec file the module is skipped, unless CI is set: there it fails.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

schemathesis = pytest.importorskip("schemathesis")
from fakes import FAKE_KEY  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402

from azimage_widgets import emulator  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
#: AZIMAGE_SPECS_DIR names the specs folder when it is not ../shared/specs/azure-openai (a git
#: worktree kept elsewhere).
SPEC = Path(os.environ.get("AZIMAGE_SPECS_DIR") or ROOT.parent / "shared" / "specs" / "azure-openai") \
    / "inference-2024-10-21.json"
OPERATION = "ImageGenerations_Create"

if not SPEC.is_file():
    if os.environ.get("CI"):
        raise FileNotFoundError(f"CI is set but the spec file is missing: {SPEC}")
    pytest.skip(f"spec file not found at {SPEC} (it lives beside the repository on dev machines "
                "and CI)", allow_module_level=True)


def _load() -> schemathesis.BaseSchema:
    raw = json.loads(SPEC.read_text(encoding="utf-8"))
    prompt = raw["components"]["schemas"]["imageGenerationsRequest"]["properties"]["prompt"]
    # The spec gives the 4000-character limit only in the description ("The maximum length is
    # 4000 characters."); as a maxLength, schemathesis treats longer prompts as invalid data
    # (which the emulator refuses) instead of as valid data it must accept.
    assert "4000" in prompt["description"] and "maxLength" not in prompt
    prompt["maxLength"] = 4000
    return schemathesis.openapi.from_dict(raw).include(operation_id=OPERATION)


schema = _load()


@pytest.fixture(scope="module")
def st_emu():
    # A prompt of the generated kind will not contain this word by chance; the content filter
    # answer is checked on its own below.
    handle = emulator.start(api_key=FAKE_KEY, retry_after=None,
                            content_filter_word="SCHEMATHESIS_FILTER_WORD")
    try:
        yield handle
    finally:
        handle.stop()


def test_only_the_image_operation_is_tested():
    ops = [r.ok() for r in schema.get_all_operations()]
    assert [(op.method.upper(), op.path) for op in ops] == [
        ("POST", "/deployments/{deployment-id}/images/generations")]


@schema.parametrize()
@settings(max_examples=100, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                 HealthCheck.function_scoped_fixture])
def test_images_generations_conform(case, st_emu):
    case.query = {**(case.query or {}), "api-version": "2024-10-21"}
    case.call_and_validate(base_url=st_emu.endpoint + "/openai", headers={"api-key": FAKE_KEY})


def test_refusal_conforms_to_the_error_schema(st_emu):
    """The safety refusal (HTTP 400) validated against ``dalleErrorResponse`` too."""
    import httpx

    op = schema["/deployments/{deployment-id}/images/generations"]["POST"]
    resp = httpx.post(f"{st_emu.endpoint}/openai/deployments/d3/images/generations",
                      params={"api-version": "2024-10-21"}, headers={"api-key": FAKE_KEY},
                      json={"prompt": "a SCHEMATHESIS_FILTER_WORD cat"})
    assert resp.status_code == 400
    op.validate_response(resp)
    assert resp.json()["error"]["inner_error"]["code"] == "ResponsibleAIPolicyViolation"
