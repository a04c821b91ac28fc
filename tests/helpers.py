"""Small helpers shared by several test modules (imported as ``from helpers import ...``)."""
from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def api_requests(handle: Any, method: str | None = None, path_part: str = "") -> list:
    """The emulator's records of API requests (not image downloads), optionally filtered."""
    return [r for r in handle.requests if r.listener == "api"
            and (method is None or r.method == method) and path_part in r.path]


def submits(handle: Any, status: int | None = None) -> list:
    """The submit requests an emulator answered, optionally only those answered ``status``."""
    return [r for r in api_requests(handle, "POST", ":submit") if status is None or r.status == status]


async def wait_for(pred, timeout: float = 10.0) -> None:
    end = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > end:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


def front_end_update(widget: Any, state: dict) -> list[dict]:
    """A front end's comm ``update`` message, delivered as the kernel delivers it; what the
    widget sent back (echoes, corrections) meanwhile."""
    sent: list[dict] = []
    comm = widget.comm
    original = comm.send
    comm.send = lambda data=None, metadata=None, buffers=None: sent.append(data)
    try:
        comm.handle_msg({"content": {"comm_id": comm.comm_id,
                                     "data": {"method": "update", "state": state, "buffer_paths": []}},
                         "buffers": []})
    finally:
        comm.send = original
    return sent


def isolate_jupyter(tmp_path: Path, monkeypatch: Any) -> Path:
    """Jupyter/IPython config, runtime and cache dirs under ``tmp_path``, this checkout on
    PYTHONPATH; returns a fresh working directory for a kernel."""
    for var, sub in [("JUPYTER_CONFIG_DIR", "jcfg"), ("JUPYTER_RUNTIME_DIR", "jrun"),
                     ("IPYTHONDIR", "ipython"), ("XDG_CACHE_HOME", "cache")]:
        (tmp_path / sub).mkdir()
        monkeypatch.setenv(var, str(tmp_path / sub))
    monkeypatch.setenv("PYTHONPATH", str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    work = tmp_path / "work"
    work.mkdir()
    return work


# -- a raw HTTP/1.1 server on loopback, for faults no real server makes ------------------------
# A handler answers a request with raw bytes, or with a coroutine function that writes to the
# StreamWriter itself (streams, stalls, drips, drops; the connection is closed after it).


@dataclass
class RawRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


def http_response(status: int, body: bytes | str | Any = b"", *, headers: dict[str, str] | None = None,
                  content_type: str = "application/json") -> bytes:
    if not isinstance(body, (bytes, str)):
        body = json.dumps(body)
    if isinstance(body, str):
        body = body.encode()
    head = [f"HTTP/1.1 {status} X", f"Content-Length: {len(body)}", f"Content-Type: {content_type}"]
    for k, v in (headers or {}).items():
        head.append(f"{k}: {v}")
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


@dataclass
class RawServer:
    """HTTP/1.1 on 127.0.0.1, one handler for every request; records requests and bytes sent."""

    handler: Callable[[RawRequest, RawServer], Any]
    requests: list[RawRequest] = field(default_factory=list)
    sent: int = 0
    _tasks: set = field(default_factory=set)

    async def __aenter__(self) -> RawServer:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        self.base = f"http://127.0.0.1:{self.port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._server.close()
        for t in list(self._tasks):
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._tasks.add(asyncio.current_task())
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                lines = head.decode("latin-1").split("\r\n")
                method, path, _ = lines[0].split(" ", 2)
                headers = {}
                for line in lines[1:]:
                    if ":" in line:
                        k, v = line.split(":", 1)
                        headers[k.strip().lower()] = v.strip()
                body = b""
                if int(headers.get("content-length", "0") or 0):
                    body = await reader.readexactly(int(headers["content-length"]))
                req = RawRequest(method, path, headers, body)
                self.requests.append(req)
                answer = self.handler(req, self)
                if isinstance(answer, bytes):
                    writer.write(answer)
                    self.sent += len(answer)
                    await writer.drain()
                else:
                    await answer(writer)
                    return
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            self._tasks.discard(asyncio.current_task())
            writer.close()


#: The operation id ``submit_ok`` hands out.
RAW_OP_ID = "op-0000-malformed"


def submit_ok(srv: RawServer, op_id: str = RAW_OP_ID) -> bytes:
    """A good 202 answer to a submit, pointing at ``srv``'s poll URL."""
    return http_response(202, {"id": op_id, "status": "notRunning"}, headers={
        "operation-location": f"{srv.base}/openai/operations/images/{op_id}"
                              "?api-version=2023-06-01-preview"})


def raw_api(poll: Callable[[RawRequest, RawServer], Any] | None = None,
            submit: Callable[[RawRequest, RawServer], Any] | None = None
            ) -> Callable[[RawRequest, RawServer], Any]:
    """A RawServer handler: submits answered by ``submit`` (default: a good 202), the rest by
    ``poll``."""
    def handler(req: RawRequest, srv: RawServer) -> Any:
        if req.method == "POST":
            return (submit or (lambda r, s: submit_ok(s)))(req, srv)
        assert poll is not None, f"unexpected {req.method} {req.path}"
        return poll(req, srv)
    return handler


def fast_client(conn: Any, **kw: Any) -> Any:
    """An ImageClient whose retries do not wait (a test must not sleep a backoff)."""
    from azimage_widgets.client import ImageClient

    client = ImageClient(conn, **kw)

    async def no_wait(_s: float) -> None:
        await asyncio.sleep(0)
    client._sleep = no_wait
    return client


def after_a_restart() -> None:
    """What a kernel restart does to the batch journals: the process's open ones are gone, so
    the next run opens the file afresh, as a new kernel that has run no batch yet."""
    from azimage_widgets.store import journal

    for opened in journal._OPEN.values():
        opened.close()
    journal._OPEN.clear()
