"""Random JSON submit bodies never make the emulator answer 5xx.

Any JSON value, and objects with the contract's field names holding values of
any type, must get either 202 (a valid request) or an Azure-shaped 400.
"""
from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from azimage_widgets.contract.routes import SUBMIT_PATH

FAKE_KEY = "fake-key-hypothesis-0000"
VERSION = "2023-06-01-preview"

_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30)
_json = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
_fields = st.sampled_from(["prompt", "n", "size", "user", "response_format"])
_values = _json | st.sampled_from(["256x256", "512x512", "1024x1024", "url", "b64_json", "a cat",
                                   1, 5, 6, 0, -1])
_near_valid = st.dictionaries(_fields, _values, max_size=5)


@pytest.fixture(scope="module")
def api() -> Iterator[httpx.Client]:
    from azimage_widgets import emulator

    handle = emulator.start(api_key=FAKE_KEY, processing_time=0.0, retry_after=None)
    try:
        with httpx.Client(base_url=handle.endpoint, headers={"api-key": FAKE_KEY},
                          params={"api-version": VERSION}, timeout=10) as client:
            yield client
    finally:
        handle.stop()


def _check(response: httpx.Response) -> None:
    assert response.status_code < 500, response.text
    assert response.status_code in (202, 400), (response.status_code, response.text)
    if response.status_code == 400:
        err = response.json()["error"]
        assert isinstance(err["code"], str) and err["code"]
        assert isinstance(err["message"], str) and err["message"]


@settings(max_examples=200, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(body=_json | _near_valid)
def test_random_json_bodies_never_5xx(api: httpx.Client, body: object) -> None:
    response = api.post(SUBMIT_PATH, content=json.dumps(body).encode(),
                        headers={"content-type": "application/json"})
    _check(response)
    if response.status_code == 202:
        # only a body the contract accepts may be accepted
        assert isinstance(body, dict) and isinstance(body.get("prompt"), str)


@settings(max_examples=100, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(raw=st.binary(max_size=64))
def test_random_bytes_bodies_never_5xx(api: httpx.Client, raw: bytes) -> None:
    _check(api.post(SUBMIT_PATH, content=raw, headers={"content-type": "application/json"}))
