"""Batches and operations against the emulator over HTTP.

continue on error on/off (validation, API error, content filter, timeout), successes kept,
bounded concurrency through the shared client, the log's columns, panel.run and its progress
bar, Operation chains with the write step and on_success.
"""
from __future__ import annotations

import asyncio
import json
import uuid

import pytest

import azimage_widgets as aw
from azimage_widgets.activities import DownloadImage, RequestImage
from azimage_widgets.activities.dataset_runs import DatasetError, batch_progress
from azimage_widgets.activities.oplog import OperationLog
from azimage_widgets.client import ImageClient
from azimage_widgets.contract import ApiError, ContentFilterError, OperationTimeout, ValidationError


def uniq(prefix: str = "o") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def req_act(conn, **kw) -> RequestImage:
    kw.setdefault("size", "256x256")
    return RequestImage(conn, name=uniq(), namespace={}, **kw)


# -- continue on error ---------------------------------------------------------------------

async def test_continue_on_error_logs_each_failure_and_keeps_the_others(conn, emu):
    word = emu.config.content_filter_word
    log = OperationLog()
    req = req_act(conn, prompt="cfg", continue_on_error=True)
    data = ["a fox", f"a {word} fox", {"prompt": "x" * 1001}, {"size": "300x300"}, "a cat"]
    results = await req.run(data, log=log)
    assert len(results) == 5
    assert sorted(results.errors) == [1, 2, 3]
    assert isinstance(results[1], ContentFilterError)
    assert isinstance(results[2], ValidationError) and results[2].field == "prompt"
    assert isinstance(results[3], ValidationError) and results[3].field == "size"
    assert [r.request["prompt"] for r in results.succeeded] == ["a fox", "a cat"]
    errs = {e.dataset: e for e in log.errors()}
    assert set(errs) == {1, 2, 3}
    assert errs[1].code == "contentFilter" and errs[1].operation_id
    assert errs[2].code == "validation" and errs[2].operation_id is None  # never sent
    ok = [e for e in log if e.status == "succeeded"]
    assert sorted(e.dataset for e in ok) == [0, 4]
    for e in log:
        assert e.activity == req.name and e.kind == "request_image" and e.duration >= 0
    assert req.status == "completed" and "2 of 5" in req.message and req.error is None


async def test_api_errors_are_logged_and_the_others_go_on(conn, emu):
    log = OperationLog()
    req = req_act(conn, prompt="cfg", continue_on_error=True)
    emu.config.cancel_word = "CANCEL_TASK"
    results = await req.run(["fine", "please CANCEL_TASK now", "also fine"], log=log)
    assert isinstance(results[1], ApiError) and results[1].code == "canceled"
    assert len(results.succeeded) == 2
    [err] = log.errors()
    assert err.dataset == 1 and err.code == "canceled"


async def test_timeouts_are_logged(emu):
    emu.config.processing_time = 5.0
    conn = aw.Connection(endpoint=emu.endpoint, api_key=emu.api_key, poll_timeout=0.4)
    log = OperationLog()
    req = req_act(conn, prompt="slow", continue_on_error=True)
    results = await req.run(["slow one", "slow two"], log=log)
    assert all(isinstance(r, OperationTimeout) for r in results)
    assert [e.code for e in log.errors()] == ["timeout", "timeout"]


async def test_without_continue_on_error_the_run_stops_and_names_the_dataset(conn, emu):
    word = emu.config.content_filter_word
    log = OperationLog()
    req = req_act(conn, prompt="cfg", continue_on_error=False)
    data = ["one", "two", f"three {word}", "four", "five", "six"]
    with pytest.raises(DatasetError) as ei:
        await req.run(data, log=log, concurrency=1)
    err = ei.value
    assert err.index == 2 and isinstance(err.error, ContentFilterError)
    assert "dataset 2 failed" in str(err) and req.name in str(err)
    # nothing that already succeeded is lost
    assert [r.request["prompt"] for r in err.results[:2]] == ["one", "two"]
    assert err.results[2] is err.error and err.results[3:] == [None, None, None]
    assert [e.dataset for e in log if e.status == "succeeded"] == [0, 1]
    assert [e.dataset for e in log.errors()] == [2]
    assert req.status == "failed" and req.error["dataset"] == 2
    assert req.ids == [r.id for r in err.results[:2]]


async def test_stop_cancels_running_datasets_and_logs_them(conn, emu):
    emu.config.processing_time = 1.0
    log = OperationLog()
    req = req_act(conn, prompt="cfg", continue_on_error=False)
    with pytest.raises(DatasetError) as ei:
        await req.run(["slow a", "slow b", {"n": 9}], log=log, concurrency=3)
    assert ei.value.index == 2
    statuses = {e.dataset: e.status for e in log}
    assert statuses[2] == "failed"
    assert statuses.get(0) == "canceled" and statuses.get(1) == "canceled"
    assert all("may still" in e.message for e in log.filter(status="canceled"))


# -- concurrency and the shared client --------------------------------------------------------

async def test_bounded_concurrency_through_the_shared_client(conn, emu, monkeypatch):
    emu.config.processing_time = 0.3
    seen_clients: set[int] = set()
    active = 0
    peak = 0
    real = ImageClient.download_image

    async def spy(self, *a, **kw):
        nonlocal active, peak
        seen_clients.add(id(self))
        active += 1
        peak = max(peak, active)
        try:
            return await real(self, *a, **kw)
        finally:
            active -= 1

    monkeypatch.setattr(ImageClient, "download_image", spy)
    req = req_act(conn, prompt="cfg")
    results = await req.run([f"p{i}" for i in range(7)], concurrency=3, log=OperationLog())
    assert results.ok and len(results) == 7
    assert peak == 3
    assert seen_clients == {id(ImageClient.shared(conn))}
    with pytest.raises(ValidationError, match="concurrency"):
        await req.run(["x"], concurrency=0, log=OperationLog())


# -- the default log and the progress -------------------------------------------------------

async def test_runs_write_the_session_log_by_default(conn):
    before = len(aw.default_log())
    req = req_act(conn, prompt="cfg")
    await req.run(["a", "b"])
    new = aw.default_log().entries[before:]
    assert sorted(e.dataset for e in new if e.activity == req.name) == [0, 1]


async def test_batch_progress_counts_done_and_failed(conn, emu):
    word = emu.config.content_filter_word
    req = req_act(conn, prompt="cfg", continue_on_error=True)
    bp = batch_progress(req)
    seen = []
    bp.observe(lambda c: seen.append(c["new"]), names="done")
    await req.run(["a", f"b {word}", "c"], log=OperationLog())
    assert (bp.total, bp.done, bp.failed, bp.running) == (3, 3, 1, False)
    assert seen == [1, 2, 3]
    assert "(1 failed)" in bp.text


async def test_panel_run_shows_progress_bar_previews_and_log(conn, emu):
    word = emu.config.content_filter_word
    panel = aw.RequestImagePanel(conn, name=uniq(), prompt="cfg", size="256x256",
                                 continue_on_error=True, namespace={})
    results = await panel.run(["a", f"b {word}", "c"], log=OperationLog())
    assert len(results.succeeded) == 2
    bar = panel.batch_bar
    assert bar.bar.max == 3 and bar.bar.value == 3 and bar.bar.bar_style == "danger"
    assert "3 / 3" in bar.text.value and bar.layout.display != "none"
    assert len(panel.previews.thumbs) == 2
    assert panel.status == "completed"
    dl = aw.DownloadImagePanel(conn, name=uniq(), namespace={})
    got = await dl.run([{"id": r.id} for r in results.succeeded], log=OperationLog())
    assert [g.id for g in got] == [r.id for r in results.succeeded]
    assert dl.batch_bar.bar.value == 2 and dl.batch_bar.bar.bar_style == "success"


# -- operations ---------------------------------------------------------------------------

async def test_operation_request_download_write(conn, emu, tmp_path):
    word = emu.config.content_filter_word
    log = OperationLog()
    req = req_act(conn, prompt="cfg", n=2, continue_on_error=True)
    dl = DownloadImage(conn, name=uniq("get"), image_id="ignored-inside-an-operation",
                       continue_on_error=True, namespace={})
    op = aw.Operation(req, dl, name="nightly", write_to=tmp_path / "out", log=log)
    assert op.chain() == [f"Request Image {req.name!r}", f"Download Image {dl.name!r}",
                          f"Write to {tmp_path / 'out'}"]
    results = await op.run(["a fox", f"a {word}", {"prompt": "a cat", "n": 1}])
    assert sorted(results.errors) == [1] and isinstance(results[1], ContentFilterError)
    assert op.status == "completed"
    files = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert files == [f"{dl.name}-0-1.png", f"{dl.name}-0-2.png", f"{dl.name}-0.json",
                     f"{dl.name}-2-1.png", f"{dl.name}-2.json"]
    side = json.loads((tmp_path / "out" / f"{dl.name}-0.json").read_text())
    assert side["prompt"] == "a fox" and side["size"] == "256x256" and side["id"] == results[0].id
    assert side["created"] and side["expires"] > side["created"]
    assert side["images"] == [f"{dl.name}-0-1.png", f"{dl.name}-0-2.png"]
    assert (tmp_path / "out" / f"{dl.name}-0-1.png").read_bytes()[:4] == b"\x89PNG"
    # every step of every dataset is in the log, with the operation's name
    by = {(e.activity, e.dataset): e for e in log}
    assert by[(req.name, 0)].status == "succeeded" and by[(dl.name, 0)].status == "succeeded"
    assert by[(dl.name, 1)].status == "failed" and by[(dl.name, 1)].code == "contentFilter"
    assert by[("write", 2)].status == "succeeded"
    assert ("write", 1) not in by
    assert {e.operation for e in log} == {"nightly"}
    # the response id fed Download Image: same id in both steps
    assert by[(req.name, 0)].operation_id == by[(dl.name, 0)].operation_id == results[0].id


async def test_operation_write_to_true_makes_a_temporary_folder(conn):
    req = req_act(conn, prompt="cfg")
    dl = DownloadImage(conn, name=uniq("get"), namespace={})
    op = aw.Operation(req, dl, write_to=True, log=OperationLog())
    results = await op.run("a lighthouse")
    assert op.folder is not None and op.folder.is_dir()
    assert results[0].files[-1] == op.folder / f"{dl.name}-0.json"


async def test_operation_stops_without_continue_on_error(conn, emu):
    word = emu.config.content_filter_word
    req = req_act(conn, prompt="cfg", continue_on_error=True)
    dl = DownloadImage(conn, name=uniq("get"), continue_on_error=False, namespace={})
    op = aw.Operation(req, dl, log=OperationLog(), concurrency=1)
    with pytest.raises(DatasetError) as ei:
        await op.run(["ok", f"bad {word}", "never"])
    assert ei.value.index == 1
    assert f"Download Image {dl.name!r}" in str(ei.value)  # the step that failed
    assert ei.value.results[0].images and ei.value.results[2] is None
    assert op.status == "failed" and op.results is ei.value.results


async def test_on_success_chains_and_failures_do_not(conn, emu, tmp_path):
    word = emu.config.content_filter_word
    log = OperationLog()
    second = aw.Operation(req_act(conn, prompt="second op prompt"),
                          DownloadImage(conn, name=uniq("get"), namespace={}),
                          name="second", log=log)
    first = aw.Operation(req_act(conn, prompt="cfg", continue_on_error=True),
                         DownloadImage(conn, name=uniq("get"), continue_on_error=True,
                                       namespace={}),
                         name="first", on_success=second,
                         success_data=lambda res: [f"after {len(res)}"], log=log)
    assert first.chain()[-1] == "on success: Operation 'second'"
    results = await first.run(["x", "y"])
    assert results.next is not None and results.next[0].request["prompt"] == "after 2"
    assert second.status == "succeeded"
    # a dataset failed: the chained operation does not run (its run state stays as it was)
    before = second.state
    results = await first.run(["x", f"y {word}"])
    assert results.next is None and second.state is before


async def test_a_chain_loop_is_refused(conn):
    a = aw.Operation(req_act(conn, prompt="a"), log=OperationLog())
    b = aw.Operation(req_act(conn, prompt="b"), on_success=a, log=OperationLog())
    a.on_success = [b]
    with pytest.raises(ValidationError, match="loop"):
        await a.run()


def test_operation_steps_are_checked():
    dl = DownloadImage(None, name=uniq(), namespace={})
    rq = RequestImage(None, name=uniq(), namespace={})
    with pytest.raises(ValidationError, match="steps"):
        aw.Operation(dl, rq)
    with pytest.raises(ValidationError, match="steps"):
        aw.Operation("not an activity")
    panel_op = aw.Operation(aw.RequestImagePanel(name=uniq(), namespace={}))
    assert panel_op.request is not None and panel_op.download is None


async def test_operation_panel_runs_and_shows_its_log(conn, emu):
    word = emu.config.content_filter_word
    log = OperationLog()
    op = aw.Operation(req_act(conn, prompt="cfg", continue_on_error=True),
                      DownloadImage(conn, name=uniq("get"), continue_on_error=True, namespace={}),
                      name=uniq("op"), log=log)
    panel = aw.OperationPanel(op, data=["a", f"b {word}"])
    assert "Request Image" in panel.chain.value and "Download Image" in panel.chain.value
    panel.run_button.click()
    await asyncio.wait_for(panel._task, 30)
    assert op.status == "completed"
    assert panel.bar.bar.value == 2 and panel.bar.bar.bar_style == "danger"
    assert panel.log_view.table.value.count("azimage-oplog-error") >= 1
    panel.log_view.errors_only.value = True
    assert "contentFilter" in panel.log_view.table.value
    panel.close()


async def test_operation_run_state_is_one_typed_value(conn, emu):
    """An Operation holds its run in ``state`` (a RunState), as an activity does."""
    from azimage_widgets.activities.run_state import RunState, RunStatus

    word = emu.config.content_filter_word
    op = aw.Operation(req_act(conn, prompt="cfg"),
                      DownloadImage(conn, name=uniq("get"), namespace={}),
                      name=uniq("op"), log=OperationLog())
    assert isinstance(op.state, RunState) and op.state.status is RunStatus.IDLE
    seen: list[RunState] = []
    op.observe(lambda c: seen.append(c["new"]), names="state")
    results = await op.run(["a fox"])
    assert seen[0].running and seen[0].started is not None
    assert op.state.status is RunStatus.SUCCEEDED and not op.running
    assert op.state.value is results and op.results is results and op.state.error is None
    assert op.elapsed == op.state.elapsed > 0
    with pytest.raises(DatasetError):
        await op.run(["a fox", f"a {word} fox"])
    assert op.state.status is RunStatus.FAILED and op.state.error["dataset"] == 1
    assert op.state.error["code"] == "contentFilter" and op.message == op.state.message
    with pytest.raises(AttributeError):
        op.status = "idle"  # read through the state, never set beside it
