"""Connection pools: several real emulators on loopback used as one endpoint."""
from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

import pytest
from helpers import api_requests, submits

import azimage_widgets as aw
from azimage_widgets import emulator
from azimage_widgets.client import ConnectionPool, PooledImageClient
from azimage_widgets.contract import ApiError, ThrottledError

FAKE_KEY = "fake-key-0123456789abcdef"  # as tests/conftest.py


@pytest.fixture
def emus():
    handles = [emulator.start(api_key=FAKE_KEY, processing_time=0.2, retry_after=None)
               for _ in range(3)]
    try:
        yield handles
    finally:
        for h in handles:
            h.stop()


def conns(handles, **kw):
    return [aw.Connection(h.endpoint, api_key=FAKE_KEY, **kw) for h in handles]


async def settled(handles) -> None:
    """Wait until the emulators have recorded every answer (they record after answering)."""
    last = None
    for _ in range(200):
        now = [len(h.requests) for h in handles]
        if now == last:
            return
        last = now
        await asyncio.sleep(0.02)


async def use_up(handle) -> None:
    """Spend an emulator's one request per minute, so the next one gets 429 + Retry-After."""
    handle.config.rpm_limit = 1
    async with aw.ImageClient(aw.Connection(handle.endpoint, api_key=FAKE_KEY)) as c:
        await c.request_image("spend the quota")


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# -- building a pool ------------------------------------------------------------------------
def test_pool_validation_and_face():
    a = aw.Connection("http://127.0.0.1:9", api_key=FAKE_KEY)
    b = aw.Connection("http://127.0.0.1:10", api_key=FAKE_KEY, deployment="d2")
    pool = aw.Connection.pool([a, b])
    assert isinstance(pool, ConnectionPool) and len(pool) == 2
    assert pool.endpoints == [a.endpoint, b.endpoint] and pool.endpoint == a.endpoint
    assert FAKE_KEY not in repr(pool) and FAKE_KEY not in str(pool.to_dict())
    assert pool.redact(f"x {FAKE_KEY} y") == "x *** y"
    client = PooledImageClient(pool)
    assert isinstance(client, aw.ImageClient)  # goes where an ImageClient goes
    assert client.connection is pool
    with pytest.raises(aw.ValidationError, match="at least one"):
        aw.Connection.pool([])
    with pytest.raises(aw.ValidationError, match="connections"):
        aw.Connection.pool(a)
    with pytest.raises(aw.ValidationError, match=r"connections\[1\]"):
        aw.Connection.pool([a, "http://x"])
    with pytest.raises(aw.ValidationError, match="twice"):
        aw.Connection.pool([a, a])
    with pytest.raises(aw.ValidationError, match="failover_statuses"):
        aw.Connection.pool([a, b], failover_statuses={404})


async def test_invalid_input_never_reaches_any_endpoint(emus):
    async with PooledImageClient(aw.Connection.pool(conns(emus))) as client:
        with pytest.raises(aw.ValidationError, match="n"):
            await client.request_image("a fox", n=9)
        with pytest.raises(aw.ValidationError, match="prompt"):
            await client.request_image("   ")
    await settled(emus)
    assert all(api_requests(h) == [] for h in emus)


# -- spreading and ownership ---------------------------------------------------------------
async def test_round_robin_and_each_operation_polled_where_accepted(emus):
    pool = aw.Connection.pool(conns(emus))
    async with PooledImageClient(pool) as client:
        ops = [await client.request_image(f"fox number {i}", size="256x256") for i in range(6)]
        results = await asyncio.gather(*(client.download_image(op.id) for op in ops))
        pngs = [await client.fetch_image(r.urls[0]) for r in results]
    await settled(emus)
    assert [len(submits(h)) for h in emus] == [2, 2, 2]
    for op, res in zip(ops, results, strict=True):
        owner = client.connection_for(op.id)
        assert owner is not None and urlsplit(op.location).port == urlsplit(owner.endpoint).port
        assert res.status == "succeeded"
        for h in emus:
            polls = api_requests(h, "GET", op.id)
            assert bool(polls) == (h.endpoint == owner.endpoint), (op.id, h.endpoint)
        assert client.request_of(op.id)["prompt"] == f"fox number {ops.index(op)}"
    assert all(p.startswith(b"\x89PNG") for p in pngs)
    # the image host never got a key
    assert not any(r.credentials for h in emus for r in h.requests if r.listener == "images")


async def test_an_id_from_elsewhere_is_found_on_its_endpoint(emus):
    async with aw.ImageClient(conns(emus)[2]) as other:
        op = await other.request_image("submitted by another kernel")
    async with PooledImageClient(aw.Connection.pool(conns(emus))) as client:
        res = await client.download_image(op.id)
        assert res.status == "succeeded"
        assert client.connection_for(op.id).endpoint == emus[2].endpoint
        await client.delete_operation(op.id)
    await settled(emus)
    assert [r.status for r in api_requests(emus[2], "DELETE")] == [204]
    async with PooledImageClient(aw.Connection.pool(conns(emus))) as client:
        with pytest.raises(ApiError) as info:
            await client.download_image("00000000-0000-0000-0000-000000000000")
    assert info.value.status_code == 404


# -- failover --------------------------------------------------------------------------------
async def test_429_fails_over_and_the_endpoint_is_skipped_for_its_retry_after(emus):
    emus[0].config.rpm_limit = 1  # one request per minute: the second one gets 429 + Retry-After
    clock = FakeClock()
    async with PooledImageClient(aw.Connection.pool(conns(emus))) as client:
        client._clock = clock
        first = await client.request_image("one")              # emu 0 takes it (its one request)
        assert client.connection_for(first.id).endpoint == emus[0].endpoint
        ops = [await client.request_image(f"p{i}") for i in range(6)]
        await settled(emus)
        # emu 0's 429 sent the job on at once, and emu 0 got nothing more while cooling
        throttled = submits(emus[0], 429)
        assert len(throttled) == 1
        assert len(submits(emus[0])) == 2
        assert all(client.connection_for(op.id).endpoint != emus[0].endpoint for op in ops)
        stats = client.stats()
        assert stats[0]["throttled"] == 1 and stats[0]["cooling_for"] > 1
        retry_after = max(1, stats[0]["cooling_for"])
        # just before the Retry-After is over it is still skipped ...
        clock.now += retry_after - 0.5
        await client.request_image("still cooling")
        await client.request_image("still cooling 2")
        await settled(emus)
        assert len(submits(emus[0])) == 2
        # ... and after it, it is asked again
        emus[0].config.rpm_limit = None
        clock.now += 1.0
        later = [await client.request_image(f"after {i}") for i in range(3)]
        await settled(emus)
        assert any(client.connection_for(op.id).endpoint == emus[0].endpoint for op in later)
        assert len(submits(emus[0], 202)) == 2


@pytest.mark.parametrize("status", [500, 503])
async def test_5xx_fails_over(emus, status):
    emus[0].config.update(failure_rate=1.0, failure_statuses=(status,))
    pool = aw.Connection.pool(conns(emus), cooldown=30)
    async with PooledImageClient(pool) as client:
        ops = [await client.request_image(f"job {i}") for i in range(4)]
        results = await asyncio.gather(*(client.download_image(op.id) for op in ops))
    await settled(emus)
    assert all(r.status == "succeeded" for r in results)
    assert [r.status for r in submits(emus[0])] == [status]  # one try, then skipped while cooling
    assert len(submits(emus[1], 202)) + len(submits(emus[2], 202)) == 4


async def test_safe_failover_statuses_raise_an_ambiguous_500(emus):
    emus[0].config.update(failure_rate=1.0, failure_statuses=(500,))
    pool = aw.Connection.pool(conns(emus), failover_statuses={429, 503})
    async with PooledImageClient(pool) as client:
        with pytest.raises(ApiError) as info:
            await client.request_image("may have been accepted")
    await settled(emus)
    assert info.value.status_code == 500
    assert len(submits(emus[0])) == 1  # sent once: no retry, no failover
    assert submits(emus[1]) == [] and submits(emus[2]) == []


async def test_an_unreachable_endpoint_is_skipped(emus):
    dead = emulator.start(api_key=FAKE_KEY)
    dead_conn = aw.Connection(dead.endpoint, api_key=FAKE_KEY)
    dead.stop()
    pool = aw.Connection.pool([dead_conn, *conns(emus[:1])], cooldown=30)
    async with PooledImageClient(pool) as client:
        ops = [await client.request_image(f"x{i}") for i in range(3)]
        assert all(client.connection_for(op.id).endpoint == emus[0].endpoint for op in ops)
        assert client.stats()[0]["failed"] == 1


async def test_every_endpoint_throttled_gives_a_throttled_error(emus):
    for h in emus:
        await use_up(h)
    await settled(emus)
    for h in emus:
        h.reset_stats()
    pool = aw.Connection.pool(conns(emus), max_wait=0.5)
    async with PooledImageClient(pool) as client:
        with pytest.raises(ThrottledError) as info:
            await client.request_image("nobody can take me")
    await settled(emus)
    assert info.value.retry_after is not None and info.value.retry_after >= 1
    # each endpoint was asked once; none again while its Retry-After ran
    assert [len(submits(h)) for h in emus] == [1, 1, 1]


async def test_waits_for_the_first_endpoint_to_come_back(emus):
    """All cooling: the submit sleeps until the earliest Retry-After ends, then goes there."""
    for h in emus:
        await use_up(h)
    await settled(emus)
    for h in emus:
        h.reset_stats()
    clock = FakeClock()
    slept: list[float] = []
    async with PooledImageClient(aw.Connection.pool(conns(emus))) as client:
        client._clock = clock

        async def fake_sleep(seconds: float) -> None:
            slept.append(seconds)
            emus[1].config.rpm_limit = None  # emu 1's quota is back when its wait is over
            clock.now += seconds

        client._sleep = fake_sleep
        op = await client.request_image("patient")
    await settled(emus)
    assert client.connection_for(op.id).endpoint == emus[1].endpoint
    assert len(slept) == 1 and slept[0] >= 1  # the emulators said Retry-After >= 1 s
    assert [len(submits(h, 202)) for h in emus] == [0, 1, 0]
    assert [len(submits(h, 429)) for h in emus] == [1, 1, 1]


# -- where a Connection goes, a pool goes ------------------------------------------------------
async def test_generate_many_spreads_over_the_pool(emus):
    async with PooledImageClient(aw.Connection.pool(conns(emus))) as client:
        results = await client.generate_many([f"batch {i}" for i in range(9)], size="256x256",
                                             concurrency=9)
    await settled(emus)
    assert all(not isinstance(r, Exception) and r.status == "succeeded" for r in results)
    assert [len(submits(h, 202)) for h in emus] == [3, 3, 3]


async def test_activity_and_panel_run_on_a_pool_and_store_the_owner(emus):
    from azimage_widgets.store import default_store

    pool = aw.Connection.pool(conns(emus))
    req = aw.RequestImage(pool, name="pool-fox", prompt="a pooled fox", size="256x256", n=2)
    ops = await asyncio.create_task(req.generate())
    assert req.status == "succeeded" and len(req.results[0].images) == 2
    owner = PooledImageClient.shared(pool).connection_for(ops.ids[0])
    records = default_store().records(operation_id=ops.ids[0])
    assert len(records) == 2 and {r.endpoint for r in records} == {owner.endpoint}
    assert all(r.prompt == "a pooled fox" for r in records)
    panel = aw.DownloadImagePanel(pool, name="pool-get", image_id=ops.ids[0])
    res = await panel.submit()
    assert res.status == "succeeded" and len(res.images) == 2
    await pool.aclose()
    assert PooledImageClient.shared(pool) is not None  # a new one after close
    await pool.aclose()


# -- the synchronous versions' settings go through the pool ------------------------------------
def test_pooled_request_image_has_image_clients_signature():
    import inspect

    mine = inspect.signature(PooledImageClient.request_image)
    theirs = inspect.signature(aw.ImageClient.request_image)
    assert mine == theirs
    for name in ("quality", "style", "response_format", "output_format", "background",
                 "output_compression", "deployment", "extra_body", "omit"):
        assert name in mine.parameters, name


def test_pooled_client_takes_image_clients_options():
    import inspect

    mine = list(inspect.signature(PooledImageClient).parameters.values())
    theirs = list(inspect.signature(aw.ImageClient.__init__).parameters.values())[1:]  # no self
    assert mine[0].name == "pool" and mine[1:] == theirs[1:]
    pool = aw.Connection.pool([aw.Connection("http://127.0.0.1:1", api_key="k"),
                               aw.Connection("http://127.0.0.1:2", api_key="k")])
    client = PooledImageClient(pool, max_image_bytes=1234)
    assert [m.client._max_image_bytes for m in client._members] == [1234, 1234]
    with pytest.raises(TypeError, match="max_bytes"):
        PooledImageClient(pool, max_bytes=1)


async def test_an_unknown_argument_is_a_type_error_before_any_endpoint(emus):
    pool = aw.Connection.pool(conns(emus[:2], api_version="2024-10-21", deployment="d3"))
    async with PooledImageClient(pool) as client:
        with pytest.raises(TypeError, match="qualty"):
            await client.request_image("a typo", qualty="hd")
    await settled(emus)
    assert [len(api_requests(h)) for h in emus[:2]] == [0, 0]


async def test_panel_and_activity_with_a_setting_generate_on_a_pool_of_dalle3(emus):
    two = emus[:2]
    pool = aw.Connection.pool(conns(two, api_version="2024-10-21", deployment="dalle3"))
    # the activity: quality="hd" and style go to whichever endpoint takes the request
    req = aw.RequestImage(pool, name="pool-hd", prompt="a pooled hd fox", api_version="2024-10-21",
                          quality="hd", style="natural")
    ops = await asyncio.create_task(req.generate())
    assert req.status == "succeeded", req.error
    assert ops.ids[0].startswith("sync-") and len(req.results[0].images) == 1
    sent = PooledImageClient.shared(pool).request_of(ops.ids[0])
    assert (sent["quality"], sent["style"], sent["deployment"]) == ("hd", "natural", "dalle3")
    # the panel: the setting chosen in its Quality field
    panel = aw.RequestImagePanel(pool, name="pool-hd-panel", prompt="a pooled hd owl")
    panel.fields["api_version"].input.value = "2024-10-21"
    panel.version_fields.inputs["quality"].value = "hd"
    assert panel.activity.quality == "hd"
    await panel.submit()
    assert panel.activity.status == "succeeded", panel.activity.error
    assert len(panel.activity.results[0].images) == 1
    sent = PooledImageClient.shared(pool).request_of(panel.activity.ids[0])
    assert (sent["quality"], sent["deployment"]) == ("hd", "dalle3")
    await settled(two)
    posts = [r for h in two for r in api_requests(h, "POST", "/deployments/dalle3/images/generations")
             if r.status == 200]
    assert len(posts) == 2
    # round-robin: one on each endpoint
    assert [len(api_requests(h, "POST", "/images/generations")) for h in two] == [1, 1]
    panel.close()
    req.close()
    await pool.aclose()


async def test_generate_many_with_a_setting_spreads_over_a_dalle3_pool(emus):
    two = emus[:2]
    pool = aw.Connection.pool(conns(two, api_version="2024-10-21", deployment="dalle3"))
    async with PooledImageClient(pool) as client:
        results = await client.generate_many([f"hd batch {i}" for i in range(4)], quality="hd",
                                             style="vivid", concurrency=4)
        assert all(isinstance(r, aw.ImageResult) and r.succeeded for r in results), results
        assert all(client.request_of(r.id)["quality"] == "hd" for r in results)
    await settled(two)
    assert [len(api_requests(h, "POST", "/deployments/dalle3/images/generations")) for h in two] \
        == [2, 2]
