"""``python -m azimage_widgets.emulator``: serve until stopped.

The endpoint URL is the first line of stdout, so a script can read it; the
image host follows. A key passed with --api-key is never printed; a
generated one is printed once (on stderr) because nobody else knows it.
"""
from __future__ import annotations

import argparse
import signal
import sys
import threading

from .config import EmulatorConfig, parse_deployment
from .server import start


def _retry_after(text: str) -> int | None:
    return None if text.lower() == "none" else int(text)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    d = EmulatorConfig()
    p = argparse.ArgumentParser(prog="python -m azimage_widgets.emulator",
                                description="A local Azure OpenAI image service for tests and demos.")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=0, help="API port (0: a free one)")
    p.add_argument("--images-port", type=int, default=0, help="image host port (0: a free one)")
    p.add_argument("--api-key", default=None, help="key clients must send (default: random)")
    p.add_argument("--latency", type=float, default=d.latency, help="seconds added to every API answer")
    p.add_argument("--processing-time", type=float, default=d.processing_time,
                   help="seconds from submit to a terminal status")
    p.add_argument("--retry-after", type=_retry_after, default=d.retry_after,
                   help="Retry-After seconds on polls, or 'none'")
    p.add_argument("--rpm-limit", type=int, default=None, help="API requests per minute, then 429")
    p.add_argument("--failure-rate", type=float, default=0.0, help="fraction answered 500/503")
    p.add_argument("--content-filter-word", default=d.content_filter_word,
                   help="prompt word that fails the operation with contentFilter")
    p.add_argument("--partial-filter-word", default=d.partial_filter_word,
                   help="prompt word that filters the last image of several")
    p.add_argument("--cancel-word", default=d.cancel_word, help="prompt word that ends canceled")
    p.add_argument("--drop-rate", type=float, default=0.0, help="fraction of API connections dropped")
    p.add_argument("--corrupt-rate", type=float, default=0.0, help="fraction of corrupt image downloads")
    p.add_argument("--image-ttl", type=float, default=d.image_ttl, help="seconds image links stay valid")
    p.add_argument("--seed", type=int, default=None, help="seed of the fault dice")
    p.add_argument("--deployment", dest="deployments", action="append", type=parse_deployment,
                   metavar="NAME=MODEL", help="a deployment and the model it answers as (repeat "
                   "for more; a bare NAME: the model its name names); default: any name")
    p.add_argument("--images-per-minute", type=int, default=None,
                   help="images per minute per deployment, then 429 + Retry-After")
    p.add_argument("--accept-any-bearer", action="store_true",
                   help="accept any Authorization: Bearer token (Entra ID tryouts)")
    p.add_argument("--request-log", default=None, metavar="PATH",
                   help="append one JSON line per answered request to PATH (method, path, "
                        "status, prompt; never headers)")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    knobs = {k: v for k, v in vars(args).items() if k not in ("host", "port", "images_port")}
    if args.deployments is not None:
        knobs["deployments"] = dict(args.deployments)
    handle = start(args.host, args.port, args.images_port, **knobs)
    print(handle.endpoint, flush=True)
    print(f"images: {handle.images_endpoint}", flush=True)
    if args.api_key is None:
        print(f"api key (generated): {handle.api_key}", file=sys.stderr, flush=True)
    else:
        print("api key: as given with --api-key", flush=True)
    done = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: done.set())
    done.wait()
    handle.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
