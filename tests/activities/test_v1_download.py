"""Download Image by id for v1 results: the id Request Image returned for a v1 generation (plain
or streamed) downloads the same images, over real HTTP against the emulator."""
from __future__ import annotations

import azimage_widgets as aw
from azimage_widgets.activities.download_image import DownloadImage
from azimage_widgets.activities.request_image import RequestImage


def _v1(emu) -> aw.Connection:  # noqa: ANN001 - the emulator fixture
    return aw.Connection(endpoint=emu.endpoint, api_key=emu.api_key, api_version="v1",
                         deployment="test-gpt-image-2")


async def test_download_by_id_of_a_v1_generation(emu) -> None:  # noqa: ANN001
    conn = _v1(emu)
    client = aw.ImageClient(conn)
    try:
        req = RequestImage(conn, name="v1-gen", prompt="a red fox", size="1536x864", n=2,
                           quality="low", client=client, namespace={})
        ops = await req.generate()
        made = req.results[0]
        assert [im.size for im in made.images] == [(1536, 864)] * 2
        dl = DownloadImage(conn, name="v1-get", image_id=ops.ids[0], api_version="v1",
                           client=client, namespace={})
        got = await dl.download()
        assert got.id == ops.ids[0]
        assert [s.data for s in got.slots] == [s.data for s in made.slots]
        posts = [r for r in emu.requests if r.method == "POST"]
        assert [r.path for r in posts] == ["/openai/v1/images/generations"]  # nothing re-sent
    finally:
        await client.aclose()


async def test_download_by_id_of_a_streamed_v1_generation(emu) -> None:  # noqa: ANN001
    conn = _v1(emu)
    client = aw.ImageClient(conn)
    try:
        req = RequestImage(conn, name="v1-live", prompt="a red fox", quality="low",
                           partial_images=2, client=client, namespace={})
        partials: list[int] = []
        req.observe(lambda c: c["new"] is not None and partials.append(c["new"].partial_index),
                    names="partial")
        ops = await req.generate()
        assert partials == [0, 1]
        dl = DownloadImage(conn, name="v1-live-get", image_id=ops.ids[0], api_version="v1",
                           client=client, namespace={})
        got = await dl.download()
        assert [s.data for s in got.slots] == [s.data for s in req.results[0].slots]
    finally:
        await client.aclose()
