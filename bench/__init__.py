"""Benchmarks of azimage-widgets against the emulator; see bench/run.py (``python -m bench``)."""
