"""CompareGrid's status line says what the batch journal did: resumed, or not durable."""
from __future__ import annotations

import uuid

from helpers import after_a_restart, submits

import azimage_widgets as aw


async def test_the_grid_status_shows_a_resumed_run(conn, emu):
    prompts = [f"grid resume {uuid.uuid4().hex[:6]}"]
    await aw.CompareGrid(conn, prompts=prompts, size="256x256").start()
    after_a_restart()
    grid = aw.CompareGrid(conn, prompts=prompts, size="256x256")
    await grid.start()                              # Run all in the new kernel
    assert len(submits(emu, 202)) == 1
    assert "resumed (1 done)" in grid.status_html.value
    assert "not generated again" in grid.cells[0][0].message
    grid.close()


async def test_the_grid_status_says_when_it_is_not_durable(conn, emu):
    grid = aw.CompareGrid(conn, prompts=["no store"], size="256x256", store=False)
    await grid.start()
    assert "not durable" in grid.status_html.value and "store=False" in grid.status_html.value
    grid.close()
