"""Running the emulator: two listeners on a loop of their own, in a thread.

``start()`` returns at once with a handle, whatever loop the caller has (a
Jupyter kernel's is always running), because the emulator owns its loop.
Only the given host is bound (127.0.0.1 by default).
"""
from __future__ import annotations

import asyncio
import atexit
import secrets
import threading
from typing import Any

import tornado.httpserver
import tornado.netutil

from .app import EmulatorState, RequestRecord, StreamRecord, make_api_app, make_images_app
from .config import EmulatorConfig

#: Pending connections each listener queues (a load test opens hundreds at once).
BACKLOG = 1024
#: Largest request body the API accepts (a prompt is a few kB; an edit carries its images).
MAX_BODY = 64 * 1024 * 1024


class EmulatorHandle:
    """A running emulator: where it listens, its live knobs, what it saw, and stop()."""

    def __init__(self, state: EmulatorState, host: str) -> None:
        self._state = state
        self.host = host
        self.endpoint = ""
        self.images_endpoint = ""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._servers: list[tornado.httpserver.HTTPServer] = []
        self._thread: threading.Thread | None = None
        self._stopped = False

    @property
    def config(self) -> EmulatorConfig:
        """The live knobs: a change applies to the next request."""
        return self._state.config

    @property
    def api_key(self) -> str:
        assert self._state.config.api_key is not None
        return self._state.config.api_key

    @property
    def requests(self) -> list[RequestRecord]:
        """Every request answered so far (a copy), both listeners."""
        return list(self._state.requests)

    @property
    def stream_events(self) -> list[StreamRecord]:
        """Every server-sent event flushed so far (a copy), with the time it left."""
        return list(self._state.stream_events)

    def reset_stats(self) -> None:
        self._state.requests.clear()
        self._state.stream_events.clear()

    def stop(self) -> None:
        """Close both listeners and their open connections, end the thread."""
        if self._stopped or self._loop is None:
            return
        self._stopped = True

        async def shutdown() -> None:
            for server in self._servers:
                server.stop()
            for server in self._servers:
                await server.close_all_connections()

        try:
            asyncio.run_coroutine_threadsafe(shutdown(), self._loop).result(timeout=5)
        except Exception:  # noqa: BLE001 - stopping must not raise
            pass
        self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)

    def __enter__(self) -> EmulatorHandle:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "stopped" if self._stopped else "running"
        return f"<Emulator {self.endpoint} images={self.images_endpoint} {state}>"


def start(host: str = "127.0.0.1", port: int = 0, images_port: int = 0,
          **knobs: Any) -> EmulatorHandle:
    """Start an emulator in a background thread; knobs are EmulatorConfig fields."""
    config = EmulatorConfig(**knobs)
    if not config.api_key:
        config.api_key = secrets.token_urlsafe(24)
    state = EmulatorState(config)
    handle = EmulatorHandle(state, host)
    api_sockets = tornado.netutil.bind_sockets(port, host, backlog=BACKLOG)
    img_sockets = tornado.netutil.bind_sockets(images_port, host, backlog=BACKLOG)
    url_host = f"[{host}]" if ":" in host else host
    handle.endpoint = f"http://{url_host}:{api_sockets[0].getsockname()[1]}"
    handle.images_endpoint = f"http://{url_host}:{img_sockets[0].getsockname()[1]}"
    state.images_base = handle.images_endpoint
    ready = threading.Event()
    failure: list[BaseException] = []

    def run() -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        handle._loop = loop
        try:
            api = tornado.httpserver.HTTPServer(make_api_app(state), max_body_size=MAX_BODY,
                                                idle_connection_timeout=60)
            img = tornado.httpserver.HTTPServer(make_images_app(state), max_body_size=MAX_BODY,
                                                idle_connection_timeout=60)
            api.add_sockets(api_sockets)
            img.add_sockets(img_sockets)
            handle._servers = [api, img]
        except BaseException as exc:  # noqa: BLE001 - reported to the caller
            failure.append(exc)
            ready.set()
            return
        loop.call_soon(ready.set)
        try:
            loop.run_forever()
        finally:
            loop.close()

    thread = threading.Thread(target=run, name=f"azimage-emulator{handle.endpoint}", daemon=True)
    handle._thread = thread
    thread.start()
    ready.wait(10)
    if failure:
        raise failure[0]
    return handle


_embedded: EmulatorHandle | None = None
_embedded_lock = threading.Lock()


def embedded() -> EmulatorHandle:
    """The process-wide emulator behind ``Connection.from_env()`` with no endpoint set.

    Started on first use with a random key and fast jobs, stopped at exit.
    """
    global _embedded
    with _embedded_lock:
        if _embedded is None or _embedded._stopped:
            _embedded = start(processing_time=1.0, retry_after=None)
            atexit.register(_embedded.stop)
        return _embedded
