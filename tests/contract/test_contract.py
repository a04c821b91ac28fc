"""Layer 1: validation limits and tolerant parsing of operation answers."""
from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from azimage_widgets import contract as c


def test_defaults_follow_the_seeds() -> None:
    req = c.ImageRequest("a red fox")
    assert req.to_json() == {"prompt": "a red fox", "n": 1, "size": "1024x1024"}
    assert c.DEFAULT_API_VERSION == "2023-06-01-preview"
    assert set(c.SIZES) == {"1024x1024", "512x512", "256x256"}
    assert (c.N_MIN, c.N_MAX, c.PROMPT_MAX_CHARS) == (1, 5, 1000)


@pytest.mark.parametrize(
    ("kwargs", "field", "needle"),
    [
        ({"prompt": "x" * 1001}, "prompt", "1000"),
        ({"prompt": "   "}, "prompt", "blank"),
        ({"prompt": ""}, "prompt", "blank"),
        ({"prompt": "fox", "n": 0}, "n", "1 to 5"),
        ({"prompt": "fox", "n": 6}, "n", "1 to 5"),
        ({"prompt": "fox", "n": True}, "n", "whole number"),
        ({"prompt": "fox", "n": 2.0}, "n", "whole number"),
        ({"prompt": "fox", "size": "800x600"}, "size", "256x256"),
        ({"prompt": "fox", "api_version": "2099-01-01"}, "api_version", "2023-06-01-preview"),
        ({"prompt": "fox", "response_format": "gif"}, "response_format", "b64_json"),
        ({"prompt": 42}, "prompt", "string"),
    ],
)
def test_validation_names_field_and_limit(kwargs: dict, field: str, needle: str) -> None:
    with pytest.raises(c.ValidationError) as info:
        c.ImageRequest(**kwargs)
    err = info.value
    assert isinstance(err, ValueError)
    assert err.field == field
    assert str(err).startswith(field + ":")
    assert needle in str(err)


def test_prompt_of_exactly_1000_characters_is_accepted() -> None:
    assert len(c.ImageRequest("y" * 1000).prompt) == 1000


@settings(max_examples=300, deadline=None)
@given(
    prompt=st.text(max_size=1100),
    n=st.integers(min_value=-3, max_value=9),
    size=st.sampled_from(["256x256", "512x512", "1024x1024", "1x1", "", "1024X1024"]),
)
def test_validation_agrees_with_the_limits(prompt: str, n: int, size: str) -> None:
    # blank: nothing visible (spaces, controls, zero-width and format characters, fillers)
    visible = any(not (ch.isspace() or unicodedata.category(ch) in {"Cc", "Cf", "Zs", "Zl", "Zp"}
                       or ch in "\u115f\u1160\u3164\uffa0\u2800\u034f") for ch in prompt)
    valid = visible and len(prompt) <= 1000 and 1 <= n <= 5 and size in c.SIZES
    try:
        c.ImageRequest(prompt, size=size, n=n)
    except c.ValidationError:
        assert not valid
    else:
        assert valid


def test_parse_result_data_and_top_level_data() -> None:
    nested = {"id": "a", "status": "succeeded", "created": 1, "expires": 86401,
              "result": {"created": 1, "data": [{"url": "https://blob/x.png?sig=1"}]}}
    top = {"id": "a", "status": "succeeded", "created": 1, "data": [{"url": "https://blob/x.png"}]}
    assert c.parse_operation(nested).urls == ["https://blob/x.png?sig=1"]
    assert c.parse_operation(nested).expires == 86401
    assert c.parse_operation(top).urls == ["https://blob/x.png"]


def test_parse_keeps_images_beside_a_filtered_one() -> None:
    body = {"id": "a", "status": "succeeded", "result": {"data": [
        {"url": "https://blob/0.png"},
        {"error": {"code": "contentFilter", "message": "filtered"}},
        {"url": "https://blob/2.png"},
    ]}}
    res = c.parse_operation(body)
    assert res.urls == ["https://blob/0.png", "https://blob/2.png"]
    assert [(e.index, e.error_code) for e in res.errors] == [(1, "contentFilter")]


def test_parse_failed_operation_error() -> None:
    body = {"id": "a", "status": "failed",
            "error": {"code": "contentFilter", "message": "Your task failed"}}
    res = c.parse_operation(body)
    assert res.done and not res.succeeded
    assert (res.error_code, res.error_message) == ("contentFilter", "Your task failed")


@pytest.mark.parametrize(
    "body",
    [
        [],
        {"status": "succeeded"},
        {"id": "a", "status": "finished"},
        {"id": "a", "status": "succeeded", "result": {"data": "x"}},
        {"id": "a", "status": "succeeded", "result": {"data": [{}]}},
        {"id": "a", "status": "succeeded", "result": {"data": [{"url": 5}]}},
    ],
)
def test_malformed_answers_raise_parse_error(body: object) -> None:
    with pytest.raises(c.ParseError):
        c.parse_operation(body)


def test_terminal_statuses() -> None:
    assert c.TERMINAL_STATUSES == {"succeeded", "failed", "canceled", "deleted"}
    assert all(s in c.STATUSES for s in c.TERMINAL_STATUSES)


def test_errors_carry_fields_and_hide_sas_query() -> None:
    err = c.ThrottledError(429, "429", "slow down", retry_after=3.0)
    assert isinstance(err, c.ApiError)
    assert (err.status_code, err.code, err.retry_after) == (429, "429", 3.0)
    fetch = c.ImageFetchError("https://blob/x.png?se=1&sig=SECRET", "expired", 403)
    assert "SECRET" not in str(fetch)
    assert c.parse_error_body(c.error_body("404", "Resource not found")) == ("404", "Resource not found")
    assert c.parse_error_body("junk") == (None, None)
