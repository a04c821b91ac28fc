"""Fake credentials shared by tests (never real ones).

A module of its own because ``from conftest import ...`` is ambiguous once
tests/browser/conftest.py is collected too: both are named ``conftest``.
"""

FAKE_KEY = "fake-key-0123456789abcdef"
