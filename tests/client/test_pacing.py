"""Pacing: a deployment's quota spaces its submits (client/pacing.py).

Unit tests drive a Pace with a fake clock; the loopback tests send real HTTP
to a small quota-keeping server and count its 429s.
"""
from __future__ import annotations

import asyncio
import json
import threading
import time
from collections import deque
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from fakes import FAKE_KEY

import azimage_widgets as aw
from azimage_widgets.client.pacing import (
    Pace,
    combined_eta,
    forget_paces,
    pace_for,
    parse_duration,
    request_deployment,
    submit_images,
    with_pacing,
)
from azimage_widgets.client.retry import parse_retry_after
from azimage_widgets.contract import ValidationError


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(autouse=True)
def _fresh_paces() -> Iterator[None]:
    forget_paces()
    yield
    forget_paces()


def test_configured_rate_spaces_slots_by_images():
    clock = Clock()
    pace = Pace(images_per_minute=60, clock=clock)
    assert [pace.reserve(1) for _ in range(3)] == [0.0, 1.0, 2.0]
    assert pace.reserve(2) == 3.0      # n=2 uses two seconds of quota
    assert pace.reserve(1) == 5.0
    clock.now += 10                    # idle time is not banked as a burst
    assert pace.reserve(1) == 0.0
    assert pace.reserve(1) == 1.0


def test_requests_rate_and_images_rate_the_slower_wins():
    pace = Pace(images_per_minute=120, requests_per_minute=30, clock=Clock())
    assert pace.interval(1) == 2.0     # 30 requests/min
    assert pace.interval(8) == 4.0     # 8 images at 120/min


def test_unknown_rate_does_not_wait_until_a_429_teaches_one():
    clock = Clock()
    pace = Pace(clock=clock)
    assert not pace.paced and pace.eta(10) is None
    for _ in range(5):
        assert pace.reserve() == 0.0
        pace.observe(202, {})
        clock.now += 0.01
    pace.observe(429, {"Retry-After": "1"})
    # five let through from the first (0.05 s ago) to the retry time: ~286 per minute
    assert pace.learned_images_per_minute == pytest.approx(60 * 5 / 1.05, rel=0.01)
    assert pace.throttled == 1
    assert pace.reserve() == pytest.approx(1.0)       # paused for the Retry-After
    assert pace.reserve() == pytest.approx(1.0 + 1.05 / 5, rel=0.01)
    # a slow (minute-long) window teaches a slow rate
    slow = Pace(clock=clock)
    for _ in range(5):
        slow.observe(200, {})
    slow.observe(429, {"retry-after": "60"})
    assert slow.learned_images_per_minute == pytest.approx(5.0)


def test_configured_rate_is_not_overridden_by_a_429_but_the_pause_holds():
    clock = Clock()
    pace = Pace(images_per_minute=60, clock=clock)
    pace.observe(200, {})
    pace.observe(429, {"retry-after-ms": "2500"})
    assert pace.learned_images_per_minute is None
    assert pace.wait() == pytest.approx(2.5)


def test_ratelimit_headers():
    clock = Clock()
    pace = Pace(clock=clock)
    pace.observe(200, {"x-ratelimit-limit-requests": "30"})
    assert pace.requests_rate() == 30 and pace.interval() == 2.0
    pace = Pace(clock=clock)
    pace.observe(200, {"x-ratelimit-remaining-requests": "10", "x-ratelimit-reset-requests": "20s"})
    assert pace.requests_rate() == 30
    pace.observe(200, {"x-ratelimit-remaining-tokens": "0", "x-ratelimit-reset-tokens": "6m0s"})
    assert pace.wait() == pytest.approx(60.0)  # capped like a Retry-After
    pace2 = Pace(clock=clock)
    pace2.observe(200, {"x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "250ms"})
    assert pace2.wait() == pytest.approx(0.25)


@pytest.mark.parametrize("text,seconds", [
    ("20", 20.0), ("1s", 1.0), ("6m0s", 360.0), ("250ms", 0.25), ("1h2m", 3720.0), ("1.5s", 1.5),
    ("soon", None), ("5x", None), ("", None), (None, None), ("-1", None)])
def test_parse_duration(text, seconds):
    assert parse_duration(text) == seconds


def test_eta_from_the_pace_and_over_several_paces():
    clock = Clock()
    a = Pace(images_per_minute=60, clock=clock)
    b = Pace(images_per_minute=30, clock=clock)
    assert a.eta(30) == pytest.approx(30.0)
    a.reserve(5)
    assert a.eta(30) == pytest.approx(35.0)  # what is already reserved comes first
    assert combined_eta([Pace(images_per_minute=60, clock=clock), b], 90) == pytest.approx(60.0)
    assert combined_eta([Pace(clock=clock)], 10) is None


def test_acquire_waits_again_when_a_429_paused_it_meanwhile():
    clock = Clock()
    pace = Pace(images_per_minute=60, clock=clock)
    slept: list[float] = []

    async def sleep(s: float) -> None:
        slept.append(s)
        if len(slept) == 1:
            pace.observe(429, {"retry-after": "5"})  # arrives while this one waits
        clock.now += s

    async def main() -> None:
        pace.reserve()
        await pace.acquire(1, sleep)

    asyncio.run(main())
    assert slept[0] == pytest.approx(1.0)
    assert sum(slept) >= 5.0 and clock.now >= 100 + 5.0


def test_connection_carries_the_quota_and_pace_for_uses_it():
    conn = aw.Connection("http://127.0.0.1:9", api_key=FAKE_KEY, images_per_minute=5,
                         deployment="gpt-image-1")
    assert conn.images_per_minute == 5.0 and conn.requests_per_minute is None
    assert conn.to_dict()["images_per_minute"] == 5.0
    pace = pace_for(conn)
    assert pace is pace_for(conn) and pace.interval() == 12.0
    assert pace_for(conn, "other") is not pace
    for bad in (0, -1, "5", float("inf"), True):
        with pytest.raises(ValidationError):
            aw.Connection("http://127.0.0.1:9", api_key=FAKE_KEY, images_per_minute=bad)


def test_which_requests_are_generations():
    def req(method: str, url: str, body: object = None) -> httpx.Request:
        return httpx.Request(method, url, json=body)

    assert submit_images(req("POST", "http://h/openai/images/generations:submit?api-version=x",
                             {"n": 3})) == 3
    assert submit_images(req("POST", "http://h/openai/deployments/d/images/generations",
                             {"prompt": "p"})) == 1
    assert submit_images(req("POST", "http://h/openai/v1/images/generations", {"n": True})) == 1
    assert submit_images(req("GET", "http://h/openai/operations/images/1")) is None
    assert submit_images(req("DELETE", "http://h/openai/images/generations:submit")) is None
    assert request_deployment(req("POST", "http://h/openai/deployments/my%20dep/images/edits")) \
        == "my dep"
    assert request_deployment(req("POST", "http://h/openai/v1/images/generations",
                                  {"model": "gi2"})) == "gi2"
    assert request_deployment(req("POST", "http://h/openai/images/generations:submit", {})) is None


# -- real HTTP -------------------------------------------------------------------------------
class QuotaServer:
    """Loopback HTTP server taking at most ``limit`` submits per ``window`` seconds (else 429)."""

    def __init__(self, limit: int, window: float) -> None:
        self.limit, self.window = limit, window
        self.times: deque[float] = deque()
        self.answers: list[int] = []
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                self.rfile.read(int(self.headers.get("content-length", 0)))
                status, extra = outer.admit()
                body = json.dumps({"id": "x", "status": "notRunning"} if status == 202 else
                                  {"error": {"code": "429", "message": "slow down"}}).encode()
                self.send_response(status)
                for k, v in extra.items():
                    self.send_header(k, v)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        class Server(ThreadingHTTPServer):
            request_queue_size = 128  # a batch connects all at once
            daemon_threads = True

        self.server = Server(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"

    def admit(self) -> tuple[int, dict[str, str]]:
        with self.lock:
            now = time.monotonic()
            while self.times and self.times[0] <= now - self.window:
                self.times.popleft()
            if len(self.times) >= self.limit:
                self.answers.append(429)
                wait = self.times[0] + self.window - now
                return 429, {"retry-after-ms": str(int(wait * 1000) + 1)}
            self.times.append(now)
            self.answers.append(202)
            return 202, {}

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def quota() -> Iterator[QuotaServer]:
    server = QuotaServer(limit=4, window=1.0)  # 240 per minute, in one-second windows
    yield server
    server.close()


async def _send_all(conn: aw.Connection, count: int) -> float:
    """``count`` submits at once through the pacing hooks, each retried until accepted."""
    url = f"{conn.endpoint}/openai/images/generations:submit?api-version=2023-06-01-preview"
    async with httpx.AsyncClient(event_hooks=with_pacing(conn, None)) as http:
        async def one(i: int) -> None:
            while True:  # retried the way ImageClient does: after the server's Retry-After
                answer = await http.post(url, json={"prompt": f"p{i}"})
                if answer.status_code != 429:
                    return
                await asyncio.sleep(parse_retry_after(answer.headers) or 0.1)
        t0 = time.monotonic()
        await asyncio.gather(*(one(i) for i in range(count)))
        return time.monotonic() - t0


def test_configured_pace_sends_at_the_quota_without_429s(quota):
    conn = aw.Connection(quota.endpoint, api_key=FAKE_KEY, images_per_minute=200)
    took = asyncio.run(_send_all(conn, 12))
    assert quota.answers.count(202) == 12
    assert quota.answers.count(429) <= 1
    assert took >= 11 * 60 / 200 * 0.9  # spaced, not a burst


def test_learned_pace_stops_the_429_storm(quota):
    conn = aw.Connection(quota.endpoint, api_key=FAKE_KEY)
    asyncio.run(_send_all(conn, 16))
    assert quota.answers.count(202) == 16
    first_burst = 16 - 4
    pace = pace_for(conn)
    assert pace.learned_images_per_minute is not None
    # without a pace each waiting submit would be refused again on every window; the
    # first burst's refusals teach the rate and later ones are rare
    assert quota.answers.count(429) < first_burst + 6
