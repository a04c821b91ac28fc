"""Fixtures of the activities' tests."""
from __future__ import annotations

import os

import pytest


@pytest.fixture
def read_only_store(tmp_path):
    """An image store folder no journal can be written in (for root, whom permissions do not
    stop, the journal's file name is taken by a folder too)."""
    folder = tmp_path / "read-only-store"
    folder.mkdir()
    if os.geteuid() == 0:
        (folder / "journal.sqlite3").mkdir()
    folder.chmod(0o555)
    try:
        yield folder
    finally:
        folder.chmod(0o755)
