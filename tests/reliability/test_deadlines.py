"""Every exchange ends: a total deadline covers connect, headers and body, not each read.

The server (a raw loopback one, see helpers.RawServer) sends its answer a
little at a time, each piece well inside the per-read timeout, so only a
bound on the whole exchange can end it. Each call must end with a clear
timeout error within about its configured time (asserted loosely: under
twice the deadline plus a second).
"""
from __future__ import annotations

import asyncio
import time

import pytest
from helpers import RAW_OP_ID, RawServer, fast_client, http_response, raw_api, submit_ok

import azimage_widgets as aw
from azimage_widgets.client import Connection, ImageClient

KEY = "deadline-fake-key-5d1e"


def drip_headers(gap: float = 0.3):
    """A status line, then one header line every ``gap`` seconds, never ending the head."""
    async def write(w: asyncio.StreamWriter) -> None:
        w.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n")
        await w.drain()
        for i in range(10_000):
            await asyncio.sleep(gap)
            w.write(b"X-Drip-%d: a\r\n" % i)
            await w.drain()
    return write


def drip_body(head: bytes, gap: float = 0.3, length: int = 100_000):
    """Full headers declaring ``length`` bytes, then one body byte every ``gap`` seconds."""
    async def write(w: asyncio.StreamWriter) -> None:
        w.write(head.replace(b"{len}", str(length).encode()))
        await w.drain()
        for _ in range(length):
            await asyncio.sleep(gap)
            w.write(b" ")
            await w.drain()
    return write


def never_answers():
    async def write(w: asyncio.StreamWriter) -> None:
        await asyncio.sleep(60)
    return write


async def ended(coro, budget: float) -> tuple[BaseException, float]:
    """The exception ``coro`` ended with and its duration; fails when it ran past ``budget``."""
    t0 = time.monotonic()
    with pytest.raises(Exception) as ei:
        await asyncio.wait_for(coro, budget)
    elapsed = time.monotonic() - t0
    assert not isinstance(ei.value, asyncio.TimeoutError) or isinstance(ei.value, aw.AzimageError), \
        f"still running after {budget} s"
    assert KEY not in str(ei.value)
    return ei.value, elapsed


def conn_for(srv: RawServer, **kw) -> Connection:
    kw.setdefault("max_retries", 0)
    return Connection(srv.base, api_key=KEY, **kw)


async def test_poll_whose_headers_drip_ends_at_the_poll_deadline():
    """Each header line comes inside the 5 s read timeout; the poll deadline (3 s) still holds."""
    async with RawServer(raw_api(poll=lambda r, s: drip_headers())) as srv:
        async with fast_client(conn_for(srv, timeout=5.0, poll_timeout=3.0)) as client:
            exc, elapsed = await ended(client.generate("a fox", size="256x256"), 20)
    assert isinstance(exc, aw.OperationTimeout), repr(exc)
    assert exc.operation_id == RAW_OP_ID
    assert elapsed < 2 * 3.0 + 1


async def test_one_poll_whose_headers_drip_is_a_timeout_error():
    async with RawServer(raw_api(poll=lambda r, s: drip_headers())) as srv:
        async with fast_client(conn_for(srv, timeout=1.5)) as client:
            exc, elapsed = await ended(client.get_operation(RAW_OP_ID), 20)
    assert isinstance(exc, aw.ApiError) and exc.code == "timeout", repr(exc)
    assert "1.5 s" in exc.message
    assert elapsed < 2 * 1.5 + 1


async def test_submit_whose_headers_drip_is_a_timeout_and_not_resent():
    async with RawServer(raw_api(submit=lambda r, s: drip_headers())) as srv:
        async with fast_client(conn_for(srv, timeout=1.5, max_retries=3)) as client:
            exc, elapsed = await ended(client.request_image("a fox", size="256x256"), 20)
    assert isinstance(exc, aw.ApiError) and exc.code == "timeout", repr(exc)
    assert elapsed < 2 * 1.5 + 1
    assert sum(r.method == "POST" for r in srv.requests) == 1  # may have been accepted


async def test_retried_polls_each_end_within_the_timeout():
    """Idempotent polls are retried after a total timeout; each attempt is bounded."""
    async with RawServer(raw_api(poll=lambda r, s: drip_headers())) as srv:
        async with fast_client(conn_for(srv, timeout=1.0, max_retries=2)) as client:
            exc, elapsed = await ended(client.get_operation(RAW_OP_ID), 30)
    assert isinstance(exc, aw.ApiError) and exc.code == "timeout", repr(exc)
    assert sum(r.method == "GET" for r in srv.requests) == 3
    assert elapsed < 2 * 3 * 1.0 + 1


async def test_generate_with_a_short_timeout_ends_when_polls_never_answer():
    """The poll deadline is a deadline: not the 10 s request timeout on top of it."""
    async with RawServer(raw_api(poll=lambda r, s: never_answers())) as srv:
        async with fast_client(conn_for(srv, timeout=10.0, max_retries=2)) as client:
            exc, elapsed = await ended(client.generate("a fox", size="256x256", timeout=2), 30)
    assert isinstance(exc, aw.OperationTimeout), repr(exc)
    assert exc.seconds == 2
    assert elapsed < 2 * 2 + 1


async def test_poll_body_at_one_byte_a_gap_ends_at_the_poll_deadline():
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len}\r\n\r\n"
    async with RawServer(raw_api(poll=lambda r, s: drip_body(head))) as srv:
        async with fast_client(conn_for(srv, timeout=5.0)) as client:
            exc, elapsed = await ended(client.generate("a fox", size="256x256", timeout=2), 30)
    assert isinstance(exc, aw.OperationTimeout), repr(exc)
    assert elapsed < 2 * 2 + 1


def image_result(blob: RawServer):
    url = f"http://localhost:{blob.port}/private/images/x/generated_00.png?se=1&sig=abc"
    body = {"id": RAW_OP_ID, "status": "succeeded", "result": {"data": [{"url": url}]}}
    return url, lambda r, s: http_response(200, body)


@pytest.mark.parametrize("retries", [0, 1])
async def test_image_body_at_one_byte_a_gap_is_a_fetch_timeout(retries):
    """Each byte comes inside the read timeout; the fetch still ends, with a clear error."""
    head = b"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nContent-Length: {len}\r\n\r\n"
    async with RawServer(lambda r, s: drip_body(head, length=5000)) as blob:
        url, poll = image_result(blob)
        async with RawServer(raw_api(poll=poll)) as api_srv:
            conn = conn_for(api_srv, timeout=1.5, max_retries=retries)
            async with fast_client(conn) as client:
                exc, elapsed = await ended(client.fetch_image(url), 30)
    assert isinstance(exc, aw.ImageFetchError), repr(exc)
    assert "timed out" in exc.reason and "sig=abc" not in str(exc)
    assert len(blob.requests) == retries + 1
    assert elapsed < 2 * 1.5 * (retries + 1) + 1


async def test_image_headers_that_drip_are_a_fetch_timeout():
    async with RawServer(lambda r, s: drip_headers()) as blob:
        url, poll = image_result(blob)
        async with RawServer(raw_api(poll=poll)) as api_srv:
            async with fast_client(conn_for(api_srv, timeout=1.5)) as client:
                exc, elapsed = await ended(client.fetch_image(url), 30)
    assert isinstance(exc, aw.ImageFetchError), repr(exc)
    assert elapsed < 2 * 1.5 + 1


async def test_a_prompt_answer_is_not_cut_by_the_total_deadline():
    """The bound is on the whole exchange, not on a healthy one: a quick answer still works."""
    ok = {"id": RAW_OP_ID, "status": "succeeded", "result": {"data": [{"url": "http://x/y.png"}]}}
    async with RawServer(raw_api(poll=lambda r, s: http_response(200, ok),
                                 submit=lambda r, s: submit_ok(s))) as srv:
        async with fast_client(conn_for(srv, timeout=1.0)) as client:
            res = await client.generate("a fox", size="256x256", timeout=3)
    assert res.succeeded and res.urls == ["http://x/y.png"]


async def test_a_submit_held_back_by_its_quota_pace_is_not_cut_by_the_deadline():
    """The deadline is the server's time: a pace holding a submit for longer than the request
    timeout (the second of two 1-image submits at 60 images a minute waits ~1 s) still sends it."""
    async with RawServer(raw_api(poll=lambda r, s: http_response(500, b""))) as srv:
        conn = conn_for(srv, timeout=0.4, images_per_minute=60)
        async with ImageClient(conn) as client:  # the pace really waits (fast_client's would not)
            t0 = time.monotonic()
            first = await client.request_image("a fox", size="256x256")
            second = await client.request_image("a cat", size="256x256")
            waited = time.monotonic() - t0
    assert first.id == second.id == RAW_OP_ID
    assert waited > 0.4  # the pace did hold the second one back for longer than the timeout
    assert sum(r.method == "POST" for r in srv.requests) == 2


async def test_a_caller_cancelling_mid_exchange_gets_cancelled_not_a_timeout():
    """The exchange's own deadline never swallows the caller's cancellation."""
    async with RawServer(raw_api(poll=lambda r, s: never_answers())) as srv:
        async with fast_client(conn_for(srv, timeout=30.0)) as client:
            task = asyncio.ensure_future(client.get_operation(RAW_OP_ID))
            while not srv.requests:
                await asyncio.sleep(0.01)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert task.cancelled()
