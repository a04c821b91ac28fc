"""OperationPanel observes its operation's run state (no emulator: the state is set directly)."""
from __future__ import annotations

import azimage_widgets as aw
from azimage_widgets.activities import RequestImage
from azimage_widgets.activities.oplog import OperationLog
from azimage_widgets.activities.run_state import RunState, RunStatus


def test_panel_follows_the_operation_state():
    conn = aw.Connection("https://res.openai.azure.com", api_key="fake-key")
    op = aw.Operation(RequestImage(conn, name="op-panel-state", namespace={}, prompt="a fox"),
                      log=OperationLog())
    panel = aw.OperationPanel(op)
    try:
        assert not panel.run_button.disabled and panel.cancel_button.disabled
        op.state = RunState().begin()
        assert panel.run_button.disabled and not panel.cancel_button.disabled
        assert "running" in panel.status_html.value
        op.state = op.state.end(RunStatus.FAILED, "no image for you",
                                {"code": "contentFilter", "message": "no image for you"})
        assert not panel.run_button.disabled and panel.cancel_button.disabled
        assert "no image for you" in panel.status_html.value
        assert "azimage-error" in panel.status_html._dom_classes
        op.state = RunState().begin().end(RunStatus.SUCCEEDED, "1 dataset succeeded.")
        assert "azimage-error" not in panel.status_html._dom_classes
        assert "succeeded" in panel.status_html.value and "1 dataset" in panel.status_html.value
    finally:
        panel.close()
    op.state = RunState().begin()  # a closed panel no longer listens
    assert not panel.run_button.disabled
