"""A local Azure OpenAI image service on loopback: every flow the package speaks.

The seeds' asynchronous flow (2023-06-01-preview), the deployments path
(2024-10-21, 2025-04-01-preview) and the v1 API (``/openai/v1/images/...``,
streaming included), each deployment answering as its model.

The embedded default when no Azure endpoint is configured, and the fault
injector of the tests. It shares only ``azimage_widgets.contract`` with the
client. ``start(**knobs)`` runs one in the background; ``embedded()`` is the
process-wide one; ``python -m azimage_widgets.emulator`` runs one in the
foreground. Knobs: see ``EmulatorConfig``.
"""
from .app import EmulatorState, RequestRecord, StreamRecord
from .config import EmulatorConfig
from .server import EmulatorHandle, embedded, start

__all__ = ["EmulatorConfig", "EmulatorHandle", "EmulatorState", "RequestRecord", "StreamRecord",
           "embedded", "start"]
