"""A 40-prompt batch survives a killed kernel and a killed emulator: real processes, real HTTP.
So does a 40-dataset Operation chain (request -> download -> write) in a killed kernel.

The emulator runs as its own process (``python -m azimage_widgets.emulator``)
with ``--request-log``; the batch runs in a real IPython kernel
(jupyter_client). The test reads the batch journal the kernel writes to know
which prompts had finished, kills a process with SIGKILL, and checks in the
emulator's request log that no finished prompt was generated twice.
"""
from __future__ import annotations

import collections
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fakes import FAKE_KEY
from helpers import isolate_jupyter

from azimage_widgets.emulator.request_log import read
from azimage_widgets.store.journal import JOURNAL_NAME

pytestmark = pytest.mark.slow

N = 40


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Emulator:
    """The emulator CLI in a subprocess on fixed ports, so a restart keeps its address."""

    def __init__(self, log: Path) -> None:
        self.log = log
        self.port, self.images_port = free_port(), free_port()
        self.proc: subprocess.Popen[str] | None = None
        self.endpoint = ""

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "azimage_widgets.emulator", "--api-key", FAKE_KEY,
             "--port", str(self.port), "--images-port", str(self.images_port),
             "--processing-time", "1.5", "--retry-after", "none", "--request-log", str(self.log)],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env={**os.environ})
        assert self.proc.stdout is not None
        self.endpoint = self.proc.stdout.readline().strip()
        assert self.endpoint.startswith("http://127.0.0.1:")

    def kill(self) -> int:
        assert self.proc is not None
        pid = self.proc.pid
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)
        return pid

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)


class Kernel:
    """A real IPython kernel that runs one cell and is read back through its output."""

    def __init__(self, cwd: Path) -> None:
        from jupyter_client import KernelManager

        self.km = KernelManager(kernel_name="python3")
        self.km.start_kernel(cwd=str(cwd))
        self.kc = self.km.client()
        self.kc.start_channels()
        self.kc.wait_for_ready(timeout=90)

    def execute(self, code: str) -> str:
        return str(self.kc.execute(code))

    def output(self, msg_id: str, timeout: float) -> str:
        """Stdout of ``msg_id`` until it is idle; an error output fails the test."""
        end = time.monotonic() + timeout
        out: list[str] = []
        while time.monotonic() < end:
            try:
                msg = self.kc.get_iopub_msg(timeout=1)
            except Exception:  # noqa: BLE001 - queue.Empty: nothing yet
                continue
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            kind, content = msg["msg_type"], msg["content"]
            if kind == "stream":
                out.append(content["text"])
            elif kind == "error":
                raise AssertionError("the cell failed: " + "\n".join(content["traceback"]))
            elif kind == "status" and content["execution_state"] == "idle":
                return "".join(out)
        raise AssertionError(f"the cell did not finish in {timeout} s; output so far: {out}")

    def kill(self) -> None:
        pid = self.km.provisioner.process.pid  # type: ignore[union-attr]
        os.kill(pid, signal.SIGKILL)
        self.close()

    def close(self) -> None:
        self.kc.stop_channels()
        self.km.shutdown_kernel(now=True)


CELL = """
import collections, json
import azimage_widgets as aw
from azimage_widgets.activities import RequestImage
conn = aw.Connection({endpoint!r}, api_key={key!r})
req = RequestImage(conn, name="forty", size="256x256", output="imgs", replace=True)
res = await req.run([{{"prompt": p}} for p in {prompts!r}], concurrency=8)
per_dataset = collections.Counter(e.dataset for e in res.log if e.activity == "forty")
print("RESULT " + json.dumps({{
    "results": len(res),
    "one_image_each": all(len(r.images) == 1 for r in res),
    "ids": [r.id for r in res],
    "log": sorted(per_dataset.values()),
    "log_datasets": len(per_dataset),
    "bound": imgs is res,
    "billed_twice": sum("possibly billed twice" in e.message for e in res.log),
}}))
"""


def journal_states(store: Path) -> list[str]:
    path = store / JOURNAL_NAME
    if not path.exists():
        return []
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5) as db:
            return [s for (s,) in db.execute("SELECT state FROM items ORDER BY idx")]
    except sqlite3.Error:
        return []


def wait_for_done(store: Path, at_least: int, timeout: float = 60) -> list[str]:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        states = journal_states(store)
        if states.count("done") >= at_least and "submitted" in states:
            return states
        time.sleep(0.1)
    raise AssertionError(f"the batch did not get going: {journal_states(store)}")


def result_of(text: str) -> dict[str, Any]:
    line = next(x for x in text.splitlines() if x.startswith("RESULT "))
    return dict(json.loads(line[len("RESULT "):]))


def accepted_submits(log: Path) -> dict[str, list[int]]:
    """prompt -> pids of the emulator processes that accepted a submit of it."""
    out: dict[str, list[int]] = collections.defaultdict(list)
    for line in read(str(log)):
        if line["method"] == "POST" and line["status"] == 202 and "prompt" in line:
            out[line["prompt"]].append(line["pid"])
    return out


def kill_mid_batch_and_run_again(work: Path, store: Path, cell: str,
                                 prompts: list[str]) -> tuple[dict[str, Any], set[str], int]:
    """Run ``cell`` in a kernel, SIGKILL it once 8 datasets are done, run it in a new kernel.

    Returns the second run's result, the prompts done before the kill, and how many requests
    the kill cut off (sent, no answer: they are sent again)."""
    kernel = Kernel(work)
    kernel.execute(cell)
    before = wait_for_done(store, at_least=8)
    kernel.kill()                                    # SIGKILL mid-batch
    after_kill = journal_states(store)
    done_before = {prompts[i] for i, s in enumerate(before) if s == "done"}
    assert len(done_before) >= 8 and after_kill.count("done") < len(prompts)
    kernel = Kernel(work)
    try:
        res = result_of(kernel.output(kernel.execute(cell), timeout=120))
    finally:
        kernel.close()
    return res, done_before, after_kill.count("sending")


def assert_finished_ones_not_generated_again(log: Path, prompts: list[str], done_before: set[str],
                                             cut_off: int) -> None:
    submits = accepted_submits(log)
    assert set(submits) == set(prompts)
    for p in done_before:
        assert len(submits[p]) == 1, f"{p!r} had finished before the kill and was generated again"
    # only the requests cut off by the kill were sent twice; submitted ones were polled by id
    assert sum(len(v) for v in submits.values()) == len(prompts) + cut_off


@pytest.fixture
def setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Path, Path, Emulator]]:
    for var in [v for v in os.environ if v.startswith("AZURE_OPENAI_")]:
        monkeypatch.delenv(var)
    work = isolate_jupyter(tmp_path, monkeypatch)
    store = Path(os.environ["AZIMAGE_STORE_DIR"])
    emu = Emulator(tmp_path / "requests.jsonl")
    emu.start()
    try:
        yield work, store, emu
    finally:
        emu.stop()


def check_result(res: dict[str, Any]) -> None:
    assert res["results"] == N and res["one_image_each"]
    assert len(set(res["ids"])) == N               # one result per prompt, none shared
    assert res["log"] == [1] * N and res["log_datasets"] == N   # the log: each dataset once
    assert res["bound"]


def test_a_killed_kernel_resumes_without_generating_finished_prompts_again(setup):
    work, store, emu = setup
    prompts = [f"restart {uuid.uuid4().hex[:6]} {i}" for i in range(N)]
    cell = CELL.format(endpoint=emu.endpoint, key=FAKE_KEY, prompts=prompts)
    res, done_before, cut_off = kill_mid_batch_and_run_again(work, store, cell, prompts)
    check_result(res)
    assert res["billed_twice"] == cut_off
    assert_finished_ones_not_generated_again(emu.log, prompts, done_before, cut_off)


def test_a_killed_emulator_loses_its_operations_and_only_those_are_sent_again(setup):
    work, store, emu = setup
    prompts = [f"emu restart {uuid.uuid4().hex[:6]} {i}" for i in range(N)]
    cell = CELL.format(endpoint=emu.endpoint, key=FAKE_KEY, prompts=prompts)

    kernel = Kernel(work)
    try:
        msg_id = kernel.execute(cell)
        before = wait_for_done(store, at_least=8)
        first_pid = emu.kill()                       # its in-memory operations are gone
        emu.start()
        res = result_of(kernel.output(msg_id, timeout=120))
    finally:
        kernel.close()
    check_result(res)

    done_before = {prompts[i] for i, s in enumerate(before) if s == "done"}
    submits = accepted_submits(emu.log)
    assert set(submits) == set(prompts)
    for p in done_before:
        assert submits[p] == [first_pid], f"{p!r} had finished before the kill and was sent again"
    for p, pids in submits.items():
        # at most once per emulator process: sent again only because the first one lost it
        assert pids.count(first_pid) <= 1 and len(pids) - pids.count(first_pid) <= 1, (p, pids)
        if len(pids) == 2:
            assert pids[0] == first_pid and p not in done_before
    assert any(len(p) == 2 for p in submits.values()), "no operation was in flight at the kill"


CHAIN_CELL = """
import collections, json, pathlib
import azimage_widgets as aw
from azimage_widgets.activities import DownloadImage, RequestImage
conn = aw.Connection({endpoint!r}, api_key={key!r})
req = RequestImage(conn, name="chain-req", size="256x256", replace=True)
dl = DownloadImage(conn, name="chain-dl", replace=True)
op = aw.Operation(req, dl, name="forty-chain", write_to="out", concurrency=8)
res = await op.run([{{"prompt": p}} for p in {prompts!r}])
steps = collections.Counter((e.activity, e.dataset) for e in res.log if e.operation == "forty-chain")
print("RESULT " + json.dumps({{
    "results": len(res),
    "one_image_each": all(len(r.images) == 1 for r in res),
    "ids": [r.id for r in res],
    "steps": sorted(set(steps.values())),
    "datasets": sorted({{d for (_, d) in steps}}) == list(range(len(res))),
    "activities": sorted({{a for (a, _) in steps}}),
    "sidecars": sorted(p.name for p in pathlib.Path("out").glob("*.json")),
    "files_kept": all(pathlib.Path(f).is_file() for r in res for f in r.files),
}}))
"""


def test_a_killed_kernel_resumes_an_operation_chain_without_redoing_finished_datasets(setup):
    work, store, emu = setup
    prompts = [f"chain {uuid.uuid4().hex[:6]} {i}" for i in range(N)]
    cell = CHAIN_CELL.format(endpoint=emu.endpoint, key=FAKE_KEY, prompts=prompts)
    res, done_before, cut_off = kill_mid_batch_and_run_again(work, store, cell, prompts)
    assert res["results"] == N and res["one_image_each"] and len(set(res["ids"])) == N
    assert res["steps"] == [1] and res["datasets"]   # each step of each dataset logged once
    assert res["activities"] == ["chain-dl", "chain-req", "write"]
    assert res["sidecars"] == sorted(f"chain-dl-{i}.json" for i in range(N))
    assert res["files_kept"]
    assert_finished_ones_not_generated_again(emu.log, prompts, done_before, cut_off)
