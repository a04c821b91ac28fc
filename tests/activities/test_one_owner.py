"""One owner per concept: the version, the request body and the rules, pinned against the emulator.

Requests are seen on the way out through an httpx event hook of the client the
activity is given (``client=``): the emulator answers them over real HTTP.
"""
from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest

import azimage_widgets as aw
from azimage_widgets.activities import DownloadImage, RequestImage
from azimage_widgets.activities.schema_edit import SchemaDraft
from azimage_widgets.contract import ValidationError
from azimage_widgets.contract.limits import version_spec


def uniq() -> str:
    return f"t-{uuid.uuid4().hex[:8]}"


class Seen:
    """The requests a client sent: method, api-version and JSON body."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    async def hook(self, request: httpx.Request) -> None:
        self.requests.append(request)

    def client(self, conn: Any) -> aw.ImageClient:
        return aw.ImageClient(conn, event_hooks={"request": [self.hook]})

    def versions(self, method: str | None = None, path_part: str = "/openai/") -> list[str]:
        """The api-version of each API request (image downloads left out)."""
        return [r.url.params.get("api-version", "") for r in self.requests
                if (method is None or r.method == method) and path_part in r.url.path]

    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(r.content) for r in self.requests if r.method == "POST"]


# -- api_version: the activity's, defaulting to the connection's ------------------------------

async def test_request_image_takes_the_connections_version_and_sends_it(emu):
    conn = aw.Connection(emu.endpoint, api_key=emu.api_key, api_version="2025-04-01-preview",
                         deployment="gpt-image-1")
    seen = Seen()
    req = RequestImage(conn, name=uniq(), namespace={}, prompt="a fox", client=seen.client(conn))
    assert req.api_version == "2025-04-01-preview"
    assert req.size in version_spec("2025-04-01-preview").sizes
    await req.generate()
    assert req.status == "succeeded"
    assert seen.versions() and set(seen.versions()) == {"2025-04-01-preview"}


async def test_an_explicit_version_wins_over_the_connections(conn):
    req = RequestImage(conn, name=uniq(), namespace={}, api_version="2024-10-21")
    assert conn.api_version != "2024-10-21"
    assert req.api_version == "2024-10-21"


def test_without_a_connection_the_environments_version_is_the_default(monkeypatch):
    monkeypatch.setenv("AZURE_OPENAI_API_VERSION", "2024-10-21")
    req = RequestImage(None, name=uniq(), namespace={})
    assert req.api_version == "2024-10-21"
    assert req.conn is None  # no connection (nor emulator) was made to learn it


async def test_download_image_polls_with_its_own_version(conn, emu):
    # an operation submitted elsewhere (another client, another kernel)
    async with aw.ImageClient(conn) as other:
        op = await other.request_image("a cat", size="256x256")
    seen = Seen()
    dl = DownloadImage(conn, name=uniq(), namespace={}, image_id=op.id,
                       api_version="2024-10-21", client=seen.client(conn))
    res = await dl.download()
    assert res.id == op.id and dl.status == "succeeded"
    gets = seen.versions("GET", "/operations/")
    assert gets and set(gets) == {"2024-10-21"}
    assert conn.api_version not in gets


# -- one request builder: Generate and run(data) send the same body ---------------------------

async def test_size_removed_from_the_schema_is_left_out_by_generate_and_run(conn):
    seen = Seen()
    req = RequestImage(conn, name=uniq(), namespace={}, prompt="a fox", size="512x512",
                       client=seen.client(conn))
    draft = SchemaDraft.of(req)
    draft.delete("request", "size")
    draft.apply(req)
    assert "size" not in req.request().to_json()
    await req.generate()
    await req.run({"prompt": "a dog"})
    bodies = seen.bodies()
    assert len(bodies) == 2
    assert all("size" not in b for b in bodies), bodies
    assert [b["prompt"] for b in bodies] == ["a fox", "a dog"]
    assert bodies[0].keys() == bodies[1].keys()


async def test_generate_and_run_send_the_same_body_for_the_same_values(conn):
    seen = Seen()
    req = RequestImage(conn, name=uniq(), namespace={}, prompt="a fox", size="256x256", n=2,
                       client=seen.client(conn))
    expected = req.request().to_json()
    await req.generate(follow=False)
    await req.run({"prompt": "a fox"}, follow=False)
    assert seen.bodies() == [expected, expected]


# -- the contract's rules, in the contract's words ---------------------------------------------

def contract_error(**kwargs: Any) -> ValidationError:
    with pytest.raises(ValidationError) as ei:
        aw.contract.ImageRequest(**kwargs)
    return ei.value


def test_dall_e_3_with_two_images_says_the_contracts_message():
    expected = contract_error(prompt="x", n=2, api_version="2024-10-21")
    req = RequestImage(None, name=uniq(), namespace={}, api_version="2024-10-21")
    with pytest.raises(ValidationError) as ei:
        req.n = 2
    assert str(ei.value) == str(expected)
    assert "dall-e-3 makes one image per request" in str(ei.value)


@pytest.mark.parametrize("field, value, contract", [
    ("size", "1x1", {"prompt": "x", "size": "1x1"}),
    ("n", 9, {"prompt": "x", "n": 9}),
    ("prompt", "y" * 1001, {"prompt": "y" * 1001}),
])
def test_activity_refusals_are_the_contracts(field, value, contract):
    expected = contract_error(api_version="2023-06-01-preview", **contract)
    req = RequestImage(None, name=uniq(), namespace={}, api_version="2023-06-01-preview")
    with pytest.raises(ValidationError) as ei:
        setattr(req, field, value)
    assert str(ei.value) == str(expected)


@pytest.mark.parametrize("bad", ["..", "a/b", "op\x00", "x" * 300])
async def test_operation_ids_follow_the_contracts_rule(bad, conn):
    from azimage_widgets.contract.text import check_operation_id

    with pytest.raises(ValidationError) as expected:
        check_operation_id(bad, field="image_id")
    with pytest.raises(ValidationError) as ei:
        DownloadImage(None, name=uniq(), namespace={}, image_id=bad)
    assert str(ei.value) == str(expected.value)
    dl = DownloadImage(conn, name=uniq(), namespace={"v": bad}, image_id="[v]")
    with pytest.raises(ValidationError) as ei:
        await dl.download()
    assert ei.value.field == "image_id" and expected.value.limit in str(ei.value)
    with pytest.raises(ValidationError) as ei:
        await dl.run([{"id": bad}])
    assert ei.value.field == "id" and expected.value.limit in str(ei.value)
