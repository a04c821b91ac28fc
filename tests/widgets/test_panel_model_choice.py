"""The Request Image panel's Model choice reaches the client: a deployment whose name names no
model, a model picked in the panel, a custom size, Generate against the emulator (real HTTP)."""
from __future__ import annotations

from typing import Any

import pytest

import azimage_widgets as aw

DEP = "prod-images"


@pytest.mark.parametrize("version", ["v1", "2025-04-01-preview"])
async def test_picked_model_and_custom_size_generate(emu: Any, version: str) -> None:
    emu.config.deployments = {DEP: "gpt-image-2"}
    conn = aw.Connection(emu.endpoint, api_key=emu.api_key, api_version="v1", deployment=DEP)
    p = aw.RequestImagePanel(conn, prompt="a red fox", namespace={})
    try:
        p.fields["api_version"].input.value = version
        mf = p.model_fields
        assert "model" in mf.visible()
        assert mf.model_input.options[0][0].startswith("from the deployment's name (gpt-image")
        assert "custom-size" not in mf.visible()  # the common rules: presets only
        mf.model_input.value = "gpt-image-2"
        assert "custom-size" in mf.visible()
        mf.custom_size_input.value = "1536x864"
        assert p.activity.size == "1536x864" and not p.field_errors()
        p.generate_button.click()
        await p.task
        assert [im.size for im in p.activity.results[0].images] == [(1536, 864)]
    finally:
        p.close()


def test_a_refused_custom_size_is_dropped_with_its_field_and_checked_again_by_new_rules() -> None:
    conn = aw.Connection("https://res.openai.azure.com", api_key="k-fake-fields", api_version="v1",
                         deployment=DEP)
    p = aw.RequestImagePanel(conn, prompt="a red fox", namespace={})
    try:
        mf = p.model_fields
        mf.model_input.value = "gpt-image-2"
        mf.custom_size_input.value = "1000x1000"
        assert "edges must be multiples of 16" in str(p.field_errors())
        assert p.generate_button.disabled
        # a model without custom sizes hides the field: its error goes with it
        mf.model_input.value = "gpt-image-1.5"
        assert "custom-size" not in mf.visible()
        assert not p.field_errors() and not p.generate_button.disabled
        # text refused by the rules of the moment is checked again when the rules change
        mf.model_input.value = None  # the deployment's name: the common rules, presets only
        mf.custom_size_input.value = "1536x864"
        assert p.activity.size != "1536x864" and p.bindings["custom_size"].error
        mf.model_input.value = "gpt-image-2"
        assert p.activity.size == "1536x864" and not p.field_errors()
    finally:
        p.close()
