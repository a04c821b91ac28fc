"""A hostile or broken service cannot crash the client or make it hoard memory.

Real HTTP on loopback (helpers.RawServer). Numbers and nesting the contract
cannot hold, and more images than were asked for, are ApiError
("invalidResponse"), never OverflowError / ValueError / RecursionError;
error bodies of that kind still give the HTTP status and a readable
message; image fetches run a few at a time.
"""
from __future__ import annotations

import asyncio
import json

import pytest
from helpers import RAW_OP_ID, RawServer, fast_client, http_response, raw_api

import azimage_widgets as aw
from azimage_widgets.client import Connection

KEY = "hostile-fake-key-93b0"
DEEP = 200_000


def conn_for(srv: RawServer, **kw) -> Connection:
    kw.setdefault("timeout", 2.0)
    kw.setdefault("max_retries", 0)
    kw.setdefault("poll_timeout", 5.0)
    return Connection(srv.base, api_key=KEY, **kw)


def raw(status: int, text: str):
    return lambda r, s: http_response(status, text.encode())


def succeeded(urls: int, **fields) -> dict:
    data = [{"url": f"http://127.0.0.1:9/img/{i}.png"} for i in range(urls)]
    return {"id": RAW_OP_ID, "status": "succeeded", "result": {"data": data}, **fields}


def deep(depth: int = DEEP) -> str:
    return "[" * depth + "]" * depth


async def generate_failure(poll, *, n: int = 1) -> BaseException:
    async with RawServer(raw_api(poll=poll)) as srv:
        async with fast_client(conn_for(srv)) as client:
            with pytest.raises(Exception) as ei:
                await asyncio.wait_for(client.generate("a fox", size="256x256", n=n, timeout=3), 15)
    assert KEY not in str(ei.value)
    return ei.value


def assert_invalid(exc: BaseException) -> None:
    assert isinstance(exc, aw.ApiError), repr(exc)
    assert exc.code == "invalidResponse", repr(exc)
    assert exc.message and "Traceback" not in exc.message


# -- more images than asked for ----------------------------------------------------------------

@pytest.mark.parametrize("n,got", [(1, 2), (2, 3), (1, 20_000)])
async def test_poll_with_more_images_than_asked_is_invalid(n, got):
    exc = await generate_failure(lambda r, s: http_response(200, succeeded(got)), n=n)
    assert_invalid(exc)
    assert f"{got} images" in exc.message


async def test_poll_with_as_many_images_as_asked_is_fine():
    async with RawServer(raw_api(poll=lambda r, s: http_response(200, succeeded(3)))) as srv:
        async with fast_client(conn_for(srv)) as client:
            res = await client.generate("a fox", size="256x256", n=3, timeout=3)
    assert len(res.urls) == 3


async def test_operation_not_submitted_here_is_held_to_the_versions_most():
    """Polling an id this client did not submit: n is unknown, the version's most is the cap."""
    async with RawServer(raw_api(poll=lambda r, s: http_response(200, succeeded(20_000)))) as srv:
        async with fast_client(conn_for(srv)) as client:
            with pytest.raises(aw.ApiError) as ei:
                await client.get_operation(RAW_OP_ID)
    assert_invalid(ei.value)


async def test_synchronous_answer_with_more_images_than_asked_is_invalid():
    images = {"created": 1_700_000_000, "data": [{"url": "http://127.0.0.1:9/a.png"}] * 3}
    async with RawServer(raw_api(submit=lambda r, s: http_response(200, images))) as srv:
        conn = conn_for(srv, api_version="2024-10-21", deployment="dall-e-3")
        async with fast_client(conn) as client:
            with pytest.raises(aw.ApiError) as ei:
                await client.request_image("a fox")
    assert_invalid(ei.value)


# -- numbers and nesting the contract cannot hold ------------------------------------------------

def poll_text(**fields: str) -> str:
    """A succeeded poll answer with some fields given as raw JSON text."""
    parts = [f'"id": "{RAW_OP_ID}"', '"status": "succeeded"',
             '"result": {"data": [{"url": "http://127.0.0.1:9/a.png"}]}']
    parts += [f'"{k}": {v}' for k, v in fields.items()]
    return "{" + ", ".join(parts) + "}"


BAD_POLLS = {
    "created 1e400": poll_text(created="1e400"),
    "created -1e400": poll_text(created="-1e400"),
    "created NaN": poll_text(created="NaN"),
    "expires Infinity": poll_text(expires="Infinity"),
    "expires 10**17": poll_text(expires=str(10**17)),
    "created negative": poll_text(created="-5"),
    "created 1e300": poll_text(created="1e300"),
    "a 5000-digit number": poll_text(created="9" * 5000),
    "nested 200,000 deep": poll_text(extra=deep()),
    "nested 150,000 deep objects": poll_text(extra="{\"a\":" * 150_000 + "1" + "}" * 150_000),
    "nested 40 deep": poll_text(extra=deep(40)),
    "deep inside data": poll_text().replace('"url"', f'"x": {deep()}, "url"'),
}


@pytest.mark.parametrize("case", list(BAD_POLLS))
async def test_poll_answers_the_contract_cannot_hold_are_invalid(case):
    assert len(BAD_POLLS[case].encode()) < 1024 * 1024  # under the poll cap: the parser sees it
    assert_invalid(await generate_failure(raw(200, BAD_POLLS[case])))


async def test_sane_times_are_kept():
    body = poll_text(created="1700000000", expires="1700086400.0")
    async with RawServer(raw_api(poll=raw(200, body))) as srv:
        async with fast_client(conn_for(srv)) as client:
            res = await client.generate("a fox", size="256x256", timeout=3)
    assert (res.created, res.expires) == (1_700_000_000, 1_700_086_400)


@pytest.mark.parametrize("text", ['{"created": 1e400, "data": [{"url": "http://127.0.0.1:9/a.png"}]}',
                                  '{"created": 1, "data": [{"url": "http://127.0.0.1:9/a.png", '
                                  f'"x": {deep()}}}]}}'], ids=["1e400", "deep"])
async def test_synchronous_answers_the_contract_cannot_hold_are_invalid(text):
    async with RawServer(raw_api(submit=raw(200, text))) as srv:
        conn = conn_for(srv, api_version="2024-10-21", deployment="dall-e-3")
        async with fast_client(conn) as client:
            with pytest.raises(aw.ApiError) as ei:
                await client.request_image("a fox")
    assert_invalid(ei.value)


@pytest.mark.parametrize("text", [
    '{"error": {"code": "BadThing", "message": "nope", "x": ' + deep() + '}}',
    '{"error": {"code": "BadThing", "message": NaN}}',
    deep(),
], ids=["deep inside", "NaN message", "deep array"])
async def test_error_bodies_the_contract_cannot_hold_keep_status_and_message(text):
    exc = await generate_failure(raw(400, text))
    assert isinstance(exc, aw.ApiError) and not isinstance(exc, aw.OperationTimeout), repr(exc)
    assert exc.status_code == 400
    assert "not JSON" in exc.message and len(exc.message) < 600


async def test_submit_answer_nested_deep_is_invalid():
    text = json.dumps({"id": RAW_OP_ID, "status": "notRunning"})[:-1] + ', "x": ' + deep() + "}"
    async with RawServer(raw_api(submit=raw(202, text))) as srv:
        async with fast_client(conn_for(srv)) as client:
            with pytest.raises(aw.ApiError) as ei:
                await client.request_image("a fox", size="256x256")
    assert_invalid(ei.value)


# -- bounded image fetches -----------------------------------------------------------------------

def png() -> bytes:
    import io

    from PIL import Image
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(buf, format="PNG")
    return buf.getvalue()


@pytest.mark.parametrize("limit", [None, 2])
async def test_image_fetches_run_a_few_at_a_time(limit):
    body = png()
    now = {"in_flight": 0, "most": 0}

    def handler(req, srv):
        async def answer(w: asyncio.StreamWriter) -> None:
            now["in_flight"] += 1
            now["most"] = max(now["most"], now["in_flight"])
            try:
                await asyncio.sleep(0.2)
                w.write(http_response(200, body, content_type="image/png"))
                await w.drain()
            finally:
                now["in_flight"] -= 1
        return answer

    async with RawServer(handler) as blob:
        conn = Connection(f"http://localhost:{blob.port}", api_key=KEY, timeout=5, max_retries=0)
        kw = {} if limit is None else {"fetch_concurrency": limit}
        async with fast_client(conn, **kw) as client:
            urls = [f"http://127.0.0.1:{blob.port}/img/{i}.png?sig=x" for i in range(12)]
            got = await asyncio.gather(*(client.fetch_image(u) for u in urls))
    assert got == [body] * 12
    assert 2 <= now["most"] <= (limit or 4)
