"""The client against the real emulator over HTTP: the happy paths and the rules.

Fixtures ``emu`` and ``conn`` (tests/conftest.py) give a fresh emulator on
loopback with 0.2 s jobs and no Retry-After. Wall-clock checks are generous
lower/upper bounds; the precise ones count polls or requests instead.
"""
from __future__ import annotations

import asyncio
import itertools
import logging
import threading
import time
from urllib.parse import urlsplit

import httpx
import pytest

import azimage_widgets as aw
from azimage_widgets.client import BatchError, Connection, ImageClient
from azimage_widgets.client.connection import url_origin

FAKE_KEY = "fake-key-0123456789abcdef"  # the key tests/conftest.py gives the emulator


class Recorder:
    """httpx event hooks that note every request the client sends (origin, method, headers)."""

    def __init__(self) -> None:
        self.sent: list[tuple[tuple, str, str, dict[str, str]]] = []

    async def on_request(self, request: httpx.Request) -> None:
        self.sent.append((url_origin(str(request.url)), request.method, request.url.path,
                          {k.lower(): v for k, v in request.headers.items()}))

    @property
    def hooks(self) -> dict:
        return {"request": [self.on_request]}

    def count(self, method: str, path_part: str = "") -> int:
        return sum(1 for _, m, p, _ in self.sent if m == method and path_part in p)


def recorded_client(conn: Connection, **kw) -> tuple[ImageClient, Recorder]:
    rec = Recorder()
    return ImageClient(conn, event_hooks=rec.hooks, **kw), rec


# -- the flow ------------------------------------------------------------------------------

async def test_submit_poll_fetch_delete(emu, conn):
    async with ImageClient(conn) as client:
        op = await client.request_image("a red fox", size="256x256", n=2)
        assert isinstance(op, aw.ImageOperation) and op.id and op.status in ("notRunning", "running")
        assert op.location and op.location.startswith(emu.endpoint + "/openai/operations/images/")
        res = await client.download_image(op.id)
        assert isinstance(res, aw.ImageResult) and res.status == "succeeded" and res.id == op.id
        assert len(res.urls) == 2 and not res.errors
        assert res.created and res.expires and res.expires > res.created
        png = await client.fetch_image(res.urls[0])
        assert png.startswith(b"\x89PNG")
        import io

        from PIL import Image
        assert Image.open(io.BytesIO(png)).size == (256, 256)
        await client.delete_operation(op.id)


async def test_get_operation_is_one_poll(emu, conn):
    client, rec = recorded_client(conn)
    async with client:
        op = await client.request_image("a cat")
        first = await client.get_operation(op.id)
        assert first.id == op.id and first.status in aw.contract.STATUSES
    assert rec.count("GET") == 1


async def test_generate_is_submit_plus_download(conn):
    async with ImageClient(conn) as client:
        res = await client.generate("a lighthouse", size="512x512")
        assert res.succeeded and len(res.urls) == 1


async def test_download_accepts_operation_object_and_plain_id(conn):
    async with ImageClient(conn) as client:
        op = await client.request_image("an owl", size="256x256")
        res1 = await client.download_image(op)
    async with ImageClient(conn) as other:  # never saw the submit: builds the URL from the id
        res2 = await other.download_image(op.id)
    strip = aw.contract.errors.strip_query
    assert res2.id == res1.id and [strip(u) for u in res2.urls] == [strip(u) for u in res1.urls]


async def test_unknown_operation_is_404(conn):
    async with ImageClient(conn) as client:
        with pytest.raises(aw.ApiError) as ei:
            await client.get_operation("00000000-0000-0000-0000-000000000000")
    assert ei.value.status_code == 404


async def test_delete_of_running_operation_refused_then_allowed(emu, conn):
    emu.config.processing_time = 1.0
    async with ImageClient(conn) as client:
        op = await client.request_image("slow one")
        with pytest.raises(aw.ApiError) as ei:
            await client.delete_operation(op.id)
        assert ei.value.status_code is not None and ei.value.status_code >= 400
        await client.download_image(op.id)
        await client.delete_operation(op.id)


# -- terminal statuses end the wait at once ----------------------------------------------------

async def test_deleted_operation_is_terminal_at_once(conn):
    async with ImageClient(conn) as client:
        op = await client.request_image("to delete", size="256x256")
        await client.download_image(op.id)
        await client.delete_operation(op.id)
        polls = []
        started = time.monotonic()
        with pytest.raises(aw.ApiError) as ei:
            await client.download_image(op.id, on_status=polls.append)
        assert time.monotonic() - started < 5
    # the emulator answers either status "deleted" (then code "deleted") or 404
    assert ei.value.code == "deleted" or ei.value.status_code == 404
    assert len(polls) <= 1


async def test_canceled_operation_is_terminal_at_once(emu, conn):
    word = emu.config.cancel_word
    async with ImageClient(conn) as client:
        polls = []
        with pytest.raises(aw.ApiError) as ei:
            await client.generate(f"a {word} job", on_status=polls.append)
    assert ei.value.code == "canceled" and ei.value.operation_id
    assert polls[-1].status == "canceled" and len(polls) <= 5


# -- polling ------------------------------------------------------------------------------

async def test_two_second_job_seen_done_soon_after(emu, conn):
    emu.config.processing_time = 2.0
    async with ImageClient(conn) as client:
        seen: list[tuple[float, str]] = []
        op = await client.request_image("two seconds", size="256x256")
        t0 = time.monotonic()
        res = await client.download_image(
            op.id, on_status=lambda r: seen.append((time.monotonic() - t0, r.status)))
    assert res.succeeded
    assert len(seen) <= 7  # no hammering: 0.2 s growing 1.5x, capped at 0.8 s
    pending = [t for t, s in seen if s != "succeeded"]
    # the last look that still saw it unfinished was at most one capped gap before the done one
    assert seen[-1][0] - pending[-1] <= 0.8 + 0.4
    assert seen[-1][0] < 2.0 + 1.5  # generous: finished at 2 s


async def test_poll_retry_after_is_honoured(emu, conn):
    emu.config.retry_after = 1
    emu.config.processing_time = 1.5
    async with ImageClient(conn) as client:
        times: list[float] = []
        await client.generate("patient", size="256x256",
                              on_status=lambda r: times.append(time.monotonic()))
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert gaps and all(g >= 0.95 for g in gaps)  # the server asked for 1 s between polls
    assert len(times) <= 3


async def test_learned_duration_keeps_polls_few_and_close(emu, conn):
    emu.config.processing_time = 0.6
    async with ImageClient(conn) as client:
        for _ in range(3):
            await client.generate("learn", size="256x256")
        assert client.expected_duration is not None
        assert 0.4 < client.expected_duration < 1.4
        polls: list[float] = []
        op = await client.request_image("learned", size="256x256")
        t0 = time.monotonic()
        await client.download_image(op.id, on_status=lambda r: polls.append(time.monotonic() - t0))
    assert len(polls) <= 6 and polls[-1] < 0.6 + 0.6


async def test_overall_timeout(emu, conn):
    emu.config.processing_time = 30
    async with ImageClient(conn) as client:
        op = await client.request_image("never in time")
        with pytest.raises(aw.OperationTimeout) as ei:
            await client.download_image(op.id, timeout=0.5)
    assert ei.value.operation_id == op.id and ei.value.last_status in ("notRunning", "running")
    assert isinstance(ei.value, TimeoutError)


async def test_on_status_async_callback(conn):
    seen = []

    async def cb(result):
        await asyncio.sleep(0)
        seen.append(result.status)

    async with ImageClient(conn) as client:
        await client.generate("callback", size="256x256", on_status=cb)
    assert seen[-1] == "succeeded"


# -- credentials ------------------------------------------------------------------------------

async def test_no_key_sent_to_images_host_and_key_sent_to_endpoint(emu, conn):
    client, rec = recorded_client(conn)
    async with client:
        res = await client.generate("headers", size="256x256", n=2)
        for url in res.urls:
            await client.fetch_image(url)
    api = url_origin(emu.endpoint)
    images = url_origin(res.urls[0])
    assert images != api  # the emulator serves images on another origin
    api_sent = [h for o, _, _, h in rec.sent if o == api]
    img_sent = [h for o, _, _, h in rec.sent if o == images]
    assert len(img_sent) == 2 and api_sent
    assert all(h.get("api-key") == FAKE_KEY for h in api_sent)
    assert all("api-key" not in h and "authorization" not in h for h in img_sent)


async def test_bearer_token_to_endpoint_only(emu):
    emu.config.bearer_tokens = {"tok-123"}
    conn = Connection(emu.endpoint, token_provider=lambda: "tok-123")
    client, rec = recorded_client(conn)
    async with client:
        res = await client.generate("entra", size="256x256")
        await client.fetch_image(res.urls[0])
    assert all(h.get("authorization") == "Bearer tok-123" for o, _, _, h in rec.sent
               if o == url_origin(emu.endpoint))
    assert all("authorization" not in h for o, _, _, h in rec.sent
               if o != url_origin(emu.endpoint))


async def test_wrong_key_is_401_and_never_shown(emu):
    wrong = "wrong-fake-key-ZZZ-42"
    conn = Connection(emu.endpoint, api_key=wrong)
    async with ImageClient(conn) as client:
        with pytest.raises(aw.ApiError) as ei:
            await client.request_image("no entry")
    assert ei.value.status_code == 401
    assert wrong not in str(ei.value) and wrong not in repr(ei.value)
    assert wrong not in repr(conn) and wrong not in repr(client)


async def test_key_never_logged(emu, conn, caplog):
    caplog.set_level(logging.DEBUG)
    async with ImageClient(conn) as client:
        res = await client.generate("logged", size="256x256")
        await client.fetch_image(res.urls[0])
        with pytest.raises(aw.ApiError):
            await client.get_operation("missing-op")
        await client.delete_operation(res.id)
    ours = [r for r in caplog.records if r.name == "azimage_widgets.client"]
    assert ours, "the client logs at debug"
    assert any("POST" in r.getMessage() for r in ours)
    for record in caplog.records:  # every logger, httpx and httpcore included
        text = record.getMessage() + repr(record.args)
        assert FAKE_KEY not in text
    for r in ours:
        assert "sig=" not in r.getMessage()  # URLs are logged without their query
    assert FAKE_KEY not in caplog.text


# -- pooling -------------------------------------------------------------------------------

async def test_one_pooled_httpx_client_per_image_client(conn):
    async with ImageClient(conn) as client:
        http = client._http
        await client.generate("pool 1", size="256x256")
        await client.generate("pool 2", size="256x256")
        assert client._http is http and http is not None
    assert client.closed and client._http is None


async def test_shared_client_per_connection_and_loop(conn):
    a = ImageClient.shared(conn)
    assert ImageClient.shared(conn) is a
    other_conn = Connection(conn.endpoint, api_key=FAKE_KEY)
    assert ImageClient.shared(other_conn) is not a
    async with a as same:  # does not close a shared client
        assert same is a
        await a.generate("shared", size="256x256")
    assert not a.closed

    box = {}

    def other_loop():
        async def main():
            box["client"] = ImageClient.shared(conn)
            await box["client"].generate("other loop", size="256x256")
        asyncio.run(main())

    t = threading.Thread(target=other_loop)
    t.start()
    t.join(30)
    assert box["client"] is not a
    assert box["client"].closed  # asyncio.run's shutdown closed the loop's shared client

    await conn.aclose()
    assert a.closed and ImageClient.shared(conn) is not a
    await ImageClient.close_shared()
    assert ImageClient.shared(other_conn).closed is False
    await ImageClient.close_shared()


async def test_client_bound_to_its_loop(conn):
    client = ImageClient(conn)
    await client.generate("loop a", size="256x256")
    err = {}

    def other():
        async def main():
            try:
                await client.get_operation("x")
            except RuntimeError as exc:
                err["e"] = exc
        asyncio.run(main())

    t = threading.Thread(target=other)
    t.start()
    t.join(10)
    await client.aclose()
    assert "another event loop" in str(err["e"])


# -- generate_many ----------------------------------------------------------------------------

async def test_generate_many_keeps_order_and_every_success(emu, conn):
    from azimage_widgets.emulator import images

    bad = emu.config.content_filter_word
    prompts = ["alpha", f"beta {bad}", "gamma", "delta", f"eps {bad}", "zeta"]
    progress = []
    async with ImageClient(conn) as client:
        out = await client.generate_many(prompts, size="256x256", concurrency=3,
                                         on_progress=lambda *a: progress.append(a))
        assert len(out) == len(prompts)
        for i, (prompt, r) in enumerate(zip(prompts, out, strict=True)):
            if bad in prompt:
                assert isinstance(r, aw.ContentFilterError), (i, r)
            else:
                assert isinstance(r, aw.ImageResult) and r.succeeded, (i, r)
                png = await client.fetch_image(r.urls[0])
                assert png == images.render_png(prompt, 0, "256x256"), f"result {i} out of order"
    assert sorted(p[0] for p in progress) == list(range(1, len(prompts) + 1))
    assert all(p[1] == len(prompts) for p in progress)
    assert sorted(p[2] for p in progress) == list(range(len(prompts)))


async def test_generate_many_bounded_concurrency(emu, conn):
    emu.config.processing_time = 0.4
    client, rec = recorded_client(conn)
    started = time.monotonic()
    async with client:
        out = await client.generate_many([f"p{i}" for i in range(6)], size="256x256",
                                         concurrency=2)
    assert all(isinstance(r, aw.ImageResult) for r in out)
    assert time.monotonic() - started >= 3 * 0.4 - 0.05  # three rounds of two at most
    assert rec.count("POST") == 6


async def test_generate_many_stop_on_first_error(emu, conn):
    emu.config.processing_time = 0.3
    bad = emu.config.content_filter_word
    prompts = ["ok first", f"x {bad}"] + [f"later {i}" for i in range(8)]
    client, rec = recorded_client(conn)
    async with client:
        with pytest.raises(BatchError) as ei:
            await client.generate_many(prompts, size="256x256", concurrency=2,
                                       continue_on_error=False)
    err = ei.value
    assert err.index == 1 and isinstance(err.error, aw.ContentFilterError)
    assert "item 1" in str(err) and len(err.results) == len(prompts)
    assert isinstance(err.results[1], aw.ContentFilterError)
    assert rec.count("POST") < len(prompts)  # stopped launching new ones
    assert any(r is None for r in err.results[2:])


async def test_generate_many_invalid_prompt_is_its_entry(conn):
    client, rec = recorded_client(conn)
    async with client:
        out = await client.generate_many(["fine", "   ", "x" * 1001, "also fine"], size="256x256")
    assert isinstance(out[0], aw.ImageResult) and isinstance(out[3], aw.ImageResult)
    assert isinstance(out[1], aw.ValidationError) and out[1].field == "prompts[1].prompt"
    assert isinstance(out[2], aw.ValidationError)
    assert rec.count("POST") == 2
    with pytest.raises(aw.ValidationError):
        async with ImageClient(conn) as c:
            await c.generate_many("not a list")
    with pytest.raises(aw.ValidationError):
        async with ImageClient(conn) as c:
            await c.generate_many(["a"], concurrency=0)


async def test_generate_many_takes_the_versions_settings(emu):
    """2024-10-21: quality, style, response_format and deployment go to every request."""
    import base64
    import io
    import json

    from PIL import Image

    emu.config.deployments = {"d3"}  # another name would be 404 DeploymentNotFound
    conn = aw.Connection(emu.endpoint, api_key=FAKE_KEY, api_version="2024-10-21")
    bodies: list[dict] = []

    async def on_request(request: httpx.Request) -> None:
        if request.method == "POST":
            bodies.append(json.loads(request.content))

    prompts = ["an hd fox", "an hd owl", "an hd hare"]
    async with ImageClient(conn, event_hooks={"request": [on_request]}) as client:
        out = await client.generate_many(prompts, size="1792x1024", quality="hd", style="natural",
                                         response_format="b64_json", deployment="d3",
                                         concurrency=2)
        assert all(isinstance(r, aw.ImageResult) and r.succeeded for r in out), out
        for prompt, r in zip(prompts, out, strict=True):
            sent = client.request_of(r.id)
            assert (sent["prompt"], sent["quality"], sent["style"], sent["deployment"]) == (
                prompt, "hd", "natural", "d3")
            png = base64.b64decode(r.items[0].b64_json)
            assert Image.open(io.BytesIO(png)).size == (1792, 1024)
            assert r.items[0].revised_prompt
    assert sorted(b["prompt"] for b in bodies) == sorted(prompts)
    assert all((b["quality"], b["style"], b["response_format"], b["size"]) ==
               ("hd", "natural", "b64_json", "1792x1024") for b in bodies)
    # a setting the version lacks or a bad choice is each prompt's ValidationError; nothing is sent
    client, rec = recorded_client(conn)
    async with client:
        out = await client.generate_many(["a", "b"], quality="ultra", deployment="d3")
        assert [e.field for e in out] == ["prompts[0].quality", "prompts[1].quality"]
        out = await client.generate_many(["a"], output_format="png", deployment="d3")
        assert isinstance(out[0], aw.ValidationError) and out[0].field == "prompts[0].output_format"
        # an argument request_image does not take fails the call at once
        with pytest.raises(TypeError, match="qualty"):
            await client.generate_many(["a"], qualty="hd")
    assert rec.count("POST") == 0


# -- from_env -------------------------------------------------------------------------------

async def test_from_env_with_emulator_endpoint(emu):
    conn = aw.Connection.from_env({"AZURE_OPENAI_ENDPOINT": emu.endpoint,
                                "AZURE_OPENAI_API_KEY": emu.api_key,
                                "AZURE_OPENAI_API_VERSION": "2023-06-01-preview"})
    async with ImageClient(conn) as client:
        assert (await client.generate("env", size="256x256")).succeeded


async def test_from_env_without_endpoint_starts_embedded_emulator():
    conn = aw.Connection.from_env({})
    assert urlsplit(conn.endpoint).hostname in ("127.0.0.1", "localhost", "::1")
    assert aw.Connection.from_env({}).endpoint == conn.endpoint  # one per process
    async with ImageClient(conn) as client:
        res = await client.generate("embedded", size="256x256")
        assert (await client.fetch_image(res.urls[0])).startswith(b"\x89PNG")
