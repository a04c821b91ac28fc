"""generate_many keeps every result when its progress callback raises (real emulator)."""
from __future__ import annotations

import logging

import pytest

import azimage_widgets as aw
from azimage_widgets.client import BatchError, ImageClient


class Boom(Exception):
    pass


@pytest.mark.parametrize("continue_on_error", [True, False])
async def test_a_raising_progress_callback_loses_nothing(conn, emu, caplog, continue_on_error):
    calls: list[int] = []

    def on_progress(done, total, index, outcome):
        calls.append(index)
        raise Boom(f"callback bug at item {index}")

    prompts = [f"a fox {i}" for i in range(4)]
    caplog.set_level(logging.WARNING, logger="azimage_widgets.client")
    async with ImageClient(conn) as client:
        results = await client.generate_many(prompts, size="256x256", concurrency=2,
                                             continue_on_error=continue_on_error,
                                             on_progress=on_progress, timeout=30)
    assert len(results) == 4
    assert all(isinstance(r, aw.ImageResult) and r.succeeded for r in results), results
    assert sorted(calls) == [0, 1, 2, 3]  # still called for every item
    assert [str(e) for e in results.progress_errors] == [f"callback bug at item {i}" for i in calls]
    assert sum("on_progress raised Boom" in r.getMessage() for r in caplog.records) == 4
    assert sum(1 for r in emu.requests if r.method == "POST") == 4


async def test_a_raising_async_progress_callback_is_attached_to_the_batch_error(conn):
    """continue_on_error=False: the batch stops at the real failure; the callback's errors ride
    along on the BatchError, with the results that finished."""
    async def on_progress(done, total, index, outcome):
        raise Boom(f"async callback bug at item {index}")

    async with ImageClient(conn) as client:
        with pytest.raises(BatchError) as ei:
            await client.generate_many(["a fox", "CONTENT_FILTER fox", "a cat"], size="256x256",
                                       concurrency=1, continue_on_error=False,
                                       on_progress=on_progress, timeout=30)
    err = ei.value
    assert err.index == 1 and isinstance(err.error, aw.ContentFilterError)
    assert isinstance(err.results[0], aw.ImageResult) and err.results[0].succeeded
    assert [str(e) for e in err.progress_errors][:2] == ["async callback bug at item 0",
                                                         "async callback bug at item 1"]
