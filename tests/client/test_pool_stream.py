"""A pool's streamed generation fails over like a submit, but only before its first event:
raw loopback servers answer each member as scripted."""
from __future__ import annotations

import asyncio
import base64
import io
import json
import socket

import pytest
from fakes import FAKE_KEY
from helpers import RawServer, http_response
from PIL import Image

import azimage_widgets as aw
from azimage_widgets.client import PooledImageClient

DEP = "my-gpt-image-2"


def _png() -> str:
    buf = io.BytesIO()
    Image.new("RGB", (16, 16), (200, 30, 30)).save(buf, "PNG")
    return base64.b64encode(buf.getvalue()).decode()


B64 = _png()
PARTIALS = [{"type": "image_generation.partial_image", "b64_json": B64, "partial_image_index": i}
            for i in range(2)]
DONE = {"type": "image_generation.completed", "b64_json": B64, "usage": {"total_tokens": 7}}
SSE_HEAD = (b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n")


def chunk(body: dict) -> bytes:
    data = f"event: {body['type']}\ndata: {json.dumps(body)}\n\n".encode()
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


def streams(*, cut_after: int | None = None):
    """A handler streaming the partials and the completed event (or cut after ``cut_after``
    partials: the connection ends mid-stream)."""
    def handler(req, srv):
        async def write(writer):
            writer.write(SSE_HEAD)
            for i, partial in enumerate(PARTIALS):
                if cut_after is not None and i == cut_after:
                    await writer.drain()
                    return
                writer.write(chunk(partial))
                await writer.drain()
                await asyncio.sleep(0.05)
            writer.write(chunk(DONE) + b"0\r\n\r\n")
            await writer.drain()
        return write
    return handler


def unavailable(req, srv):
    return http_response(503, {"error": {"code": "ServiceUnavailable", "message": "busy"}})


def member(endpoint: str) -> aw.Connection:
    return aw.Connection(endpoint, api_key=FAKE_KEY, api_version="v1", deployment=DEP,
                         max_retries=0)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_a_503_before_the_stream_goes_to_the_next_member():
    async with RawServer(unavailable) as busy, RawServer(streams()) as fine:
        pool = aw.Connection.pool([member(busy.base), member(fine.base)])
        async with PooledImageClient(pool) as client:
            events = [e async for e in client.stream_image("fox", partial_images=2)]
            stats = client.stats()
            again = await client.download_image(events[-1].id)  # filed on the member that streamed
    assert [type(e).__name__ for e in events] == ["PartialImage", "PartialImage", "ImageResult"]
    assert again == events[-1]
    assert len(busy.requests) == 1 and len(fine.requests) == 1
    assert stats[0]["failed"] == 1 and stats[0]["cooling_for"] > 0  # the 503 cooled it
    assert stats[1]["submitted"] == 1


async def test_a_member_that_cannot_be_reached_is_passed_over():
    async with RawServer(streams()) as fine:
        pool = aw.Connection.pool([member(f"http://127.0.0.1:{closed_port()}"),
                                   member(fine.base)])
        async with PooledImageClient(pool) as client:
            events = [e async for e in client.stream_image("fox", partial_images=2)]
    assert isinstance(events[-1], aw.ImageResult) and len(fine.requests) == 1


async def test_a_failure_after_the_first_partial_is_the_callers():
    async with RawServer(streams(cut_after=1)) as first, RawServer(streams()) as second:
        pool = aw.Connection.pool([member(first.base), member(second.base)])
        got: list = []
        async with PooledImageClient(pool) as client:
            with pytest.raises(aw.ApiError):
                async for event in client.stream_image("fox", partial_images=2):
                    got.append(event)
    assert [e.partial_index for e in got] == [0]  # handed on once, never repeated
    assert len(first.requests) == 1 and second.requests == []  # not sent again anywhere


async def test_refused_input_tries_no_member():
    async with RawServer(streams()) as fine:
        pool = aw.Connection.pool([member(fine.base)])
        async with PooledImageClient(pool) as client:
            with pytest.raises(aw.ValidationError) as ei:
                async for _ in client.stream_image("fox", size="1000x1000"):
                    pass
    assert ei.value.field == "size" and fine.requests == []


async def test_an_edit_fails_over_too_and_downloads_by_id():
    def images(req, srv):
        return http_response(200, {"created": 1700000000, "data": [{"b64_json": B64}]})

    async with RawServer(unavailable) as busy, RawServer(images) as fine:
        pool = aw.Connection.pool([member(busy.base), member(fine.base)])
        async with PooledImageClient(pool) as client:
            op = await client.edit_image([base64.b64decode(B64)], "on a beach")
            res = await client.download_image(op.id)
    assert res.items[0].b64_json == B64
    assert len(busy.requests) == 1 and [r.path for r in fine.requests] == [
        "/openai/v1/images/edits?api-version=preview"]
