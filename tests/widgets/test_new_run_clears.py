"""A new run shows only its own ids, rows and errors; the last run's previews stay, labelled
"earlier run", until the new run's own pictures replace them (embedded emulator)."""
from __future__ import annotations

import uuid

import pytest
from helpers import wait_for

import azimage_widgets as aw
from azimage_widgets.contract import ContentFilterError, ValidationError


def uniq() -> str:
    return f"clear-{uuid.uuid4().hex[:8]}"


def captions(panel) -> list[str]:
    return [c.value for c, _text in panel.previews.captions]


async def test_a_new_run_clears_the_last_runs_ids_rows_and_errors(conn):
    p = aw.RequestImagePanel(conn, name=uniq(), prompt="a fox", size="256x256", n=2, namespace={})
    first = await p.submit()
    first_id = first.ids[0]
    assert first_id in p.ids_html.value and len(p.previews.tiles) == 2
    assert not any("earlier run" in c for c in captions(p))

    # run 2 fails at the service (content filter): its own id and error row only
    p.activity.prompt = "a fox CONTENT_FILTER"
    with pytest.raises(ContentFilterError):
        await p.submit()
    second_id = p.activity.state.ids[0]
    assert second_id != first_id
    assert first_id not in p.ids_html.value and second_id in p.ids_html.value
    rows = " ".join(r.value for r in p.progress_view.rows.values())
    assert first_id not in rows and second_id in rows
    # the first run's pictures stay, each caption saying they are from an earlier run
    assert len(p.previews.tiles) == 2 and "azimage-earlier" in p.previews._dom_classes
    assert all("earlier run" in c for c in captions(p))

    # run 3 fails before sending (an empty prompt): nothing of run 2 is left
    p.activity.prompt = ""
    with pytest.raises(ValidationError):
        await p.submit()
    assert p.ids_html.value == "" and p.activity.state.ids == ()
    assert p.progress_view.rows == {} and p.activity.progress == []
    assert "prompt" in p.status_html.value

    # run 4 succeeds: its own pictures replace the earlier ones, unlabelled
    p.activity.prompt = "a heron"
    p.activity.n = 1
    await p.submit()
    await wait_for(lambda: len(p.previews.tiles) == 1)
    assert "azimage-earlier" not in p.previews._dom_classes
    assert not any("earlier run" in c for c in captions(p))
    p.close()


async def test_download_panel_clears_the_last_runs_urls(conn):
    req = aw.RequestImage(conn, name=uniq(), prompt="a fox", size="256x256", namespace={})
    ops = await req.generate()
    dl = aw.DownloadImagePanel(conn, name=uniq(), image_id=ops.ids[0], namespace={})
    await dl.submit()
    assert dl.urls_html.value and len(dl.previews.tiles) == 1
    dl.activity.image_id = "00000000-0000-0000-0000-000000000000"
    with pytest.raises(aw.ApiError):
        await dl.submit()
    assert dl.urls_html.value == "" and dl.activity.result is None
    assert all("earlier run" in c for c in captions(dl))
    dl.close()


async def test_a_wrong_id_says_what_was_looked_up_where(conn, emu):
    dl = aw.DownloadImagePanel(conn, name=uniq(), image_id="0000-not-there", namespace={})
    with pytest.raises(aw.ApiError):
        await dl.submit()
    host = emu.endpoint.split("://", 1)[1].split("/", 1)[0]
    shown = dl.status_html.value
    assert "0000-not-there" in shown and host in shown
    assert f"api-version {dl.activity.api_version}" in shown and "404" in shown, shown
    dl.close()
