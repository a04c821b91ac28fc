"""Connection for the v1 API: deployment, model, a pasted /openai/v1 base, from_env defaults."""
from __future__ import annotations

import pickle
import sys
import types

import pytest
from fakes import FAKE_KEY

import azimage_widgets as aw
from azimage_widgets.client.connection import V1_TOKEN_SCOPE, env_api_version, token_scope

EP = "https://res.openai.azure.com"


def test_v1_connection_values():
    c = aw.Connection(endpoint=EP, api_key=FAKE_KEY, api_version="v1", deployment="my-gpt-image-2",
                      model="gpt-image-2")
    assert (c.api_version, c.deployment, c.model) == ("v1", "my-gpt-image-2", "gpt-image-2")
    assert c.image_model.name == "gpt-image-2" and c.image_model.custom_sizes is not None
    assert c.to_dict()["model"] == "gpt-image-2"
    assert "model='gpt-image-2'" in repr(c) and FAKE_KEY not in repr(c)
    back = pickle.loads(pickle.dumps(c))
    assert (back.model, back.deployment, back.api_version) == ("gpt-image-2", "my-gpt-image-2", "v1")


@pytest.mark.parametrize("deployment,model,rules", [
    ("my-gpt-image-2", None, "gpt-image-2"),            # read from the deployment's name
    ("Prod_GPT_Image_1_Mini", None, "gpt-image-1-mini"),  # longest name wins, _ reads as -
    ("images-prod", None, "gpt-image"),                # unknown: the rules common to all
    ("images-prod", "gpt-image-1.5", "gpt-image-1.5"),  # named outright
    ("my-gpt-image-2", "gpt-image-1-mini", "gpt-image-1-mini"),  # the explicit model wins
])
def test_model_rules_of_a_connection(deployment, model, rules):
    c = aw.Connection(EP, api_key=FAKE_KEY, api_version="v1", deployment=deployment, model=model)
    assert c.image_model.name == rules


def test_unknown_model_is_refused_naming_model():
    with pytest.raises(aw.ValidationError) as ei:
        aw.Connection(EP, api_key=FAKE_KEY, api_version="v1", deployment="d", model="gpt-9")
    assert ei.value.field == "model" and "gpt-image-2" in str(ei.value)


@pytest.mark.parametrize("pasted", [EP + "/openai/v1", EP + "/openai/v1/", EP + "/OpenAI/V1/",
                                    EP + "/openai", EP + "/openai/", EP + "/"])
def test_pasted_base_path_is_understood(pasted):
    c = aw.Connection(pasted, api_key=FAKE_KEY, api_version="v1", deployment="d")
    assert c.endpoint == EP


def test_pasted_v1_base_means_v1_unless_told():
    assert aw.Connection(EP + "/openai/v1/", api_key=FAKE_KEY).api_version == "v1"
    assert aw.Connection(EP + "/openai", api_key=FAKE_KEY).api_version == "2023-06-01-preview"
    told = aw.Connection(EP + "/openai/v1", api_key=FAKE_KEY, api_version="2025-04-01-preview")
    assert (told.endpoint, told.api_version) == (EP, "2025-04-01-preview")


def test_other_paths_are_kept():
    assert aw.Connection(EP + "/gateway", api_key=FAKE_KEY).endpoint == EP + "/gateway"
    assert aw.Connection(EP + "/gw/openai/v1", api_key=FAKE_KEY).endpoint == EP + "/gw"


# -- from_env ---------------------------------------------------------------------------------

def test_from_env_endpoint_defaults_to_v1_with_deployment_and_model():
    env = {"AZURE_OPENAI_ENDPOINT": EP + "/openai/v1/", "AZURE_OPENAI_API_KEY": FAKE_KEY,
           "AZURE_OPENAI_DEPLOYMENT": "my-gpt-image-2", "AZURE_OPENAI_MODEL": "gpt-image-2"}
    c = aw.Connection.from_env(env)
    assert (c.endpoint, c.api_version, c.deployment, c.model) == (EP, "v1", "my-gpt-image-2",
                                                                   "gpt-image-2")
    assert env_api_version(env) == "v1"


def test_from_env_model_is_optional():
    c = aw.Connection.from_env({"AZURE_OPENAI_ENDPOINT": EP, "AZURE_OPENAI_API_KEY": FAKE_KEY,
                                "AZURE_OPENAI_DEPLOYMENT": "team-gpt-image-1-mini"})
    assert c.model is None and c.image_model.name == "gpt-image-1-mini"


def test_from_env_v1_without_deployment_names_the_variable():
    with pytest.raises(aw.ValidationError) as ei:
        aw.Connection.from_env({"AZURE_OPENAI_ENDPOINT": EP, "AZURE_OPENAI_API_KEY": FAKE_KEY})
    assert ei.value.field == "AZURE_OPENAI_DEPLOYMENT"
    assert "AZURE_OPENAI_DEPLOYMENT" in str(ei.value) and FAKE_KEY not in str(ei.value)


def test_from_env_bad_model_names_the_variable():
    with pytest.raises(aw.ValidationError) as ei:
        aw.Connection.from_env({"AZURE_OPENAI_ENDPOINT": EP, "AZURE_OPENAI_API_KEY": FAKE_KEY,
                                "AZURE_OPENAI_DEPLOYMENT": "d", "AZURE_OPENAI_MODEL": "dalle-9"})
    assert ei.value.field == "AZURE_OPENAI_MODEL"


def test_from_env_async_version_needs_no_deployment():
    c = aw.Connection.from_env({"AZURE_OPENAI_ENDPOINT": EP, "AZURE_OPENAI_API_KEY": FAKE_KEY,
                                "AZURE_OPENAI_API_VERSION": "2023-06-01-preview"})
    assert c.api_version == "2023-06-01-preview" and c.deployment is None


def test_from_env_without_endpoint_keeps_the_seeds_version(monkeypatch):
    import azimage_widgets

    fake = types.ModuleType("azimage_widgets.emulator")
    fake.embedded = lambda: types.SimpleNamespace(endpoint="http://127.0.0.1:4321", api_key=FAKE_KEY)
    monkeypatch.setattr(azimage_widgets, "emulator", fake, raising=False)
    monkeypatch.setitem(sys.modules, "azimage_widgets.emulator", fake)
    c = aw.Connection.from_env({})
    assert c.api_version == "2023-06-01-preview" and c.deployment is None
    assert env_api_version({}) == "2023-06-01-preview"


@pytest.mark.parametrize("version,scope", [
    ("v1", V1_TOKEN_SCOPE),
    ("2025-04-01-preview", "https://cognitiveservices.azure.com/.default"),
    ("2023-06-01-preview", "https://cognitiveservices.azure.com/.default"),
])
async def test_from_env_entra_scope_follows_the_version(monkeypatch, version, scope):
    seen = {}
    fake = types.ModuleType("azure.identity")

    class DefaultAzureCredential:
        pass

    def get_bearer_token_provider(cred, *scopes):
        seen["scopes"] = scopes
        return lambda: "entra-token"

    fake.DefaultAzureCredential = DefaultAzureCredential
    fake.get_bearer_token_provider = get_bearer_token_provider
    monkeypatch.setitem(sys.modules, "azure", types.ModuleType("azure"))
    monkeypatch.setitem(sys.modules, "azure.identity", fake)
    c = aw.Connection.from_env({"AZURE_OPENAI_ENDPOINT": EP, "AZURE_OPENAI_API_VERSION": version,
                                "AZURE_OPENAI_DEPLOYMENT": "my-gpt-image-2"})
    assert seen["scopes"] == (scope,) and token_scope(version) == scope
    assert c.auth_kind == "token"
    assert await c.auth_headers(EP + "/openai/v1/images/generations") == {
        "Authorization": "Bearer entra-token"}
