"""v1 with a pool of two emulators, Retry-After, pacing and the image store."""
from __future__ import annotations

import asyncio
import base64
import time

import pytest
from fakes import FAKE_KEY

import azimage_widgets as aw
from azimage_widgets import emulator
from azimage_widgets.client import ImageClient, PooledImageClient

DEP = "my-gpt-image-2"


@pytest.fixture
def two():
    handles = [emulator.start(api_key=FAKE_KEY, processing_time=0.1, retry_after=None)
               for _ in range(2)]
    try:
        yield handles
    finally:
        for h in handles:
            h.stop()


def v1(handle, **kw):
    return aw.Connection(handle.endpoint, api_key=FAKE_KEY, api_version="v1", deployment=DEP, **kw)


def generations(handle, status=None):
    return [r for r in handle.requests if r.path == "/openai/v1/images/generations"
            and (status is None or r.status == status)]


async def test_pool_fails_over_on_a_v1_quota_429_and_downloads_by_id(two):
    two[0].config.images_per_minute = 1  # the second image of a minute gets 429 + Retry-After
    pool = aw.Connection.pool([v1(h) for h in two])
    async with PooledImageClient(pool) as client:
        ops = [await client.request_image(f"fox {i}", size="1024x1024") for i in range(4)]
        results = await asyncio.gather(*(client.download_image(op.id) for op in ops))
        owners = {client.connection_for(op.id).endpoint for op in ops}
    assert all(r.succeeded and r.items[0].b64_json for r in results)
    assert len(generations(two[0], 429)) >= 1  # the quota answered ...
    assert len(generations(two[1], 200)) >= 1 and owners == {two[0].endpoint, two[1].endpoint}
    assert len(generations(two[0], 200)) + len(generations(two[1], 200)) == 4  # ... none lost


async def test_v1_429_waits_the_servers_retry_after(two):
    two[0].config.images_per_minute = 1
    asked: list[float] = []
    async with ImageClient(v1(two[0])) as client:
        async def sleep(seconds: float) -> None:
            asked.append(seconds)
            two[0].config.images_per_minute = None  # the minute "passes"

        client._sleep = sleep
        await client.generate("first", size="1024x1024")
        res = await client.generate("second", size="1024x1024")
    assert res.succeeded and len(generations(two[0], 429)) == 1
    assert asked and asked[0] > 0


async def test_v1_generations_are_paced_by_the_connections_quota(two):
    conn = v1(two[0], images_per_minute=120)  # one image every 0.5 s
    async with ImageClient(conn) as client:
        started = time.monotonic()
        for i in range(3):
            await client.generate(f"paced {i}", size="1024x1024")
        elapsed = time.monotonic() - started
    assert elapsed >= 0.9  # three images at 120/min need two gaps of 0.5 s
    assert len(generations(two[0], 429)) == 0


async def test_v1_results_go_to_the_image_store(two, tmp_path):
    from azimage_widgets.store.image_store import ImageStore

    store = ImageStore(tmp_path / "store")
    async with ImageClient(v1(two[0])) as client:
        res = await client.generate("a stored fox", size="1024x1024")
        again = await client.download_image(res.id)
    rec = store.put(base64.b64decode(again.items[0].b64_json), prompt="a stored fox",
                    api_version="v1", operation_id=res.id, image_index=0, deployment=DEP)
    assert store.get(operation_id=res.id).id == rec.id and len(store) == 1
    assert store.search("stored fox")[0].deployment == DEP


async def test_pool_takes_custom_sizes_and_streams_on_v1(two):
    pool = aw.Connection.pool([v1(h, model="gpt-image-2") for h in two])
    async with PooledImageClient(pool) as client:
        res = await client.generate("a wide fox", size="1536x864", quality="low")
        events = [e async for e in client.stream_image("a streamed fox", partial_images=1,
                                                       size="1024x1024", quality="low")]
        again = await client.download_image(events[-1].id)
        with pytest.raises(aw.ValidationError) as ei:
            await client.generate("a fox", size="1000x1000")
    assert res.succeeded and isinstance(events[0], aw.PartialImage)
    assert again == events[-1] and client.connection_for(again.id) is not None
    assert ei.value.field == "size"
