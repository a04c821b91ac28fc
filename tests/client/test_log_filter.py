"""httpx's own INFO line (``HTTP Request: GET <url> ...``) never shows a SAS signature or key.

The package installs a filter on the ``httpx`` logger when the client is imported.
"""
from __future__ import annotations

import logging

import pytest

from azimage_widgets.client import Connection, ImageClient
from azimage_widgets.client.log_filter import RedactQueryFilter, install_log_filter
from azimage_widgets.contract.errors import redact_query


def _installed() -> list[logging.Filter]:
    return [f for f in logging.getLogger("httpx").filters if isinstance(f, RedactQueryFilter)]


def test_installed_once_on_import_and_idempotent():
    assert len(_installed()) == 1
    install_log_filter()
    install_log_filter()
    assert len(_installed()) == 1


@pytest.mark.parametrize(("text", "expected"), [
    ("GET https://h/i.png?se=2025&sig=AbC%2B/xyz=&sp=r HTTP/1.1",
     "GET https://h/i.png?se=2025&sig=***&sp=r HTTP/1.1"),
    ('"https://h/x?api-key=sk-123" ok', '"https://h/x?api-key=***" ok'),
    ("https://h/x?a=1&SIG=zz&token=t0k#frag", "https://h/x?a=1&SIG=***&token=***#frag"),
    ("https://h/x?design=1&signal=2", "https://h/x?design=1&signal=2"),  # only whole names
])
def test_redact_query(text, expected):
    assert redact_query(text) == expected


async def test_httpx_info_line_hides_sig(emu, caplog):
    caplog.set_level(logging.INFO, logger="httpx")
    conn = Connection(emu.endpoint, api_key=emu.api_key)
    async with ImageClient(conn) as client:
        res = await client.generate("a fox", size="256x256")
        url = res.urls[0]
        assert "sig=" in url
        await client.fetch_image(url)
    signature = url.split("sig=", 1)[1].split("&", 1)[0]
    lines = [r.getMessage() for r in caplog.records if r.name == "httpx"]
    fetches = [line for line in lines if "sig=" in line]
    assert fetches, lines  # httpx did log the image fetch ...
    assert all("sig=***" in line for line in fetches)  # ... with its signature hidden
    assert not any(signature in line for line in lines)
    # a handler formatting the record later sees the same clean text
    formatted = [logging.Formatter("%(message)s").format(r) for r in caplog.records]
    assert not any(signature in line for line in formatted)
