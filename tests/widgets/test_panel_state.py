"""A panel follows its activity's run state (``activity.state``), whoever moves it.

The status line, the buttons and the outputs (ids, results) come from one
observer of ``state``; a run started outside the panel's Generate button
(``await panel.run(data)``, or a script driving the activity) shows the same.
"""
from __future__ import annotations

import asyncio
import uuid

from helpers import wait_for

import azimage_widgets as aw
from azimage_widgets.activities.run_state import RunStatus


def uniq(prefix: str = "state") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def test_buttons_and_status_line_follow_the_state():
    p = aw.RequestImagePanel(name=uniq(), prompt="a fox", namespace={})
    try:
        a = p.activity
        assert p.status is RunStatus.IDLE and "idle" in p.status_html.value
        assert not p.run_button.disabled and p.cancel_button.disabled and p.delete_button.disabled

        a.state = a.state.begin()
        assert p.status is RunStatus.RUNNING and "running" in p.status_html.value
        assert p.run_button.disabled and not p.cancel_button.disabled

        a.publish(ids=["op-1", "op-2"])
        assert p.ids == ["op-1", "op-2"] and "op-2" in p.ids_html.value

        info = {"code": "contentFilter", "message": "the prompt was refused"}
        a.state = a.state.end(RunStatus.FAILED, "refused", info)
        assert "Failed" in p.status_html.value and "the prompt was refused" in p.status_html.value
        assert "azimage-error" in p.status_html._dom_classes
        assert not p.run_button.disabled and p.cancel_button.disabled
        assert not p.delete_button.disabled  # the run left operations

        a.state = a.state.begin().end(RunStatus.SUCCEEDED, "done")
        assert "azimage-error" not in p.status_html._dom_classes
        assert "succeeded" in p.status_html.value and "done" in p.status_html.value
    finally:
        p.close()


def test_download_panel_result_follows_the_state():
    d = aw.DownloadImagePanel(name=uniq(), namespace={})
    try:
        assert d.result is None and d.urls_html.value == ""
        d.activity.publish(ids=["op-9"], results=[None])
        assert d.result is None and d.delete_button.disabled
    finally:
        d.close()


async def test_a_batch_run_disables_generate_while_it_runs(conn):
    p = aw.RequestImagePanel(conn, name=uniq(), prompt="a fox", size="256x256", namespace={})
    try:
        task = asyncio.get_running_loop().create_task(
            p.run([{"prompt": "a red fox"}, {"prompt": "a blue fox"}], follow=False))
        await wait_for(lambda: p.activity.state.running, timeout=10)
        assert p.run_button.disabled and not p.cancel_button.disabled
        assert "running" in p.status_html.value
        await task
        assert not p.activity.state.running
        assert not p.run_button.disabled and p.cancel_button.disabled
        assert p.status in (RunStatus.SUCCEEDED, RunStatus.SUBMITTED, RunStatus.COMPLETED)
        assert p.status.value in p.status_html.value
    finally:
        p.close()
