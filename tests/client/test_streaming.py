"""stream_image: partial images as they arrive, then the result; against the emulator and a raw
loopback server that controls each byte and pause."""
from __future__ import annotations

import asyncio
import base64
import contextlib
import io
import json
import time

import pytest
from fakes import FAKE_KEY
from PIL import Image

import azimage_widgets as aw
from azimage_widgets.client import ImageClient

DEP = "my-gpt-image-2"


@pytest.fixture
def emu_v1():
    from azimage_widgets import emulator

    handle = emulator.start(api_key=FAKE_KEY, processing_time=0.6, retry_after=None)
    try:
        yield handle
    finally:
        handle.stop()


def png(width=64, height=64, mode="RGB", color=(200, 30, 30)):
    buf = io.BytesIO()
    Image.new(mode, (width, height), color).save(buf, "PNG")
    return buf.getvalue()


async def collect(agen):
    return [e async for e in agen]


# -- against the emulator ----------------------------------------------------------------------

async def test_stream_partials_then_the_result(emu_v1):
    conn = aw.Connection(emu_v1.endpoint, api_key=FAKE_KEY, api_version="v1", deployment=DEP)
    async with ImageClient(conn) as client:
        events = await collect(client.stream_image("a red fox", partial_images=2, quality="low",
                                                   size="1024x1024"))
        *partials, final = events
        assert [type(p) for p in partials] == [aw.PartialImage, aw.PartialImage]
        assert [p.partial_index for p in partials] == [0, 1]
        assert all(p.image_bytes.startswith(b"\x89PNG") for p in partials)
        assert Image.open(io.BytesIO(partials[0].image_bytes)).size == (1024, 1024)
        assert isinstance(final, aw.ImageResult) and final.succeeded and len(final.items) == 1
        assert final.usage and final.usage["total_tokens"] > 0
        assert await client.download_image(final.id) == final


async def test_stream_n_images_sums_usage(emu_v1):
    conn = aw.Connection(emu_v1.endpoint, api_key=FAKE_KEY, api_version="v1", deployment=DEP)
    async with ImageClient(conn) as client:
        events = await collect(client.stream_image("two foxes", partial_images=1, n=2,
                                                   size="1024x1024", quality="low"))
    partials, final = events[:-1], events[-1]
    assert [p.image_index for p in partials] == [0, 1]
    assert len(final.items) == 2
    # two completed events of the same size and quality cost the same: the sum is even
    assert final.usage["output_tokens"] % 2 == 0 and final.usage["output_tokens"] > 0


@pytest.mark.parametrize("version", ["v1", "2025-04-01-preview"])
async def test_stream_an_edit(emu_v1, version):
    conn = aw.Connection(emu_v1.endpoint, api_key=FAKE_KEY, api_version=version, deployment=DEP)
    mask = png(256, 256, mode="RGBA", color=(0, 0, 0, 0))
    async with ImageClient(conn) as client:
        events = await collect(client.stream_image(
            "on a beach", image=[png(256, 256), png(128, 128)], mask=mask, partial_images=2,
            input_fidelity="high"))
    assert [e.type for e in events[:-1]] == ["image_edit.partial_image"] * 2
    assert isinstance(events[-1], aw.ImageResult) and events[-1].succeeded


async def test_stream_refused_before_sending(emu_v1):
    conn = aw.Connection(emu_v1.endpoint, api_key=FAKE_KEY, api_version="v1", deployment=DEP)
    async with ImageClient(conn) as client:
        with pytest.raises(aw.ValidationError) as ei:
            await collect(client.stream_image("fox", partial_images=4))
        assert ei.value.field == "partial_images"
        with pytest.raises(aw.ValidationError) as ei:
            await collect(client.stream_image("fox", size="1000x1000"))
        assert "multiples of 16" in str(ei.value)
    assert not [r for r in emu_v1.requests if r.listener == "api"]


# -- a raw loopback server ----------------------------------------------------------------------

def sse(body: dict) -> bytes:
    return f"event: {body['type']}\ndata: {json.dumps(body)}\n\n".encode()


B64 = base64.b64encode(png(16, 16)).decode()
PARTIAL = {"type": "image_generation.partial_image", "b64_json": B64, "partial_image_index": 0}
DONE = {"type": "image_generation.completed", "b64_json": B64,
        "usage": {"total_tokens": 10, "input_tokens": 4, "output_tokens": 6}}


class RawServer:
    """Answers each request with the next script: ``async script(reader, writer)``."""

    def __init__(self, *scripts):
        self.scripts = list(scripts)
        self.requests = 0
        self.heads: list[bytes] = []

    async def handle(self, reader, writer):
        self.requests += 1
        head = await reader.readuntil(b"\r\n\r\n")
        self.heads.append(head.lower())
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        await reader.readexactly(length)
        script = self.scripts.pop(0)
        try:
            await script(reader, writer)
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    async def __aenter__(self):
        self.server = await asyncio.start_server(self.handle, "127.0.0.1", 0)
        port = self.server.sockets[0].getsockname()[1]
        self.endpoint = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc):
        self.server.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.server.wait_closed(), 2)


SSE_HEAD = (b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n")


def chunk(data: bytes) -> bytes:
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


def conn_to(endpoint, **kw):
    return aw.Connection(endpoint, api_key=FAKE_KEY, api_version="v1", deployment=DEP, **kw)


async def test_an_event_is_handed_on_before_the_next_arrives():
    pause = 3.0
    sent_at = {}

    async def script(reader, writer):
        writer.write(SSE_HEAD + chunk(sse(PARTIAL)))
        await writer.drain()
        sent_at["partial"] = time.monotonic()
        await asyncio.sleep(pause)
        writer.write(chunk(sse(DONE)) + b"0\r\n\r\n")
        await writer.drain()

    async with RawServer(script) as srv, ImageClient(conn_to(srv.endpoint)) as client:
        stream = client.stream_image("fox", partial_images=1)
        first = await stream.__anext__()
        got_at = time.monotonic()
        rest = await collect(stream)
    assert isinstance(first, aw.PartialImage) and first.partial_index == 0
    assert f"api-key: {FAKE_KEY}".encode() in srv.heads[0]  # the credentials, as on every call
    assert b"post /openai/v1/images/generations?api-version=preview" in srv.heads[0]
    assert got_at - sent_at["partial"] < pause / 2  # not held back behind the completed event
    assert isinstance(rest[-1], aw.ImageResult) and rest[-1].usage["total_tokens"] == 10


async def test_closing_the_generator_closes_the_connection():
    srv_holder = {}

    async def script(reader, writer):
        writer.write(SSE_HEAD + chunk(sse(PARTIAL)))
        await writer.drain()
        try:
            await asyncio.wait_for(reader.read(1), 10)  # b"" once the client closed
            srv_holder["closed_at"] = time.monotonic()
        except asyncio.TimeoutError:
            pass

    async with RawServer(script) as srv, ImageClient(conn_to(srv.endpoint)) as client:
        stream = client.stream_image("fox", partial_images=2)
        assert isinstance(await stream.__anext__(), aw.PartialImage)
        closed = time.monotonic()
        await stream.aclose()
        for _ in range(100):
            if "closed_at" in srv_holder:
                break
            await asyncio.sleep(0.05)
    assert "closed_at" in srv_holder and srv_holder["closed_at"] - closed < 5


async def test_retried_before_the_first_byte_only():
    async def throttled(reader, writer):
        body = b'{"error": {"code": "429", "message": "slow down"}}'
        writer.write(b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 0\r\n"
                     b"Content-Type: application/json\r\nContent-Length: "
                     + str(len(body)).encode() + b"\r\n\r\n" + body)
        await writer.drain()

    async def cut(reader, writer):
        writer.write(SSE_HEAD + chunk(sse(PARTIAL)))
        await writer.drain()  # then the connection ends without the completed event

    async def fine(reader, writer):
        writer.write(SSE_HEAD + chunk(sse(PARTIAL)) + chunk(sse(DONE)) + b"0\r\n\r\n")
        await writer.drain()

    async with RawServer(throttled, fine) as srv, ImageClient(conn_to(srv.endpoint)) as client:
        events = await collect(client.stream_image("fox", partial_images=1))
    assert srv.requests == 2 and isinstance(events[-1], aw.ImageResult)

    async with RawServer(cut, fine) as srv, ImageClient(conn_to(srv.endpoint)) as client:
        with pytest.raises(aw.ApiError):
            await collect(client.stream_image("fox", partial_images=1))
    assert srv.requests == 1  # a stream cut after its first byte is not sent again


async def test_the_deadline_ends_a_stalled_stream():
    async def stall(reader, writer):
        writer.write(SSE_HEAD + chunk(sse(PARTIAL)))
        await writer.drain()
        await asyncio.sleep(20)

    async with RawServer(stall) as srv, ImageClient(conn_to(srv.endpoint)) as client:
        started = time.monotonic()
        with pytest.raises(aw.ApiError) as ei:
            await collect(client.stream_image("fox", partial_images=1, timeout=1.0))
        elapsed = time.monotonic() - started
    assert ei.value.code == "timeout" and elapsed < 2.0 + 1.0


async def test_an_endless_event_is_capped(monkeypatch):
    from azimage_widgets.client import streaming

    monkeypatch.setattr(streaming, "MAX_EVENT_BYTES", 64 * 1024)

    async def endless(reader, writer):
        writer.write(SSE_HEAD + chunk(b"data: {\"type\": \"image_generation.partial_image\", "
                                      b"\"b64_json\": \""))
        for _ in range(200):  # 200 x 8 KiB, never a line end
            writer.write(chunk(b"A" * 8192))
            await writer.drain()
        await asyncio.sleep(5)

    async with RawServer(endless) as srv, ImageClient(conn_to(srv.endpoint)) as client:
        with pytest.raises(aw.ApiError) as ei:
            await collect(client.stream_image("fox", partial_images=1))
    assert ei.value.code == "responseTooLarge"


async def test_an_error_event_is_redacted():
    async def leaky(reader, writer):
        body = {"type": "error", "error": {"code": "server_error",
                                           "message": f"boom with key {FAKE_KEY}"}}
        writer.write(SSE_HEAD + chunk(b"event: error\ndata: " + json.dumps(body).encode()
                                      + b"\n\n") + b"0\r\n\r\n")
        await writer.drain()

    async with RawServer(leaky) as srv, ImageClient(conn_to(srv.endpoint)) as client:
        with pytest.raises(aw.ApiError) as ei:
            await collect(client.stream_image("fox", partial_images=1))
    assert ei.value.code == "server_error"
    assert FAKE_KEY not in str(ei.value) and FAKE_KEY not in repr(ei.value)
