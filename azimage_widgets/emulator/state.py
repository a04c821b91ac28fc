"""What the handlers of one emulator share, and the records tests and benchmarks read."""
from __future__ import annotations

import random
from collections import deque
from dataclasses import dataclass, field
from typing import NamedTuple

from .config import EmulatorConfig
from .operations import OperationStore
from .quota import ImageQuota
from .sas import UrlSigner


class StreamRecord(NamedTuple):
    """One server-sent event of a streamed answer, noted just after it was flushed."""

    path: str
    type: str  # "image_generation.partial_image", ... "image_edit.completed"
    sent_at: float  # time.monotonic()


class RequestRecord(NamedTuple):
    """One request the emulator answered (for tests and benchmarks to count)."""

    method: str
    path: str
    status: int
    listener: str  # "api" or "images"
    credentials: bool  # an api-key or Authorization header came with it


@dataclass
class EmulatorState:
    """What the handlers of one emulator share; lives on the emulator's loop thread."""

    config: EmulatorConfig
    images_base: str = ""  # absolute URL of the image host, set once it listens
    store: OperationStore = field(default_factory=OperationStore)
    signer: UrlSigner = field(default_factory=UrlSigner)
    requests: list[RequestRecord] = field(default_factory=list)
    window: deque[float] = field(default_factory=deque)  # monotonic times of admitted API requests
    quota: ImageQuota = field(default_factory=ImageQuota)  # images per deployment per minute
    stream_events: list[StreamRecord] = field(default_factory=list)  # streamed events sent

    def __post_init__(self) -> None:
        self.rng = random.Random(self.config.seed)

    def chance(self, rate: float) -> bool:
        return rate > 0 and self.rng.random() < rate


__all__ = ["EmulatorState", "RequestRecord", "StreamRecord"]
