"""Shared fixtures: a real emulator on loopback and a connection to it.

Tests use fake keys only. The emulator runs in a background thread of the
test process (``azimage_widgets.emulator.start``) and speaks real HTTP.
"""
from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from fakes import FAKE_KEY  # noqa: E402,F401 - re-exported for fixtures


@pytest.fixture(autouse=True)
def _image_store_in_tmp(tmp_path_factory, monkeypatch) -> None:
    """Fetched images go to a temporary image store, never the user's real data dir."""
    monkeypatch.setenv("AZIMAGE_STORE_DIR", str(tmp_path_factory.mktemp("image-store")))


@pytest.fixture(autouse=True)
def _no_pace_from_an_earlier_test() -> Iterator[None]:
    """Paces are kept per endpoint + deployment for the process; an emulator of a later test
    can get an earlier one's port, so each test starts with none learned."""
    from azimage_widgets.client.pacing import forget_paces

    forget_paces()
    yield
    forget_paces()


@pytest.fixture
def emu() -> Iterator[object]:
    """A fresh emulator with fast jobs; tests change knobs through ``emu.config``."""
    from azimage_widgets import emulator

    handle = emulator.start(api_key=FAKE_KEY, processing_time=0.2, retry_after=None)
    try:
        yield handle
    finally:
        handle.stop()


@pytest.fixture
def conn(emu):
    """A Connection to the ``emu`` fixture's emulator."""
    import azimage_widgets as aw

    return aw.Connection(endpoint=emu.endpoint, api_key=emu.api_key)


def pytest_report_header(config) -> str:
    return f"CI={os.environ.get('CI', '')}"


def pytest_collection_modifyitems(config, items) -> None:
    """Browser tests last: they are the slowest, and Playwright's sync API must be
    stopped before asyncio tests run in the same thread."""
    def is_browser(item) -> bool:
        return item.get_closest_marker("browser") is not None or "/browser/" in f"/{item.nodeid}"

    items.sort(key=is_browser)  # stable: the order within each group is kept
