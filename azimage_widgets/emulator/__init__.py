"""A local Azure OpenAI image service (async flow, 2023-06-01-preview) on loopback.

The embedded default when no Azure endpoint is configured, and the fault
injector of the tests. It shares only ``azimage_widgets.contract`` with the
client. ``start(**knobs)`` runs one in the background; ``embedded()`` is the
process-wide one; ``python -m azimage_widgets.emulator`` runs one in the
foreground. Knobs: see ``EmulatorConfig``.
"""
from .app import EmulatorState, RequestRecord
from .config import EmulatorConfig
from .server import EmulatorHandle, embedded, start

__all__ = ["EmulatorConfig", "EmulatorHandle", "EmulatorState", "RequestRecord", "embedded",
           "start"]
