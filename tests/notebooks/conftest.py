"""Fixtures of the notebook tests."""
from __future__ import annotations

import os

import pytest
from helpers import isolate_jupyter


@pytest.fixture
def kernel_env(tmp_path, monkeypatch):
    """Jupyter/IPython folders in a temp dir and no AZURE_OPENAI_*: kernels use the emulator."""
    for var in [v for v in os.environ if v.startswith("AZURE_OPENAI_")]:
        monkeypatch.delenv(var)
    return isolate_jupyter(tmp_path, monkeypatch)
