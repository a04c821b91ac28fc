"""Prompt iteration: Compare (layer 3) and CompareGrid (layer 4) against the emulator."""
from __future__ import annotations

import asyncio
import io

import pytest
from helpers import submits
from PIL import Image

import azimage_widgets as aw
from azimage_widgets.store import default_store
from azimage_widgets.widgets import walk


def with_class(root, css):
    return [w for w in walk(root) if css in getattr(w, "_dom_classes", ())]


async def settled(emu) -> None:
    """The emulator records a request just after answering it: wait for the count to settle."""
    last = None
    for _ in range(200):
        if len(emu.requests) == last:
            return
        last = len(emu.requests)
        await asyncio.sleep(0.02)


# -- building the grid -------------------------------------------------------------------------
def test_axes_build_a_grid_of_request_dicts():
    conn = aw.Connection("https://res.openai.azure.com", api_key="fake-key")
    cmp = aw.Compare(conn, prompts=["a fox", "a wolf"], sizes=["256x256", "512x512"], n=2)
    assert cmp.shape == (2, 2)
    assert cmp.cell(1, 0).request == {"prompt": "a wolf", "n": 2, "size": "256x256"}
    one = aw.Compare(conn, prompt="a fox", variants=[{"size": "256x256"}, {"size": "1024x1024", "n": 3}])
    assert [c.request for c in one.all_cells()] == [
        {"prompt": "a fox", "n": 1, "size": "256x256"},
        {"prompt": "a fox", "n": 3, "size": "1024x1024"}]
    assert aw.Compare(conn, prompts=["a", "b", "c"]).shape == (3, 1)
    with pytest.raises(aw.ValidationError, match="not both"):
        aw.Compare(conn, prompts=["a"], prompt="b")
    with pytest.raises(aw.ValidationError, match=r"cell \(0, 1\)\.size"):
        aw.Compare(conn, prompt="a", sizes=["256x256", "300x300"])
    with pytest.raises(aw.ValidationError, match=r"cell \(1, 0\)\.prompt"):
        aw.Compare(conn, prompts=["ok", "x" * 1001])
    with pytest.raises(aw.ValidationError, match="prompts"):
        aw.Compare(conn)
    # the version's own fields are checked against its limits when the grid is made
    with pytest.raises(aw.ValidationError, match=r"cell \(0, 0\)"):
        aw.Compare(conn, prompt="a", variants=[{"quality": "hd"}])  # not a 2023-06-01-preview field
    with pytest.raises(aw.ValidationError, match="cell"):
        cmp.cell(5, 0)


# -- running -------------------------------------------------------------------------------
async def test_run_every_cell_side_by_side_then_rerun_one(conn, emu):
    cmp = aw.Compare(conn, prompts=["a red fox", "a red fox, watercolour"],
                     sizes=["256x256", "512x512"])
    await cmp.run()
    await settled(emu)
    assert all(c.status == "succeeded" for c in cmp.all_cells())
    assert len(submits(emu)) == 4
    for c in cmp.all_cells():
        size = tuple(map(int, c.request["size"].split("x")))
        assert [im.size for im in c.images] == [size]
        rec = c.result.slots[0].record
        assert rec.prompt == c.request["prompt"] and rec.size == c.request["size"]
    before = {(c.row, c.column): c.operation_id for c in cmp.all_cells()}
    cell = await cmp.rerun(1, 0)
    await settled(emu)
    assert len(submits(emu)) == 5  # only that cell was sent again
    assert cell.runs == 2 and cell.operation_id != before[(1, 0)]
    assert all(c.operation_id == before[(c.row, c.column)] for c in cmp.all_cells()
               if (c.row, c.column) != (1, 0))


async def test_a_failing_cell_does_not_stop_the_others(conn, emu):
    cmp = aw.Compare(conn, prompts=["a calm lake", "a CONTENT_FILTER lake"], size="256x256")
    await cmp.run()
    ok, refused = cmp.cell(0), cmp.cell(1)
    assert ok.status == "succeeded" and len(ok.images) == 1
    assert refused.status == "failed" and "contentFilter" in refused.message


async def test_extra_request_fields_are_sent_as_given(conn, emu):
    """Variants may name fields the contract does not know: sent in the body as given."""
    seen: list[bytes] = []

    async def record(request):
        if request.method == "POST":
            seen.append(request.content)

    client = aw.ImageClient(conn, event_hooks={"request": [record]})
    cmp = aw.Compare(conn, prompt="a fox", variants=[{"flavour": "plain"}, {"flavour": "hd"}],
                     size="256x256")
    cmp.client = lambda: client  # type: ignore[method-assign]
    await cmp.run()
    await client.aclose()
    import json

    assert all(c.status == "succeeded" for c in cmp.all_cells())
    bodies = sorted((json.loads(b) for b in seen), key=lambda b: b["flavour"])
    assert [b["flavour"] for b in bodies] == ["hd", "plain"]
    assert all(b["prompt"] == "a fox" and b["size"] == "256x256" for b in bodies)


async def test_pins_are_recorded_in_the_store(conn):
    cmp = aw.Compare(conn, prompt="a lighthouse", sizes=["256x256", "512x512"], n=2)
    await cmp.run()
    rec = cmp.pin(0, 1, image=1)
    assert rec.pinned and rec.image_index == 1 and rec.size == "512x512"
    stored = default_store().records(pinned=True)
    assert [(r.operation_id, r.image_index) for r in stored] == [(cmp.cell(0, 1).operation_id, 1)]
    assert [(c.column, i) for c, i in cmp.pinned()] == [(1, 1)]
    cmp.pin(0, 1, image=1, pinned=False)
    assert default_store().records(pinned=True) == [] and cmp.pinned() == []
    with pytest.raises(aw.ValidationError, match="image"):
        cmp.pin(0, 0, image=4)


# -- the widget --------------------------------------------------------------------------------
async def test_compare_grid_widget_runs_reruns_and_pins(conn, emu):
    grid = aw.CompareGrid(conn, prompts=["a red fox", "a grey wolf"], sizes=["256x256", "512x512"])
    assert len(with_class(grid, "azimage-compare-cell")) == 4
    headers = [h.value for h in with_class(grid, "azimage-compare-header")]
    assert any("size=512x512" in h for h in headers) and any("a grey wolf" in h for h in headers)
    await grid.start()  # what Run all does
    assert all(c.status == "succeeded" for row in grid.cells for c in row)
    thumbs = with_class(grid, "azimage-compare-thumb")
    assert len(thumbs) == 4
    assert all(max(Image.open(io.BytesIO(t.value)).size) <= 256 for t in thumbs)
    assert "4 succeeded" in with_class(grid, "azimage-compare-status")[0].value
    # rerun the bottom-right cell through its button
    old_id = grid.cells[1][1].operation_id
    await settled(emu)
    n_before = len(submits(emu))
    with_class(grid.cell_boxes[(1, 1)], "azimage-compare-rerun")[0].click()
    await asyncio.gather(*grid._tasks)
    await settled(emu)
    assert len(submits(emu)) == n_before + 1
    assert grid.cells[1][1].operation_id != old_id and grid.cells[1][1].status == "succeeded"
    # pin through a toggle
    with_class(grid.cell_boxes[(0, 1)], "azimage-compare-pin")[0].value = True
    pinned = default_store().records(pinned=True)
    assert [(r.prompt, r.size) for r in pinned] == [("a red fox", "512x512")]
    assert "1 pinned" in with_class(grid, "azimage-compare-status")[0].value
    # the pin shows in the history gallery
    assert [r.prompt for r in aw.history(pinned_only=True).records] == ["a red fox"]
    grid.close()
    assert grid.comm is None


# -- a client or transport of its own ----------------------------------------------------------
async def test_compare_takes_an_httpx_transport():
    """Every cell goes through the given transport: submit, then poll, with the grid's version."""
    import base64

    import httpx

    png = io.BytesIO()
    Image.new("RGB", (4, 4), "red").save(png, format="PNG")
    b64 = base64.b64encode(png.getvalue()).decode()
    calls: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        if request.method == "POST":
            op = f"op-{len(calls)}"
            return httpx.Response(202, json={"id": op, "status": "notRunning"}, headers={
                "operation-location": f"http://127.0.0.1:9/openai/operations/images/{op}"
                                      "?api-version=2023-06-01-preview"})
        op = request.url.path.rsplit("/", 1)[-1]
        return httpx.Response(200, json={"id": op, "status": "succeeded", "created": 1,
                                         "result": {"created": 1, "data": [{"b64_json": b64}]}})

    conn = aw.Connection("http://127.0.0.1:9", api_key="fake-key", api_version="2023-06-01-preview")
    cmp = aw.Compare(conn, prompts=["a fox", "a wolf"], size="256x256", store=False,
                     transport=httpx.MockTransport(answer))
    assert "transport" not in cmp.cell(0, 0).request
    await cmp.run()
    assert [c.status for c in cmp.all_cells()] == ["succeeded", "succeeded"]
    posts = [r for r in calls if r.method == "POST"]
    assert sorted(json_prompt(r) for r in posts) == ["a fox", "a wolf"]
    assert all(r.url.params["api-version"] == "2023-06-01-preview" for r in calls)
    assert [len(c.images) for c in cmp.all_cells()] == [1, 1]
    await cmp.client().aclose()


def json_prompt(request) -> str:
    import json

    return json.loads(request.content)["prompt"]
