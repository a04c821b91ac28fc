"""Fault matrix: every emulator knob, one operation and a batch, nothing lost, every failure
says its cause.

For each knob the same run is made twice: ``ImageClient.generate`` (+ fetching every image)
per prompt, and ``generate_many(continue_on_error=True)`` (+ fetching). Checks:

- items lost = 0: one entry per input, in input order (a succeeded entry's first image is
  byte-for-byte the emulator's render of *that* prompt, so a shuffled batch is caught);
- every failure is an exception whose type / code / status names the injected fault;
- nothing succeeds that the fault should have stopped, and the fault did fire.

Rates are seeded. Retries wait through ``client._sleep``, replaced by a no-op so a 60 s
Retry-After of the rpm limit does not slow the suite (the delay asked for is recorded).
"""
from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

import azimage_widgets as aw
from azimage_widgets.client import Connection, ImageClient

KEY = "reliability-fake-key-31337"
SIZE = "256x256"


@dataclass
class Outcome:
    prompt: str
    result: Any = None  # ImageResult
    images: list[bytes] = field(default_factory=list)
    error: BaseException | None = None


def render(prompt: str, index: int = 0) -> bytes:
    from azimage_widgets.emulator import images

    return images.render_png(prompt, index, SIZE)


def make_client(conn: Connection, waits: list[float]) -> ImageClient:
    client = ImageClient(conn)

    async def no_wait(delay: float) -> None:
        waits.append(delay)
        await asyncio.sleep(0)

    client._sleep = no_wait
    return client


async def fetch_all(client: ImageClient, out: Outcome) -> None:
    try:
        out.images = [await client.fetch_image(u) for u in out.result.urls]
    except Exception as exc:  # noqa: BLE001
        out.error = exc


async def run_single(conn: Connection, prompts: list[str], *, n: int, waits: list[float],
                     timeout: float) -> list[Outcome]:
    outs = []
    async with make_client(conn, waits) as client:
        for p in prompts:
            o = Outcome(p)
            try:
                o.result = await client.generate(p, size=SIZE, n=n, timeout=timeout)
            except Exception as exc:  # noqa: BLE001
                o.error = exc
            else:
                await fetch_all(client, o)
            outs.append(o)
    return outs


async def run_batch(conn: Connection, prompts: list[str], *, n: int, waits: list[float],
                    timeout: float) -> list[Outcome]:
    async with make_client(conn, waits) as client:
        entries = await client.generate_many(prompts, size=SIZE, n=n, concurrency=4,
                                             continue_on_error=True, timeout=timeout)
        assert len(entries) == len(prompts), "items lost"
        outs = []
        for p, e in zip(prompts, entries, strict=True):
            o = Outcome(p)
            assert e is not None, f"no entry for {p!r}"
            if isinstance(e, Exception):
                o.error = e
            else:
                o.result = e
                await fetch_all(client, o)
            outs.append(o)
    return outs


def check_nothing_lost(outs: list[Outcome], prompts: list[str]) -> None:
    """One outcome per prompt, in order; each a failure (result may be set when only a fetch
    failed) or a success whose first image is that prompt's own render."""
    assert [o.prompt for o in outs] == prompts
    for o in outs:
        assert o.result is not None or o.error is not None, f"{o.prompt!r}: neither result nor error"
        if o.error is None:
            assert isinstance(o.result, aw.ImageResult) and o.result.succeeded
            assert o.images, f"{o.prompt!r}: succeeded with no image"
            first_ok = next(i.index for i in o.result.items if i.ok)
            assert o.images[0] == render(o.prompt, first_ok), f"{o.prompt!r}: got another prompt's image"


Cause = Callable[[BaseException], bool]


def is_status(*codes: int) -> Cause:
    return lambda e: isinstance(e, aw.ApiError) and e.status_code in codes


def is_code(*codes: str) -> Cause:
    return lambda e: isinstance(e, aw.ApiError) and e.code in codes


@dataclass
class Case:
    knobs: dict[str, Any]
    cause: Cause | None  # what every failure must be; None: no failure allowed
    must_fail: bool = False  # the fault is certain to fire
    n: int = 1
    timeout: float = 10.0
    prompt: str = "a fox"
    max_retries: int = 3
    conn_timeout: float = 5.0
    after: Callable[[list[Outcome], Any, list[float]], None] | None = None
    before_fetch_sleep: float = 0.0


def partial_checks(outs, emu, waits):
    for o in outs:
        assert o.error is None
        assert len(o.result.items) == 3 and len(o.result.urls) == 2
        (err,) = o.result.errors
        assert err.error_code == "contentFilter" and err.index == 2


def retry_after_checks(outs, emu, waits):
    assert waits == []  # polls wait in the poll loop, not through retries
    for o in outs:
        assert o.error is None


def rpm_checks(outs, emu, waits):
    assert any(isinstance(o.error, aw.ThrottledError) for o in outs)
    # a retry after a 429 waits what the server asked (or the client gives up at once when
    # that would pass its deadline), never a short backoff that just hits the limit again
    assert all(w >= 1 for w in waits), waits
    for o in outs:
        if isinstance(o.error, aw.ThrottledError):
            assert o.error.status_code == 429 and o.error.retry_after is not None and o.error.retry_after >= 1


def drop_checks(outs, emu, waits):
    assert any(o.error is None for o in outs)


CASES: dict[str, Case] = {
    "baseline": Case({}, None),
    "latency": Case({"latency": 0.15}, None),
    "processing_time_zero": Case({"processing_time": 0.0}, None),
    "processing_time_over_timeout": Case({"processing_time": 5.0},
                                         lambda e: isinstance(e, aw.OperationTimeout),
                                         must_fail=True, timeout=0.6),
    "retry_after_header": Case({"retry_after": 1, "processing_time": 0.3}, None, after=retry_after_checks),
    # a limit the run is sure to pass: each operation is at least a submit and one poll (3
    # single operations learn their duration and can need no more than 6 requests in all)
    "rpm_limit": Case({"rpm_limit": 4}, lambda e: isinstance(e, aw.ThrottledError), after=rpm_checks),
    "failure_rate_500_503": Case({"failure_rate": 0.35, "seed": 11}, is_status(500, 503)),
    "failure_rate_always": Case({"failure_rate": 1.0, "seed": 11}, is_status(500, 503), must_fail=True),
    "failure_status_502": Case({"failure_rate": 1.0, "failure_statuses": (502,), "seed": 3}, is_status(502),
                               must_fail=True),
    "content_filter_word": Case({},
                                lambda e: isinstance(e, aw.ContentFilterError) and e.code == "contentFilter",
                                must_fail=True, prompt="a CONTENT_FILTER fox"),
    "content_filter_custom_word": Case({"content_filter_word": "BANANA"},
                                       lambda e: isinstance(e, aw.ContentFilterError),
                                       must_fail=True, prompt="a banana fox"),
    "content_filter_off": Case({"content_filter_word": None}, None, prompt="a CONTENT_FILTER fox"),
    "partial_filter_word": Case({}, None, n=3, prompt="a PARTIAL_FILTER fox", after=partial_checks),
    "partial_filter_off": Case({"partial_filter_word": None}, None, n=2, prompt="a PARTIAL_FILTER fox"),
    "cancel_word": Case({}, is_code("canceled"), must_fail=True, prompt="a CANCEL_TASK fox"),
    "drop_rate": Case({"drop_rate": 0.3, "seed": 5}, is_code("connectionError", "timeout"), after=drop_checks,
                      conn_timeout=2.0),
    "corrupt_rate": Case({"corrupt_rate": 1.0, "seed": 2},
                         lambda e: isinstance(e, aw.ImageFetchError)
                         and ("image" in e.reason or "corrupt" in e.reason),
                         must_fail=True),
    "image_ttl_expired": Case({"image_ttl": 0.3},
                              lambda e: isinstance(e, aw.ImageFetchError) and e.status_code == 403,
                              must_fail=True, before_fetch_sleep=0.5),
    "wrong_key": Case({"api_key": "the-other-key"}, lambda e: is_status(401)(e), must_fail=True),
}

PROMPTS_PER_RUN = {"single": 3, "batch": 8}


def prompts_for(case: Case, mode: str) -> list[str]:
    return [f"{case.prompt} #{i}" for i in range(PROMPTS_PER_RUN[mode])]


@pytest.mark.parametrize("mode", ["single", "batch"])
@pytest.mark.parametrize("name", list(CASES))
async def test_fault_matrix(name, mode):
    from azimage_widgets import emulator

    case = CASES[name]
    knobs = {"processing_time": 0.1, "retry_after": None, **case.knobs}
    server_key = knobs.pop("api_key", KEY)
    handle = await asyncio.to_thread(emulator.start, api_key=server_key, **knobs)
    try:
        conn = Connection(handle.endpoint, api_key=KEY, max_retries=case.max_retries,
                          timeout=case.conn_timeout)
        prompts = prompts_for(case, mode)
        waits: list[float] = []
        runner = run_single if mode == "single" else run_batch
        if case.before_fetch_sleep:
            outs = await _run_with_pause(conn, prompts, case, waits, mode)
        else:
            outs = await runner(conn, prompts, n=case.n, waits=waits, timeout=case.timeout)
    finally:
        await asyncio.to_thread(handle.stop)

    assert len(outs) == len(prompts), "items lost"
    failures = [o for o in outs if o.error is not None]
    for o in failures:
        assert case.cause is not None, f"{name}: unexpected failure for {o.prompt!r}: {o.error!r}"
        assert case.cause(o.error), \
            f"{name}: failure does not name its cause: {type(o.error).__name__}: {o.error}"
        assert str(o.error), "an error with no message"
        assert KEY not in str(o.error)
    if case.must_fail:
        assert len(failures) == len(outs), f"{name}: {len(outs) - len(failures)} succeeded despite the fault"
    check_nothing_lost(outs, prompts)
    if case.after:
        case.after(outs, handle, waits)


async def _run_with_pause(conn, prompts, case, waits, mode):
    """Generate, wait past the links' lifetime, then fetch."""
    outs = []
    async with make_client(conn, waits) as client:
        if mode == "single":
            results = [await client.generate(p, size=SIZE, timeout=case.timeout) for p in prompts]
        else:
            results = await client.generate_many(prompts, size=SIZE, concurrency=4, timeout=case.timeout)
        await asyncio.sleep(case.before_fetch_sleep)
        for p, r in zip(prompts, results, strict=True):
            assert not isinstance(r, Exception), r
            o = Outcome(p, result=r)
            await fetch_all(client, o)
            outs.append(o)
    return outs


async def test_same_seed_same_faults():
    """``seed`` makes a fault sequence repeatable: two emulators, same seed, same outcomes.

    The dice are drawn per API request, so the client must make the same requests both times:
    with ``processing_time=0`` every poll sees a finished job, whatever the poll loop's timing.
    """
    from azimage_widgets import emulator

    async def once() -> list[str]:
        handle = await asyncio.to_thread(emulator.start, api_key=KEY, processing_time=0.0, retry_after=None,
                                         failure_rate=0.4, seed=1234)
        try:
            conn = Connection(handle.endpoint, api_key=KEY, max_retries=1)
            outs = await run_single(conn, [f"seeded {i}" for i in range(8)], n=1, waits=[], timeout=5)
        finally:
            await asyncio.to_thread(handle.stop)
        return [type(o.error).__name__ + str(getattr(o.error, "status_code", "")) if o.error else "ok"
                for o in outs]

    first, second = await once(), await once()
    assert first == second
    assert "ok" in first and any(x != "ok" for x in first), first  # the rate did something, not everything


async def test_batch_with_mixed_faults_keeps_every_success_in_order():
    """One batch where some prompts are filtered, some canceled, some partial: all accounted for."""
    from azimage_widgets import emulator

    prompts = ["plain 0", "CONTENT_FILTER 1", "plain 2", "CANCEL_TASK 3", "PARTIAL_FILTER 4", "plain 5"] * 3
    handle = await asyncio.to_thread(emulator.start, api_key=KEY, processing_time=0.1, retry_after=None)
    try:
        conn = Connection(handle.endpoint, api_key=KEY)
        outs = await run_batch(conn, prompts, n=2, waits=[], timeout=10)
    finally:
        await asyncio.to_thread(handle.stop)
    for p, o in zip(prompts, outs, strict=True):
        if "CONTENT_FILTER" in p:
            assert isinstance(o.error, aw.ContentFilterError)
        elif "CANCEL_TASK" in p:
            assert isinstance(o.error, aw.ApiError) and o.error.code == "canceled"
        elif "PARTIAL_FILTER" in p:
            assert o.error is None and len(o.result.urls) == 1 and len(o.result.errors) == 1
        else:
            assert o.error is None and len(o.images) == 2
            assert o.images[1] == render(p, 1)


@pytest.mark.parametrize("knobs,token,ok", [
    ({"bearer_tokens": {"good-token"}}, "good-token", True),
    ({"bearer_tokens": {"good-token"}}, "bad-token", False),
    ({"accept_any_bearer": True}, "anything", True),
    ({}, "anything", False),  # bearer tokens are refused by default
])
async def test_bearer_knobs(knobs, token, ok):
    from azimage_widgets import emulator

    handle = await asyncio.to_thread(emulator.start, api_key=KEY, processing_time=0.05, retry_after=None,
                                     **knobs)
    try:
        conn = Connection(handle.endpoint, token_provider=lambda: token, max_retries=0)
        outs = await run_batch(conn, ["bearer 0", "bearer 1"], n=1, waits=[], timeout=5)
    finally:
        await asyncio.to_thread(handle.stop)
    for o in outs:
        if ok:
            assert o.error is None, o.error
        else:
            assert isinstance(o.error, aw.ApiError) and o.error.status_code == 401, o.error
            assert token not in str(o.error)
    check_nothing_lost(outs, ["bearer 0", "bearer 1"])
