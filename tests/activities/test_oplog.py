"""The operation log: entries, error filter, CSV/JSON export, the session default, and its widget.

Runs that write to it against the emulator are in test_operations*.py.
"""
from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta, timezone

import pytest

import azimage_widgets as aw
from azimage_widgets.activities.oplog import COLUMNS, OperationLog, default_log


def filled() -> OperationLog:
    log = OperationLog()
    log.add(activity="fox", kind="request_image", dataset=0, status="succeeded",
            operation_id="op-0", message="1 image", duration=1.23456, operation="batch")
    log.add(activity="fox", kind="request_image", dataset=1, status="failed",
            operation_id="op-1", message="contentFilter: refused, \"quoted\", comma",
            duration=0.5, operation="batch", code="contentFilter")
    log.add(activity="get", kind="download_image", dataset=2, status="canceled", duration=0.1)
    return log


def test_entry_fields_and_error_filter():
    log = filled()
    assert len(log) == 3
    e = log[1]
    assert (e.activity, e.dataset, e.status, e.operation_id, e.code) == \
        ("fox", 1, "failed", "op-1", "contentFilter")
    assert e.time.tzinfo is timezone.utc and e.is_error
    assert log[0].duration == 1.235
    assert [x.dataset for x in log.errors()] == [1]
    assert [x.dataset for x in log.filter(activity="get")] == [2]
    assert [x.dataset for x in log.filter(operation="batch", status="succeeded")] == [0]
    later = datetime.now(timezone.utc) + timedelta(seconds=5)
    assert log.filter(since=later) == []


def test_csv_export_round_trips(tmp_path):
    log = filled()
    path = tmp_path / "log.csv"
    text = log.to_csv(path)
    assert path.read_text(encoding="utf-8") == text
    rows = list(csv.DictReader(io.StringIO(text)))
    assert list(rows[0]) == list(COLUMNS)
    assert [r["status"] for r in rows] == ["succeeded", "failed", "canceled"]
    assert rows[1]["message"] == "contentFilter: refused, \"quoted\", comma"
    assert rows[2]["operation_id"] == ""  # None is written empty
    errors = list(csv.DictReader(io.StringIO(log.to_csv(errors_only=True))))
    assert [r["dataset"] for r in errors] == ["1"]


def test_json_export_round_trips(tmp_path):
    log = filled()
    path = tmp_path / "log.json"
    data = json.loads(log.to_json(path))
    assert json.loads(path.read_text(encoding="utf-8")) == data
    assert [d["dataset"] for d in data] == [0, 1, 2]
    assert set(data[0]) == set(COLUMNS)
    assert datetime.fromisoformat(data[0]["time"]).tzinfo is not None
    assert [d["code"] for d in json.loads(log.to_json(errors_only=True))] == ["contentFilter"]


def test_cap_drops_oldest_and_version_counts_changes():
    log = OperationLog(max_entries=3)
    seen = []
    log.observe(lambda c: seen.append(c["new"]), names="version")
    for i in range(5):
        log.add(activity="a", dataset=i, status="succeeded")
    assert [e.dataset for e in log] == [2, 3, 4]
    assert seen == [1, 2, 3, 4, 5]
    log.clear()
    assert len(log) == 0 and seen[-1] == 6
    with pytest.raises(ValueError):
        OperationLog(max_entries=0)


def test_session_default_is_one_object_and_exported():
    assert default_log() is default_log()
    assert aw.OperationLog is OperationLog
    assert "0 entries" in repr(OperationLog())


def test_log_widget_filters_and_exports(tmp_path):
    from azimage_widgets.widgets import OperationLogView

    log = filled()
    view = OperationLogView(log, folder=str(tmp_path))
    assert view.table.value.count('class="azimage-oplog-row') == 3
    assert view.table.value.count("azimage-oplog-error") == 1
    view.errors_only.value = True
    assert view.table.value.count('class="azimage-oplog-row') == 1
    assert "op-1" in view.table.value and "op-0" not in view.table.value
    view.json_button.click()
    [written] = list(tmp_path.glob("*.json"))
    assert [d["dataset"] for d in json.loads(written.read_text())] == [1]
    assert str(written) in view.status.value
    view.errors_only.value = False
    view.csv_button.click()
    [written_csv] = list(tmp_path.glob("*.csv"))
    assert len(list(csv.DictReader(io.StringIO(written_csv.read_text())))) == 3
    # follows the log as entries arrive
    log.add(activity="late", dataset=9, status="failed", message="boom")
    assert "late" in view.table.value and "boom" in view.table.value
    # an export that cannot be written says so in the widget
    view.folder.value = str(written_csv)  # a file, not a folder
    view.csv_button.click()
    assert "Export failed" in view.status.value
    view.close()
    log.add(activity="after-close", status="succeeded")
    assert "after-close" not in view.table.value


def test_log_widget_shows_newest_rows_only():
    from azimage_widgets.widgets import OperationLogView

    log = OperationLog()
    for i in range(30):
        log.add(activity=f"a{i}", dataset=i, status="succeeded")
    view = OperationLogView(log, max_rows=10)
    assert view.table.value.count('class="azimage-oplog-row') == 10
    assert "a29" in view.table.value and ">a0<" not in view.table.value
    assert "newest 10 of 30" in view.table.value
