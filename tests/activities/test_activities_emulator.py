"""Layer 3 against the emulator over real HTTP: submit, follow, download, filters, cancel, delete."""
from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from helpers import wait_for

from azimage_widgets.activities import DownloadImage, DownloadResult, Operations, RequestImage
from azimage_widgets.contract import ApiError, ContentFilterError, ValidationError

ROOT = Path(__file__).resolve().parents[2]


def uniq(prefix: str = "e") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


async def test_submit_returns_operations_and_binds(conn):
    ns: dict = {}
    req = RequestImage(conn, name=uniq(), prompt="a red fox", size="256x256", n=2, output="fox",
                       namespace=ns)
    ops = await req.submit()
    assert isinstance(ops, Operations) and len(ops) == 1
    assert ops.ids == req.ids and ops[0].id and ops[0].status in ("notRunning", "running")
    assert ns["fox"] is ops
    assert req.status == "submitted" and req.progress[0]["id"] == ops[0].id


async def test_generate_follows_through_to_images(conn):
    req = RequestImage(conn, name=uniq(), prompt="a red fox", size="256x256", n=2, namespace={})
    statuses: list[str] = []
    req.observe(lambda c: statuses.extend(r["status"] for r in c["new"]), names="progress")
    ops = await req.generate()
    [res] = req.results
    assert ops.results == [res]
    assert isinstance(res, DownloadResult) and res.status == "succeeded"
    assert len(res.images) == 2 and all(im.size == (256, 256) for im in res.images)
    assert len(res.urls) == 2 and all(u.startswith("http") for u in res.urls)
    assert req.status == "succeeded" and "2 images" in req.message
    row = req.progress[0]
    assert row["status"] == "succeeded" and row["images"] == 2 and row["elapsed"] > 0
    assert "succeeded" in statuses and statuses[0] in ("notRunning", "running")


async def test_download_image_from_variable(conn):
    ns: dict = {}
    req = RequestImage(conn, name=uniq(), prompt="a blue whale", size="512x512", output="whale",
                       namespace=ns)
    await req.submit()
    dl = DownloadImage(conn, name=uniq(), image_id="[whale][0]", output="whale_images", namespace=ns)
    res = await dl.download()
    assert ns["whale_images"] is res and dl.result is res
    assert res.id == req.ids[0]
    assert res.images[0].size == (512, 512)
    assert isinstance(res.expires, datetime) and res.expires.tzinfo is timezone.utc
    assert res.expires - res.created == timedelta(hours=24)
    assert all(s.thumbnail and len(s.thumbnail) < len(s.data) for s in res.slots)


async def test_content_filter_is_raised_with_code_and_message(conn, emu):
    word = emu.config.content_filter_word
    req = RequestImage(conn, name=uniq(), prompt=f"a {word} picture", size="256x256", namespace={})
    with pytest.raises(ContentFilterError) as ei:
        await req.generate()
    assert ei.value.code == "contentFilter"
    assert req.status == "failed"
    assert req.error["code"] == "contentFilter" and "safety system" in req.error["message"]
    assert req.progress[0]["status"] == "failed"
    assert "contentFilter" in req.progress[0]["message"]


async def test_partial_filter_keeps_the_other_images(conn, emu):
    word = emu.config.partial_filter_word
    req = RequestImage(conn, name=uniq(), prompt=f"two {word} cats", size="256x256", n=2,
                       namespace={})
    await req.generate()
    [res] = req.results
    assert len(res.images) == 1 and len(res.errors) == 1
    assert res.errors[0].error_code == "contentFilter" and res.errors[0].error_message
    assert req.status == "succeeded" and "1 refused" in req.message


async def test_continue_on_error_records_instead_of_raising(conn, emu):
    word = emu.config.content_filter_word
    req = RequestImage(conn, name=uniq(), prompt=f"{word}", size="256x256", continue_on_error=True,
                       namespace={})
    await req.generate()  # no raise
    assert req.results == [None] and req.error["code"] == "contentFilter"


async def test_cancel_stops_polling_and_says_so(conn, emu):
    emu.config.processing_time = 30
    req = RequestImage(conn, name=uniq(), prompt="a slow fox", size="256x256", namespace={})
    task = asyncio.get_running_loop().create_task(req.generate())
    await wait_for(lambda: req.ids and req.running)
    # elapsed seconds move while the job runs, between polls too
    await wait_for(lambda: req.progress[0]["elapsed"] >= 1.0, timeout=5)
    assert req.progress[0]["status"] in ("notRunning", "running")
    assert req.cancel() is True
    with pytest.raises(asyncio.CancelledError):
        await task
    assert req.status == "canceled"
    assert "may still finish" in req.message and req.ids[0] in req.message
    assert req.progress[0]["status"] == "stopped"


async def test_delete_finished_operation(conn):
    req = RequestImage(conn, name=uniq(), prompt="a fox to delete", size="256x256", namespace={})
    await req.generate()
    op_id = req.ids[0]
    assert await req.delete() == [op_id]
    assert req.progress[0]["status"] == "deleted" and req.status == "deleted"
    dl = DownloadImage(conn, name=uniq(), image_id=op_id, namespace={})
    with pytest.raises(ApiError):
        await dl.download()
    assert dl.status == "failed" and dl.error["code"]


async def test_delete_running_operation_is_refused(conn, emu):
    emu.config.processing_time = 30
    req = RequestImage(conn, name=uniq(), prompt="a slow fox", size="256x256", namespace={})
    await req.submit()
    with pytest.raises(ValidationError, match="deletes only finished operations"):
        await req.delete()
    assert req.error and req.progress[0]["status"] != "deleted"


async def test_unknown_id_fails_with_service_code(conn):
    dl = DownloadImage(conn, name=uniq(), image_id="no-such-operation", namespace={})
    with pytest.raises(ApiError) as ei:
        await dl.download()
    assert ei.value.status_code == 404
    assert dl.error["status_code"] == 404 and dl.error["message"]


def test_script_use_without_widgets(emu, tmp_path):
    """A plain script: asyncio.run, no ipywidgets imported, output bound into __main__."""
    script = tmp_path / "gen.py"
    script.write_text(textwrap.dedent(f"""
        import asyncio, sys
        import azimage_widgets as aw
        conn = aw.Connection({emu.endpoint!r}, api_key={emu.api_key!r})
        async def main():
            req = aw.RequestImage(conn, name="script fox", prompt="a fox", size="256x256", output="fox")
            await req.generate()
            dl = aw.DownloadImage(conn, name="script get", image_id="[fox][0]")
            res = await dl.download()
            print(len(fox.results[0].images), res.images[0].size, res.id == fox.ids[0])
        asyncio.run(main())
        print("ipywidgets" in sys.modules)
    """))
    env = {k: v for k, v in os.environ.items() if k != "AZURE_OPENAI_ENDPOINT"}
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                         timeout=60, cwd=ROOT, env=env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split("\n")[:2] == ["1 (256, 256) True", "False"]
