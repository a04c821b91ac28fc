"""Property tests: invalid input raises ValidationError and never reaches the network.

The client's transport fails the test if it is called at all, so a request
that slipped past validation is caught even when the error is right.
"""
from __future__ import annotations

import asyncio

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import azimage_widgets as aw
from azimage_widgets.client import Connection, ImageClient
from azimage_widgets.contract import API_VERSIONS, N_MAX, PROMPT_MAX_CHARS, SIZES
from azimage_widgets.contract.text import is_blank

KEY = "hypo-fake-key-0000"
SETTINGS = settings(max_examples=250, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


class NetworkForbidden(AssertionError):
    pass


def forbidden(request: httpx.Request) -> httpx.Response:
    raise NetworkForbidden(f"request sent despite invalid input: {request.method} {request.url}")


def client() -> ImageClient:
    return ImageClient(Connection("https://res.openai.azure.com", api_key=KEY),
                       transport=httpx.MockTransport(forbidden))


valid_prompt = st.text(min_size=1, max_size=50).filter(lambda s: not is_blank(s))  # visible text
bad_prompt = st.one_of(
    st.just(""),
    st.text(alphabet=" \t\n\r\u00a0\u2003", min_size=1, max_size=20),           # blank
    st.text(min_size=PROMPT_MAX_CHARS + 1, max_size=PROMPT_MAX_CHARS + 40),    # too long
    st.integers(), st.none(), st.lists(st.text(), max_size=2), st.binary(max_size=5),
)
bad_n = st.one_of(st.integers(max_value=0), st.integers(min_value=N_MAX + 1), st.booleans(),
                  st.floats(allow_nan=True), st.text(max_size=3), st.none())
bad_size = st.one_of(st.text(max_size=12).filter(lambda s: s not in SIZES),
                     st.sampled_from(["1792x1024", "1024X1024", " 512x512", "256"]), st.integers())
bad_version = st.one_of(st.text(max_size=20).filter(lambda s: s not in API_VERSIONS and s != ""),
                        st.sampled_from(["2024-10-21-preview", "2023-06-01", "2023-06-01-PREVIEW"]))

bad_call = st.one_of(
    st.fixed_dictionaries({"prompt": bad_prompt}),
    st.fixed_dictionaries({"prompt": valid_prompt, "n": bad_n}),
    st.fixed_dictionaries({"prompt": valid_prompt, "size": bad_size}),
    st.fixed_dictionaries({"prompt": valid_prompt, "api_version": bad_version}),
)


def run(coro):
    return asyncio.run(coro)


@SETTINGS
@given(call=bad_call)
def test_invalid_request_image_never_reaches_network(call):
    async def go():
        async with client() as c:
            prompt = call.pop("prompt")
            with pytest.raises(aw.ValidationError) as ei:
                await c.request_image(prompt, **call)
            assert ei.value.field in {"prompt", "n", "size", "api_version"}
    run(go())


@SETTINGS
@given(call=bad_call)
def test_invalid_generate_never_reaches_network(call):
    async def go():
        async with client() as c:
            prompt = call.pop("prompt")
            with pytest.raises(aw.ValidationError):
                await c.generate(prompt, **call)
    run(go())


@settings(max_examples=200, deadline=None)
@given(good=st.lists(valid_prompt, max_size=3), bad=bad_prompt, at=st.integers(0, 3))
def test_generate_many_stop_mode_validates_all_first(good, bad, at):
    prompts = list(good)
    index = min(at, len(prompts))
    prompts.insert(index, bad)

    async def go():
        async with client() as c:
            with pytest.raises(aw.ValidationError) as ei:
                await c.generate_many(prompts, continue_on_error=False)
            assert ei.value.field == f"prompts[{index}].prompt"
    run(go())


@settings(max_examples=200, deadline=None)
@given(endpoint=st.one_of(
    st.text(max_size=30),
    st.builds(lambda h: f"http://{h}.example.com", st.from_regex(r"[a-z]{1,10}", fullmatch=True)),
    st.sampled_from(["ftp://x", "https://", "//res.openai.azure.com", "http://10.0.0.1"]),
))
def test_invalid_endpoints_raise_validation_error(endpoint):
    try:
        Connection(endpoint, api_key=KEY)
    except aw.ValidationError as exc:
        assert exc.field == "endpoint"
        assert KEY not in str(exc)
    else:  # whatever was accepted must be a clean http(s) endpoint
        assert endpoint.strip().lower().startswith(("https://", "http://"))
