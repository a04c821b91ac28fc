"""The run state: one frozen value per change, derived running/elapsed, results never lost.

Against the emulator over real HTTP, except the pure RunState checks.
"""
from __future__ import annotations

import asyncio
import dataclasses
import uuid

import httpx
import pytest

import azimage_widgets as aw
from azimage_widgets.activities import DownloadImage, RequestImage, download_result
from azimage_widgets.activities.dataset_runs import batch_progress
from azimage_widgets.activities.download_result import DownloadResult
from azimage_widgets.activities.run_state import RunState, RunStatus
from azimage_widgets.contract.models import ImageResult


def uniq() -> str:
    return f"r-{uuid.uuid4().hex[:8]}"


# -- the value ----------------------------------------------------------------------------------

def test_run_state_is_frozen_and_derives_running_and_elapsed():
    idle = RunState()
    assert idle.status is RunStatus.IDLE and not idle.running and idle.elapsed == 0.0
    run = idle.begin()
    assert run.running and run.started is not None and run.ended is None
    with pytest.raises(dataclasses.FrozenInstanceError):
        run.status = RunStatus.FAILED  # type: ignore[misc]
    done = run.end(RunStatus.SUCCEEDED, "ok")
    assert not done.running and done.ended is not None
    assert done.elapsed == done.ended - done.started
    assert idle.status is RunStatus.IDLE  # the old value stays what it was
    assert RunStatus.SUCCEEDED == "succeeded" and str(RunStatus.CANCELED) == "canceled"


async def test_one_state_change_per_step_and_no_ticker(conn):
    req = RequestImage(conn, name=uniq(), namespace={}, prompt="a fox", size="256x256")
    seen: list[RunState] = []
    req.observe(lambda c: seen.append(c["new"]), names="state")
    task = asyncio.get_running_loop().create_task(req.generate())
    await asyncio.sleep(0.05)
    running = [t.get_coro().__qualname__ for t in asyncio.all_tasks()]
    assert any("generate" in q for q in running), running
    assert not [q for q in running if q.endswith(".tick")], running  # nothing ticks elapsed seconds
    await task
    statuses = [s.status for s in seen]
    assert statuses[0] is RunStatus.RUNNING and statuses[-1] is RunStatus.SUCCEEDED
    assert req.state.ids == tuple(req.ids) and len(req.results) == 1
    assert req.running is False and req.elapsed > 0


# -- a fetched result is kept and bound ---------------------------------------------------------

async def test_download_keeps_and_binds_images_when_an_observer_raises(conn):
    async with aw.ImageClient(conn) as client:
        op = await client.request_image("a fox", size="256x256")
    ns: dict = {}
    dl = DownloadImage(conn, name=uniq(), namespace=ns, image_id=op.id, output="got")

    def broken_view(change):
        if change["new"].status is RunStatus.SUCCEEDED:
            raise RuntimeError("a view failed to draw the result")

    dl.observe(broken_view, names="state")
    with pytest.raises(RuntimeError):
        await dl.download()
    assert dl.status == "succeeded" and not dl.running
    assert isinstance(ns["got"], DownloadResult) and ns["got"].id == op.id
    assert dl.result is ns["got"] and len(dl.result.images) == 1


async def test_download_keeps_and_binds_images_when_storing_them_fails(conn, monkeypatch):
    async def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(download_result, "store_download", full_disk)
    async with aw.ImageClient(conn) as client:
        op = await client.request_image("a fox", size="256x256")
    ns: dict = {}
    dl = DownloadImage(conn, name=uniq(), namespace=ns, image_id=op.id, output="got")
    res = await dl.download()
    assert dl.status == "succeeded" and ns["got"] is res and len(res.images) == 1


def test_a_result_with_an_expiry_out_of_range_still_shows():
    res = DownloadResult(ImageResult(id="x", status="succeeded", created=10**17, expires=10**17))
    assert res.expires is None and res.created is None
    assert "x" in repr(res)


# -- cancelling a batch publishes what succeeded --------------------------------------------------

async def _cancel_after_first(act, data):
    task = asyncio.get_running_loop().create_task(act.run(data, concurrency=1))
    bp = batch_progress(getattr(act, "activity", act))
    for _ in range(400):
        if bp.done >= 1:
            break
        await asyncio.sleep(0.025)
    assert bp.done >= 1
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_cancelled_run_publishes_the_datasets_that_succeeded(conn, emu):
    emu.config.processing_time = 0.3
    ns: dict = {}
    req = RequestImage(conn, name=uniq(), namespace=ns, prompt="x", size="256x256", output="foxes")
    await _cancel_after_first(req, ["a fox", "a cat", "a dog", "an owl"])
    assert req.status == "canceled"
    done = [r for r in ns["foxes"] if r is not None]
    assert 1 <= len(done) < 4
    assert req.ids == [r.id for r in done]
    assert [r for r in req.results if r is not None] == done


async def test_cancelled_panel_run_publishes_the_datasets_that_succeeded(conn, emu):
    emu.config.processing_time = 0.3
    ns: dict = {}
    panel = aw.RequestImagePanel(conn, name=uniq(), namespace=ns, output="foxes", size="256x256")
    try:
        await _cancel_after_first(panel, ["a fox", "a cat", "a dog", "an owl"])
        assert panel.activity.status == "canceled" and panel.status == "canceled"
        done = [r for r in ns["foxes"] if r is not None]
        assert 1 <= len(done) < 4
        assert panel.ids == [r.id for r in done]
        assert [r for r in panel.results if r is not None] == done
    finally:
        panel.close()


async def test_activities_take_an_httpx_transport():
    calls: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(202, json={"id": "op-1", "status": "notRunning"})

    conn = aw.Connection("http://127.0.0.1:9", api_key="fake-key")
    req = RequestImage(conn, name=uniq(), namespace={}, prompt="a fox",
                       transport=httpx.MockTransport(answer))
    ops = await req.submit()
    assert ops.ids == ["op-1"] and req.ids == ["op-1"] and len(calls) == 1
    assert batch_progress(req) is not None
    await req.client().aclose()


async def test_replacing_an_activity_after_its_run_leaves_the_callers_task_alone(conn):
    """A run awaited in this task has ended; replacing the activity must not cancel this task."""
    name = uniq()
    first = RequestImage(conn, name=name, prompt="a red fox")
    await first.submit()
    assert first.state.status is not RunStatus.RUNNING
    second = RequestImage(conn, name=name, prompt="a grey wolf", replace=True)  # closes ``first``
    assert first.closed and not first.cancel()
    await asyncio.sleep(0)  # a cancelled task would raise CancelledError here
    await second.submit()
    assert second.ids
    await first.client().aclose()
