"""Malformed service answers end in clear errors, within the client's timeout.

A purpose-built raw-socket HTTP server on 127.0.0.1 (asyncio, in the test's
own loop) plays a broken Azure endpoint or blob host: bad JSON, missing and
mistyped fields, huge bodies, decompression-bomb PNGs, a server that stalls
mid-body. Each case must end in ApiError / ImageFetchError /
OperationTimeout (never a KeyError, TypeError or a hang), quickly.
"""
from __future__ import annotations

import asyncio
import struct
import time
import zlib
from collections.abc import Callable
from typing import Any

import pytest
from helpers import RAW_OP_ID as OP_ID
from helpers import RawRequest, RawServer, fast_client, http_response, submit_ok
from helpers import raw_api as api

import azimage_widgets as aw
from azimage_widgets.client import Connection, ImageClient

KEY = "malformed-fake-key-7f3a9c"


def conn_for(srv: RawServer, **kw: Any) -> Connection:
    kw.setdefault("timeout", 1.0)
    kw.setdefault("max_retries", 1)
    kw.setdefault("poll_timeout", 5.0)
    return Connection(srv.base, api_key=KEY, **kw)


async def generate_error(handler, *, budget: float = 6.0, conn_kw: dict | None = None,
                         call: str = "generate") -> tuple[BaseException, float, RawServer]:
    """Run ``generate`` against ``handler``; the exception it ended with and how long it took."""
    async with RawServer(handler) as srv:
        async with fast_client(conn_for(srv, **(conn_kw or {}))) as client:
            t0 = time.monotonic()
            with pytest.raises(Exception) as ei:
                await asyncio.wait_for(client.generate("a fox", size="256x256", timeout=3.0), budget)
            elapsed = time.monotonic() - t0
    exc = ei.value
    assert not isinstance(exc, asyncio.TimeoutError) or isinstance(exc, aw.OperationTimeout), \
        f"the client hung past {budget} s"
    assert KEY not in str(exc)
    return exc, elapsed, srv


# -- submit answers ---------------------------------------------------------------------------

SUBMIT_CASES = {
    "not json": lambda r, s: http_response(202, b"{not json"),
    "json array": lambda r, s: http_response(202, [1, 2, 3]),
    "empty body, no location": lambda r, s: http_response(202, b""),
    "id is a number, no location": lambda r, s: http_response(202, {"id": 17, "status": "notRunning"}),
    "html error page": lambda r, s: http_response(502, b"<html>bad gateway</html>", content_type="text/html"),
    "400 with odd error shape": lambda r, s: http_response(400, {"error": "just a string"}),
    "401 with no body": lambda r, s: http_response(401, b""),
}


@pytest.mark.parametrize("case", list(SUBMIT_CASES))
async def test_bad_submit_answers_are_api_errors(case):
    exc, elapsed, srv = await generate_error(api(submit=SUBMIT_CASES[case],
                                                 poll=lambda r, s: http_response(500, b"")))
    assert isinstance(exc, aw.ApiError), repr(exc)
    assert exc.message, repr(exc)
    assert elapsed < 3.0
    assert not any(r.method == "GET" for r in srv.requests) or case == "json array"


# -- poll answers --------------------------------------------------------------------------------

def poll_json(body: Any, status: int = 200) -> Callable[[RawRequest, RawServer], bytes]:
    return lambda r, s: http_response(status, body)


POLL_CASES = {
    "not json": lambda r, s: http_response(200, b"<<<"),
    "truncated json": lambda r, s: http_response(200, b'{"id": "op", "status": "succ'),
    "json null": poll_json(None),
    "json string": poll_json("succeeded"),
    "missing id": poll_json({"status": "succeeded", "result": {"data": [{"url": "http://x/y.png"}]}}),
    "id is a list": poll_json({"id": [OP_ID], "status": "succeeded"}),
    "unknown status": poll_json({"id": OP_ID, "status": "done"}),
    "status is a number": poll_json({"id": OP_ID, "status": 3}),
    "data not a list": poll_json({"id": OP_ID, "status": "succeeded", "result": {"data": {"url": "u"}}}),
    "data item a string": poll_json({"id": OP_ID, "status": "succeeded", "result": {"data": ["http://x"]}}),
    "url is a number": poll_json({"id": OP_ID, "status": "succeeded", "result": {"data": [{"url": 5}]}}),
    "item with nothing": poll_json({"id": OP_ID, "status": "succeeded", "result": {"data": [{}]}}),
    "failed without error": poll_json({"id": OP_ID, "status": "failed"}),
    "failed with odd error": poll_json({"id": OP_ID, "status": "failed", "error": ["x"]}),
    "404 not found": poll_json({"error": {"code": "404", "message": "Resource not found"}}, 404),
    "always 500": lambda r, s: http_response(500, b"oops"),
}


@pytest.mark.parametrize("case", list(POLL_CASES))
async def test_bad_poll_answers_are_clear_errors(case):
    exc, elapsed, _ = await generate_error(api(poll=POLL_CASES[case]))
    assert isinstance(exc, (aw.ApiError, aw.ValidationError, aw.ImageFetchError)), repr(exc)
    assert elapsed < 4.0
    text = str(exc)
    assert text and "Traceback" not in text


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://x/y.png", "/relative.png", "javascript:x"])
async def test_result_url_that_is_not_http_is_refused_at_fetch(url):
    async with RawServer(api(poll=poll_json({"id": OP_ID, "status": "succeeded",
                                             "result": {"data": [{"url": url}]}}))) as srv:
        async with fast_client(conn_for(srv)) as client:
            res = await client.generate("a fox", timeout=3)
            with pytest.raises(aw.ValidationError) as ei:
                await client.fetch_image(res.items[0].url)
    assert ei.value.field == "url"
    assert [r.method for r in srv.requests] == ["POST", "GET"]  # nothing fetched


async def test_succeeded_without_images_is_not_silently_empty():
    """``succeeded`` with no data at all: either an error, or a result that plainly has no images."""
    async with RawServer(api(poll=poll_json({"id": OP_ID, "status": "succeeded"}))) as srv:
        async with fast_client(conn_for(srv)) as client:
            try:
                res = await client.generate("a fox", timeout=3)
            except aw.ApiError:
                return
    assert res.urls == [] and res.errors == []


async def test_poll_that_never_ends_is_an_operation_timeout():
    running = poll_json({"id": OP_ID, "status": "running"})
    exc, elapsed, srv = await generate_error(api(poll=running))
    assert isinstance(exc, aw.OperationTimeout)
    assert exc.operation_id == OP_ID and exc.last_status == "running"
    assert 2.5 < elapsed < 4.5
    assert len(srv.requests) < 60  # backoff, not a spin


async def test_poll_retry_after_huge_is_capped_by_the_timeout():
    def answer(r, s):
        return http_response(200, {"id": OP_ID, "status": "running"}, headers={"Retry-After": "100000"})

    exc, elapsed, _ = await generate_error(api(poll=answer))
    assert isinstance(exc, aw.OperationTimeout)
    assert elapsed < 4.5


# -- huge bodies -------------------------------------------------------------------------------------

HUGE = 48 * 1024 * 1024  # the server offers this much, then stalls


def endless(status_line: bytes = b"HTTP/1.1 200 OK", declared: int | None = None,
            chunk: bytes = b" " * 65536):
    async def write(w: asyncio.StreamWriter, srv: RawServer) -> None:
        length = f"Content-Length: {declared}\r\n".encode() if declared else b"Transfer-Encoding: chunked\r\n"
        w.write(status_line + b"\r\nContent-Type: application/json\r\n" + length + b"\r\n")
        while srv.sent < HUGE:
            piece = chunk if declared else b"%x\r\n%s\r\n" % (len(chunk), chunk)
            w.write(piece)
            srv.sent += len(piece)
            await w.drain()
        await asyncio.sleep(30)
    return write


async def test_huge_poll_body_is_refused_early():
    def handler(req, srv):
        if req.method == "POST":
            return submit_ok(srv)
        return lambda w: endless(declared=None)(w, srv)
    exc, elapsed, srv = await generate_error(handler, budget=8.0)
    assert isinstance(exc, aw.ApiError), repr(exc)
    assert exc.code == "responseTooLarge" and "cap" in exc.message, exc
    # a JSON operation answer is a few kB: reading 48 MB of it is a client that would read forever
    assert srv.sent < 16 * 1024 * 1024, f"client kept reading {srv.sent} bytes"


async def test_huge_poll_body_ends_in_a_clear_error_within_timeout():
    """Whatever the cap, an endless answer ends in ApiError (here: the read stalls after 48 MB)."""
    def handler(req, srv):
        if req.method == "POST":
            return submit_ok(srv)
        return lambda w: endless(declared=None)(w, srv)
    exc, elapsed, srv = await generate_error(handler, budget=12.0, conn_kw={"max_retries": 0})
    assert isinstance(exc, (aw.ApiError, aw.OperationTimeout)), repr(exc)
    assert elapsed < 10.0


async def test_submit_answer_declaring_a_huge_length_is_refused_before_reading():
    exc, elapsed, srv = await generate_error(
        api(submit=lambda r, s: lambda w: endless(b"HTTP/1.1 202 Accepted", declared=10**10)(w, s)))
    assert isinstance(exc, aw.ApiError) and exc.code == "responseTooLarge", repr(exc)
    assert srv.sent < 8 * 1024 * 1024 and elapsed < 3
    assert sum(r.method == "POST" for r in srv.requests) == 1  # not resent


async def test_huge_error_body_is_refused_too():
    exc, elapsed, srv = await generate_error(
        api(poll=lambda r, s: lambda w: endless(b"HTTP/1.1 400 Bad Request")(w, s)))
    assert isinstance(exc, aw.ApiError) and exc.code == "responseTooLarge", repr(exc)
    assert exc.status_code == 400 and srv.sent < 16 * 1024 * 1024


async def test_trickling_poll_body_ends_within_the_timeout():
    """One byte every 0.2 s never trips the 1 s read timeout: the whole body's budget does."""
    async def trickle(w):
        w.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n")
        for _ in range(500):
            w.write(b" ")
            await w.drain()
            await asyncio.sleep(0.2)
    exc, elapsed, _ = await generate_error(api(poll=lambda r, s: trickle), conn_kw={"max_retries": 0})
    assert isinstance(exc, (aw.ApiError, aw.OperationTimeout)), repr(exc)
    if isinstance(exc, aw.ApiError):
        assert exc.code == "timeout"
    assert elapsed < 4.5


def test_answer_caps_per_flow():
    from azimage_widgets.client.capped import (
        MAX_API_RESPONSE_BYTES,
        MAX_B64_RESPONSE_BYTES,
        MAX_POLL_RESPONSE_BYTES,
        answer_cap,
    )
    assert answer_cap("2023-06-01-preview", None, poll=True) == MAX_POLL_RESPONSE_BYTES
    assert answer_cap("2023-06-01-preview", "b64_json", poll=True) == MAX_B64_RESPONSE_BYTES
    assert answer_cap("2024-10-21", None) == MAX_API_RESPONSE_BYTES  # dall-e-3: url by default
    assert answer_cap("2024-10-21", "b64_json") == MAX_B64_RESPONSE_BYTES
    assert answer_cap("2025-04-01-preview", None) == MAX_B64_RESPONSE_BYTES  # gpt-image-1: b64 only


async def test_big_b64_answer_of_the_synchronous_flow_is_read():
    """A gpt-image-1 answer of several MB of base64 per image is under its (64 MB) cap."""
    import base64

    import httpx
    b64 = base64.b64encode(b"\x00" * (6 * 1024 * 1024)).decode()  # 8 MB of base64, one image

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"created": 1, "data": [{"b64_json": b64}]})

    conn = Connection("https://res.openai.azure.com", api_key=KEY, api_version="2025-04-01-preview",
                      deployment="gpt-image-1")
    async with ImageClient(conn, transport=httpx.MockTransport(answer)) as client:
        op = await client.request_image("a fox")
        res = await client.download_image(op.id)
    assert res.items[0].b64_json == b64


def image_answer(img: bytes | Callable, *, status: int = 200):
    """An API that succeeds with one image on a second RawServer (the 'blob host')."""
    return img, status


async def fetch_error(image_handler, *, max_image_bytes: int = 2 * 1024 * 1024,
                      budget: float = 8.0, timeout: float = 1.0) -> tuple[BaseException, float, RawServer]:
    async with RawServer(image_handler) as blob:
        async with RawServer(lambda r, s: b"") as api_srv:
            # the image host is a different origin: localhost vs 127.0.0.1
            url = f"http://localhost:{blob.port}/private/images/x/generated_00.png?se=1&sig=abc"
            api_srv.handler = api(poll=poll_json({"id": OP_ID, "status": "succeeded",
                                                  "result": {"data": [{"url": url}]}}))
            conn = conn_for(api_srv, timeout=timeout, max_retries=0)
            async with fast_client(conn, max_image_bytes=max_image_bytes) as client:
                res = await client.generate("a fox", timeout=3)
                t0 = time.monotonic()
                with pytest.raises(Exception) as ei:
                    await asyncio.wait_for(client.fetch_image(res.urls[0]), budget)
                elapsed = time.monotonic() - t0
    assert not isinstance(ei.value, asyncio.TimeoutError), "fetch hung"
    assert "sig=abc" not in str(ei.value) and KEY not in str(ei.value)
    for r in blob.requests:
        assert "api-key" not in r.headers and "authorization" not in r.headers
    return ei.value, elapsed, blob


async def test_huge_image_with_declared_length_is_refused_before_reading():
    exc, elapsed, blob = await fetch_error(lambda r, s: lambda w: endless(declared=10**10)(w, s))
    assert isinstance(exc, aw.ImageFetchError) and "cap" in exc.reason
    assert blob.sent < 8 * 1024 * 1024
    assert elapsed < 3


async def test_huge_chunked_image_is_cut_at_the_cap():
    exc, elapsed, blob = await fetch_error(lambda r, s: lambda w: endless(declared=None)(w, s))
    assert isinstance(exc, aw.ImageFetchError) and "cap" in exc.reason
    assert blob.sent < 8 * 1024 * 1024
    assert elapsed < 3


# -- decompression bombs and bad images ------------------------------------------------------------------

def png_header_only(width: int, height: int, mode: int = 0, rows: int = 4) -> bytes:
    """A tiny PNG that declares width x height 8-bit pixels (grey if mode 0) with a few rows of data."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, mode, 0, 0, 0)
    raw = zlib.compress(b"\x00" * ((width + 1) * rows))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")


@pytest.mark.parametrize("w,h", [(30000, 30000), (10000, 10000), (1, 100_000_000)])
async def test_decompression_bomb_png_is_refused(w, h):
    bomb = png_header_only(w, h, rows=1)
    assert len(bomb) < 200_000
    exc, elapsed, _ = await fetch_error(lambda r, s: http_response(200, bomb, content_type="image/png"))
    assert isinstance(exc, aw.ImageFetchError), repr(exc)
    assert "bomb" in exc.reason or "too large" in exc.reason
    assert elapsed < 3


def real_png(size: int = 64) -> bytes:
    import io
    import os as _os

    from PIL import Image
    buf = io.BytesIO()
    Image.frombytes("RGB", (size, size), _os.urandom(size * size * 3)).save(buf, format="PNG")
    return buf.getvalue()


@pytest.mark.parametrize("body", [b"", b"GIF89a not really", png_header_only(64, 64)[:40],
                                  real_png()[: len(real_png()) * 2 // 3]],  # cut mid pixel data
                         ids=["empty", "not-gif", "cut-header", "cut-pixels"])
async def test_not_an_image_is_refused(body):
    exc, _, _ = await fetch_error(lambda r, s: http_response(200, body, content_type="image/png"))
    assert isinstance(exc, aw.ImageFetchError), repr(exc)


@pytest.mark.parametrize("status", [403, 404, 409, 410])
async def test_expired_or_refused_link(status):
    exc, _, _ = await fetch_error(lambda r, s: http_response(status, b"AuthenticationFailed"))
    assert isinstance(exc, aw.ImageFetchError) and exc.status_code == status
    assert "expired" in exc.reason or "refused" in exc.reason


# -- stalls ---------------------------------------------------------------------------------------

def stall_after(head: bytes, first: bytes, declared: int):
    async def write(w: asyncio.StreamWriter) -> None:
        w.write(head.replace(b"{len}", str(declared).encode()) + first)
        await w.drain()
        await asyncio.sleep(30)
    return write


def stall_json():
    return stall_after(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len}\r\n\r\n",
                       b'{"id": "', 400)


async def test_submit_that_stalls_mid_body_is_a_timeout_not_resent():
    exc, elapsed, srv = await generate_error(api(submit=lambda r, s: stall_json(), poll=None))
    assert isinstance(exc, aw.ApiError) and exc.code == "timeout", repr(exc)
    assert elapsed < 2.5
    assert sum(r.method == "POST" for r in srv.requests) == 1  # may have been accepted: not resent


async def test_poll_that_stalls_mid_body_is_a_timeout():
    exc, elapsed, _ = await generate_error(api(poll=lambda r, s: stall_json()))
    assert isinstance(exc, (aw.ApiError, aw.OperationTimeout)), repr(exc)
    if isinstance(exc, aw.ApiError):
        assert exc.code == "timeout"
    assert elapsed < 4.5


async def test_server_that_never_answers_headers_is_a_timeout():
    async def silent(w):
        await asyncio.sleep(30)
    exc, elapsed, _ = await generate_error(api(submit=lambda r, s: silent))
    assert isinstance(exc, aw.ApiError) and exc.code == "timeout", repr(exc)
    assert elapsed < 2.5


async def test_image_that_stalls_mid_body_is_a_fetch_error():
    head = b"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nContent-Length: {len}\r\n\r\n"
    exc, elapsed, _ = await fetch_error(lambda r, s: stall_after(head, b"\x89PNG\r\n\x1a\n", 5000))
    assert isinstance(exc, aw.ImageFetchError), repr(exc)
    assert elapsed < 3


async def test_connection_closed_mid_body():
    async def cut(w):
        w.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{\"id\"")
        await w.drain()
    exc, elapsed, _ = await generate_error(api(poll=lambda r, s: cut))
    assert isinstance(exc, aw.ApiError) and exc.code in ("connectionError", "timeout"), repr(exc)
    assert elapsed < 3
