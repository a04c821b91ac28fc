"""The client against each fault knob of the real emulator.

Retries use a fast RetryPolicy so the suite stays quick; where the emulator
names a long Retry-After (the rpm limit), the client's sleep is replaced by
one that records the delay it was asked for and lifts the limit.
"""
from __future__ import annotations

import asyncio
import json
import time

import httpx
import pytest

import azimage_widgets as aw
from azimage_widgets.client import Connection, ImageClient
from azimage_widgets.client.retry import RetryPolicy


class Recorder:
    """Event hooks noting each request and response the client sees."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, bytes]] = []
        self.responses: list[tuple[str, str, int, httpx.Headers]] = []
        self.exchanges: list[tuple[httpx.Request, int]] = []

    async def on_request(self, request: httpx.Request) -> None:
        self.requests.append((request.method, request.url.path, request.content))

    async def on_response(self, response: httpx.Response) -> None:
        r = response.request
        self.responses.append((r.method, r.url.path, response.status_code, response.headers))
        self.exchanges.append((r, response.status_code))

    @property
    def hooks(self) -> dict:
        return {"request": [self.on_request], "response": [self.on_response]}

    def posts(self) -> int:
        return sum(1 for m, _, _ in self.requests if m == "POST")


def fast_client(conn: Connection, retries: int = 3) -> tuple[ImageClient, Recorder]:
    rec = Recorder()
    policy = RetryPolicy(max_retries=retries, base=0.02, max_backoff=0.1)
    return ImageClient(conn, event_hooks=rec.hooks, retry_policy=policy), rec


# -- 429: rpm limit ---------------------------------------------------------------------

async def test_rpm_429_is_retried_after_the_servers_retry_after(emu, conn):
    client, rec = fast_client(conn)
    asked: list[float] = []

    async def sleep(seconds: float) -> None:
        asked.append(seconds)
        emu.config.rpm_limit = None  # the window "passes"

    client._sleep = sleep
    async with client:
        emu.config.rpm_limit = 1
        await client.request_image("first", size="256x256")  # uses the one request
        op = await client.request_image("second", size="256x256")  # 429, waits, retried
        assert op.id
    throttled = [h for m, _, s, h in rec.responses if s == 429]
    assert len(throttled) == 1 and rec.posts() == 3
    server_said = float(throttled[0]["retry-after"])
    assert server_said > 0 and asked == [pytest.approx(min(server_said, 60.0))]


async def test_rpm_429_exhausted_is_throttled_error(emu, conn):
    client, rec = fast_client(conn, retries=0)
    async with client:
        emu.config.rpm_limit = 1
        await client.request_image("first", size="256x256")
        with pytest.raises(aw.ThrottledError) as ei:
            await client.request_image("second", size="256x256")
    assert ei.value.status_code == 429 and ei.value.retry_after and ei.value.retry_after > 0
    assert isinstance(ei.value, aw.ApiError)


# -- 500 / 503 ----------------------------------------------------------------------------

async def test_submit_not_repeated_on_500(emu, conn):
    emu.config.update(failure_rate=1.0, failure_statuses=(500,))
    client, rec = fast_client(conn)
    async with client:
        with pytest.raises(aw.ApiError) as ei:
            await client.request_image("once only", size="256x256")
    assert ei.value.status_code == 500
    assert rec.posts() == 1  # a 500 may hide an accepted job: never sent twice


async def test_submit_retried_on_503(emu, conn):
    emu.config.update(failure_rate=1.0, failure_statuses=(503,))
    client, rec = fast_client(conn, retries=2)
    async with client:
        with pytest.raises(aw.ApiError) as ei:
            await client.request_image("not taken", size="256x256")
    assert ei.value.status_code == 503 and rec.posts() == 3


async def test_polls_retried_on_500_and_503(emu, conn):
    client, rec = fast_client(conn, retries=6)
    waits = 0

    async def sleep(_seconds: float) -> None:  # every poll fails until the third wait
        nonlocal waits
        waits += 1
        if waits == 3:
            emu.config.update(failure_rate=0.0)
        await asyncio.sleep(0)

    client._sleep = sleep
    async with client:
        op = await client.request_image("flaky polls", size="256x256")
        emu.config.update(failure_rate=1.0, failure_statuses=(500, 503), seed=7)
        res = await client.download_image(op.id)
    assert res.succeeded
    statuses = [s for m, _, s, _ in rec.responses if m == "GET"]
    assert statuses[-1] == 200 and len([s for s in statuses if s in (500, 503)]) >= 2


async def test_no_duplicate_generations_under_failures(emu, conn):
    emu.config.update(failure_rate=0.5, failure_statuses=(500, 503), seed=3)
    client, rec = fast_client(conn, retries=6)
    prompts = [f"unique {i}" for i in range(20)]
    async with client:
        out = await client.generate_many(prompts, size="256x256", concurrency=10)
    answers = [(json.loads(req.content)["prompt"], status)
               for req, status in rec.exchanges if req.method == "POST"]
    assert any(s == 500 for _, s in answers), "the seed must produce a 500 on a submit"
    for prompt, result in zip(prompts, out, strict=True):
        mine = [s for p, s in answers if p == prompt]
        assert mine.count(202) <= 1  # never two generations for one prompt
        if 500 in mine:  # a 500 may hide an accepted job: that prompt is not sent again
            assert mine[-1] == 500 and mine.count(500) == 1 and isinstance(result, aw.ApiError)
        if isinstance(result, aw.ImageResult):
            assert mine[-1] == 202 and set(mine[:-1]) <= {503}


# -- dropped connections ------------------------------------------------------------------

async def test_dropped_submit_is_not_resent(emu, conn):
    emu.config.drop_rate = 1.0
    client, rec = fast_client(conn)
    async with client:
        with pytest.raises(aw.ApiError) as ei:
            await client.request_image("dropped", size="256x256")
    assert ei.value.status_code is None and ei.value.code in ("connectionError", "timeout")
    assert "not sent again" in str(ei.value)
    assert rec.posts() == 1


async def test_dropped_polls_are_retried(emu, conn):
    client, rec = fast_client(conn, retries=8)
    async with client:
        op = await client.request_image("drop my polls", size="256x256")
        emu.config.update(drop_rate=0.5, seed=11)
        res = await client.download_image(op.id)
    assert res.succeeded


async def test_connection_refused_is_retried_then_reported():
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    conn = Connection(f"http://127.0.0.1:{port}", api_key="fake-key-refused")
    client, rec = fast_client(conn, retries=2)
    async with client:
        with pytest.raises(aw.ApiError) as ei:
            await client.request_image("nobody home", size="256x256")
    assert ei.value.code == "connectionError" and rec.posts() == 3
    assert "fake-key-refused" not in str(ei.value)


# -- content filter -------------------------------------------------------------------------

async def test_content_filter_fails_the_operation(emu, conn):
    async with ImageClient(conn) as client:
        with pytest.raises(aw.ContentFilterError) as ei:
            await client.generate(f"a {emu.config.content_filter_word} picture")
    assert ei.value.code == "contentFilter" and ei.value.operation_id


async def test_partial_filter_keeps_the_other_images(emu, conn):
    async with ImageClient(conn) as client:
        res = await client.generate(f"three {emu.config.partial_filter_word}", n=3,
                                    size="256x256")
        assert res.succeeded and len(res.urls) == 2 and len(res.errors) == 1
        assert res.errors[0].error_code == "contentFilter"
        for url in res.urls:
            assert (await client.fetch_image(url)).startswith(b"\x89PNG")


async def test_partial_filter_of_the_only_image_is_a_content_filter_error(emu, conn):
    async with ImageClient(conn) as client:
        with pytest.raises(aw.ContentFilterError):
            await client.generate(f"one {emu.config.partial_filter_word}", n=1, size="256x256")


# -- images: corrupt and expired -------------------------------------------------------------

async def test_corrupt_image_is_image_fetch_error(emu, conn):
    async with ImageClient(conn) as client:
        res = await client.generate("corrupt me", size="256x256")
        emu.config.corrupt_rate = 1.0
        with pytest.raises(aw.ImageFetchError) as ei:
            await client.fetch_image(res.urls[0])
    assert "sig=" not in str(ei.value)


async def test_expired_url_says_expired(emu, conn):
    emu.config.image_ttl = 0.3
    async with ImageClient(conn) as client:
        res = await client.generate("short lived", size="256x256")
        await asyncio.sleep(0.5)
        with pytest.raises(aw.ImageFetchError) as ei:
            await client.fetch_image(res.urls[0])
    assert ei.value.status_code == 403 and "expired" in str(ei.value)
    assert "sig=" not in str(ei.value) and "se=" not in str(ei.value)


async def test_tampered_url_is_refused(emu, conn):
    async with ImageClient(conn) as client:
        res = await client.generate("tamper", size="256x256")
        url = res.urls[0].replace("sig=", "sig=X")
        with pytest.raises(aw.ImageFetchError) as ei:
            await client.fetch_image(url)
    assert ei.value.status_code == 403


async def test_image_byte_cap(emu, conn):
    client = ImageClient(conn, max_image_bytes=100)
    async with client:
        res = await client.generate("too big for the cap", size="256x256")
        with pytest.raises(aw.ImageFetchError, match="cap"):
            await client.fetch_image(res.urls[0])


# -- latency -------------------------------------------------------------------------------

async def test_latency_is_tolerated_and_felt(emu, conn):
    emu.config.latency = 0.25
    client, rec = fast_client(conn)
    started = time.monotonic()
    async with client:
        res = await client.generate("slow network", size="256x256")
    elapsed = time.monotonic() - started
    api_calls = len(rec.requests)
    assert res.succeeded and api_calls >= 2
    assert elapsed >= 0.25 * api_calls - 0.05


async def test_request_timeout_on_poll_is_retried(emu):
    conn = Connection(emu.endpoint, api_key=emu.api_key, timeout=0.3)
    client, rec = fast_client(conn, retries=3)
    async with client:
        op = await client.request_image("timeouts", size="256x256")
        emu.config.latency = 0.6  # every poll times out
        with pytest.raises(aw.ApiError) as ei:
            await client.get_operation(op.id)
        assert ei.value.code == "timeout"
        assert sum(1 for m, _, _ in rec.requests if m == "GET") == 4
        emu.config.latency = 0.0
        assert (await client.download_image(op.id)).succeeded


async def test_poll_cut_off_by_the_poll_deadline_is_operation_timeout():
    """The last poll's body may only take what the poll deadline leaves: running out of that is
    the operation's timeout (OperationTimeout with its id and last status), not ApiError("timeout").

    A loopback server answers the first poll at once ("running") and every later one with the
    headers and half the body, then the rest after longer than the whole poll timeout.
    """
    delay = 1.0
    polls: list[float] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                if not head.startswith(b"GET "):
                    return
                polls.append(time.monotonic())
                body = json.dumps({"id": "slow-op", "status": "running", "created": 1}).encode()
                writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                             b"content-length: %d\r\n\r\n" % len(body) + body[:10])
                await writer.drain()
                if len(polls) > 1:
                    await asyncio.sleep(delay)
                writer.write(body[10:])
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    conn = Connection(f"http://127.0.0.1:{port}", api_key="fake-key-slow-polls", timeout=30.0)
    try:
        async with ImageClient(conn) as client:
            started = time.monotonic()
            with pytest.raises(aw.OperationTimeout) as ei:
                await client.download_image("slow-op", timeout=0.5)
            elapsed = time.monotonic() - started
    finally:
        server.close()
        await server.wait_closed()
    assert ei.value.operation_id == "slow-op" and ei.value.last_status == "running"
    assert ei.value.seconds == 0.5
    assert isinstance(ei.value.__cause__.__cause__, httpx.ReadTimeout)
    assert len(polls) >= 2 and elapsed < delay + 0.5 + 5  # the slow poll was the last one
