"""Schemathesis against the emulator's v1 route, with Microsoft's v1 preview spec excerpt.

``v1-preview.images-excerpt.yaml`` (../shared/specs beside the repository)
holds ``POST /images/generations`` verbatim but references three schemas it
does not include. They are completed here, at test time, in an in-memory copy
(the file itself is not changed):
- ``AzureContentFilterImageResponseResults`` and
  ``AzureContentFilterImagePromptResults``: Microsoft's own shapes of the same
  per-image filter results in inference-2024-10-21.json (``dalleContentFilterResults``
  and ``dalleFilterResults``, with the ``contentFilter*Result`` schemas they use),
  copied from that file;
- ``AzureAIFoundryModelsApiVersion``: a string, ``v1`` or ``preview`` (the
  description's default and what Microsoft's image samples send).

The excerpt describes every image model at once (DALL-E and GPT image). The
emulator's deployments here are GPT image models, so the request schema is
narrowed to what CONTRACT.md section 4 states for them, each change below
with its reason; without it schemathesis would count Azure's documented
refusals (``quality: hd``, ``output_format: webp``, ``size: 256x256``, ...) as
valid requests wrongly refused. About 100 generated requests go to a real
emulator over HTTP, each checked by schemathesis's default checks (no 5xx,
status codes, content types, headers and bodies conforming to the spec,
valid requests accepted, invalid ones refused).
"""
from __future__ import annotations

import copy
import json
import os
from pathlib import Path
from typing import Any

import pytest

schemathesis = pytest.importorskip("schemathesis")
yaml = pytest.importorskip("yaml")
import httpx  # noqa: E402
from fakes import FAKE_KEY  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402

from azimage_widgets import emulator  # noqa: E402

#: ../shared/specs/azure-openai beside the repository; AZIMAGE_SPECS_DIR names another place
#: (a git worktree kept elsewhere).
SPECS = Path(os.environ.get("AZIMAGE_SPECS_DIR") or
             Path(__file__).resolve().parents[3] / "shared" / "specs" / "azure-openai")
SPEC = SPECS / "v1-preview.images-excerpt.yaml"
FILTER_SOURCE = SPECS / "inference-2024-10-21.json"
#: The emulator's deployments under test: one mapped, two named after their model.
DEPLOYMENTS = {"images": "gpt-image-2", "team-gpt-image-1-mini": None, "gpt-image-1.5": None}

for path in (SPEC, FILTER_SOURCE):
    if not path.is_file():
        if os.environ.get("CI"):
            raise FileNotFoundError(f"CI is set but the spec file is missing: {path}")
        pytest.skip(f"spec file not found at {path} (it lives beside the repository on dev "
                    "machines and CI)", allow_module_level=True)


def completed_spec() -> dict[str, Any]:
    """The excerpt with its three missing schemas added (see the module docstring)."""
    raw = yaml.safe_load(SPEC.read_text(encoding="utf-8"))
    schemas = raw["components"]["schemas"]
    missing = {"AzureAIFoundryModelsApiVersion", "AzureContentFilterImagePromptResults",
               "AzureContentFilterImageResponseResults"}
    assert missing.isdisjoint(schemas), "the excerpt has them now: drop the completion"
    source = json.loads(FILTER_SOURCE.read_text(encoding="utf-8"))["components"]["schemas"]
    for name in ("contentFilterResultBase", "contentFilterSeverityResult",
                 "contentFilterDetectedResult", "dalleContentFilterResults", "dalleFilterResults"):
        schemas[name] = copy.deepcopy(source[name])
    schemas["AzureContentFilterImageResponseResults"] = {
        "$ref": "#/components/schemas/dalleContentFilterResults"}
    schemas["AzureContentFilterImagePromptResults"] = {
        "$ref": "#/components/schemas/dalleFilterResults"}
    schemas["AzureAIFoundryModelsApiVersion"] = {"type": "string", "enum": ["v1", "preview"]}
    raw.setdefault("openapi", "3.0.0")
    raw.setdefault("info", {"title": "Azure OpenAI v1 images (excerpt)", "version": "preview"})
    return raw


def narrowed_to_gpt_image(raw: dict[str, Any]) -> dict[str, Any]:
    """The request schema as CONTRACT.md section 4 states it for GPT image deployments."""
    props = raw["components"]["schemas"]["AzureCreateImageRequest"]["properties"]
    # model: the emulator's deployments (the spec's "the model deployment to use")
    props["model"]["enum"] = sorted(DEPLOYMENTS)
    # prompt: required text up to 32000 characters, not blank (the description's limit)
    props["prompt"].update(minLength=1, maxLength=32000, pattern=r"\S")
    # quality: standard and hd are DALL-E only
    props["quality"]["enum"] = ["low", "medium", "high", "auto"]
    # response_format: GPT image models always answer base64 ("url" is DALL-E only)
    props["response_format"]["enum"] = ["b64_json"]
    props["response_format"]["default"] = "b64_json"
    # output_format: "WEBP is not supported in Azure OpenAI" (Microsoft's how-to)
    props["output_format"]["enum"] = ["png", "jpeg"]
    # output_compression: a percentage, 0..100 (the description)
    props["output_compression"].update(minimum=0, maximum=100)
    # size: the presets every GPT image model takes (256x256, 512x512, 1792x1024: DALL-E)
    props["size"]["enum"] = ["auto", "1024x1024", "1536x1024", "1024x1536"]
    # style: dall-e-3 only
    del props["style"]
    # background transparent needs a format with transparency: png (webp is refused)
    raw["components"]["schemas"]["AzureCreateImageRequest"]["not"] = {
        "required": ["background", "output_format"],
        "properties": {"background": {"enum": ["transparent"]},
                       "output_format": {"enum": ["jpeg"]}}}
    return raw


RAW = narrowed_to_gpt_image(completed_spec())
schema = schemathesis.openapi.from_dict(RAW)


@pytest.fixture(scope="module")
def st_emu():
    handle = emulator.start(api_key=FAKE_KEY, retry_after=None, processing_time=0.0,
                            deployments=DEPLOYMENTS, content_filter_word="SCHEMATHESIS_FILTER_WORD")
    try:
        yield handle
    finally:
        handle.stop()


def test_the_completed_spec_resolves_and_has_one_operation():
    ops = [r.ok() for r in schema.get_all_operations()]
    assert [(op.method.upper(), op.path) for op in ops] == [("POST", "/images/generations")]
    image = RAW["components"]["schemas"]["AzureImage"]["properties"]
    assert image["prompt_filter_results"]["$ref"].endswith("AzureContentFilterImagePromptResults")


@schema.parametrize()
@settings(max_examples=100, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                 HealthCheck.function_scoped_fixture])
def test_v1_images_generations_conform(case, st_emu):
    case.call_and_validate(base_url=st_emu.endpoint + "/openai/v1", headers={"api-key": FAKE_KEY})


@pytest.mark.parametrize("body,status", [
    ({"model": "images", "prompt": "a fox", "size": "1536x864"}, 200),  # gpt-image-2's custom size
    ({"model": "images", "prompt": "a SCHEMATHESIS_FILTER_WORD fox"}, 400),
    ({"model": "images", "prompt": "p", "output_format": "webp"}, 400),
    ({"model": "elsewhere", "prompt": "p"}, 404),
])
def test_answers_outside_the_generated_ones_conform(st_emu, body, status):
    """A custom size, the safety refusal, webp and an unknown deployment, validated too."""
    op = schema["/images/generations"]["POST"]
    r = httpx.post(f"{st_emu.endpoint}/openai/v1/images/generations",
                   params={"api-version": "preview"}, headers={"api-key": FAKE_KEY}, json=body)
    assert r.status_code == status, r.text
    if status == 200:
        # the excerpt's size enum predates gpt-image-2: check the rest against it
        data = r.json()
        assert data["size"] == "1536x864"
    else:
        op.validate_response(r)
