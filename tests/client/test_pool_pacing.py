"""A pool shares work by its members' paces and takes out members that answer 401/404.

Real emulators on loopback; the pool's submits are counted on each.
"""
from __future__ import annotations

from collections.abc import Iterator

import pytest
from fakes import FAKE_KEY
from helpers import api_requests, submits

import azimage_widgets as aw
from azimage_widgets.client import PooledImageClient
from azimage_widgets.client.pacing import forget_paces
from azimage_widgets.contract import ApiError

SYNC_VERSION = "2025-04-01-preview"


@pytest.fixture(autouse=True)
def _fresh_paces() -> Iterator[None]:
    forget_paces()
    yield
    forget_paces()


@pytest.fixture
def emus() -> Iterator[list]:
    from azimage_widgets import emulator

    handles = [emulator.start(api_key=FAKE_KEY, processing_time=0.05, retry_after=None)
               for _ in range(2)]
    try:
        yield handles
    finally:
        for h in handles:
            h.stop()


async def test_submits_are_shared_by_pace(emus):
    fast, slow = emus
    pool = aw.Connection.pool([
        aw.Connection(fast.endpoint, api_key=FAKE_KEY, images_per_minute=1200),
        aw.Connection(slow.endpoint, api_key=FAKE_KEY, images_per_minute=600)])
    async with PooledImageClient(pool) as client:
        for i in range(12):
            await client.request_image(f"share {i}", size="256x256")
    on_fast, on_slow = len(submits(fast, 202)), len(submits(slow, 202))
    assert on_fast + on_slow == 12
    assert 7 <= on_fast <= 9 and 3 <= on_slow <= 5  # about 2 : 1, the quotas' ratio


async def test_a_member_with_a_wrong_key_is_taken_out_once(emus):
    good, bad = emus
    pool = aw.Connection.pool([aw.Connection(bad.endpoint, api_key="wrong-key-0000"),
                               aw.Connection(good.endpoint, api_key=FAKE_KEY)])
    async with PooledImageClient(pool) as client:
        ops = [await client.request_image(f"key {i}", size="256x256") for i in range(4)]
        stats = client.stats()
    assert len(ops) == 4 and len(submits(good, 202)) == 4
    assert len(api_requests(bad, "POST")) == 1        # asked once, never again
    assert "401" in stats[0]["removed"] and "taken out" in stats[0]["removed"]
    assert "wrong-key" not in stats[0]["removed"]
    assert stats[1]["removed"] == ""


async def test_a_gone_deployment_is_taken_out_and_the_last_one_says_why(emus):
    a, b = emus
    a.config.deployments = {"live"}
    b.config.deployments = {"live"}
    pool = aw.Connection.pool([
        aw.Connection(a.endpoint, api_key=FAKE_KEY, api_version=SYNC_VERSION, deployment="gone"),
        aw.Connection(b.endpoint, api_key=FAKE_KEY, api_version=SYNC_VERSION, deployment="live")])
    async with PooledImageClient(pool) as client:
        await client.request_image("a fox", size="1024x1024")
        await client.request_image("a cat", size="1024x1024")
        assert "404" in client.stats()[0]["removed"]
        assert len(api_requests(a, "POST")) == 1
    b.config.deployments = {"other"}
    pool2 = aw.Connection.pool([
        aw.Connection(a.endpoint, api_key=FAKE_KEY, api_version=SYNC_VERSION, deployment="gone"),
        aw.Connection(b.endpoint, api_key="wrong-key-0000", api_version=SYNC_VERSION,
                      deployment="live")])
    async with PooledImageClient(pool2) as client:
        with pytest.raises(ApiError) as err:
            await client.request_image("a fox", size="1024x1024")
        assert err.value.code == "poolExhausted"
        text = str(err.value)
        assert "taken out" in text and "404" in text and "401" in text
        with pytest.raises(ApiError, match="taken out"):  # at once, nothing sent
            before = len(api_requests(a)) + len(api_requests(b))
            await client.request_image("a cat", size="1024x1024")
        assert len(api_requests(a)) + len(api_requests(b)) == before
