"""An image fetch that fails in the transport never carries the key in its error text."""
from __future__ import annotations

import httpx
import pytest

from azimage_widgets.client import Connection
from azimage_widgets.client.fetch import fetch_image_bytes
from azimage_widgets.client.retry import RetryPolicy
from azimage_widgets.contract import ImageFetchError

KEY = "fetch-redaction-fake-key-0123456789"


async def test_a_transport_error_naming_the_key_is_redacted():
    conn = Connection(endpoint="http://127.0.0.1:9", api_key=KEY)

    def fail(request: httpx.Request) -> httpx.Response:
        # a transport whose message echoes the header it was given
        raise httpx.ConnectError(f"refused while sending api-key: {request.headers['api-key']}")

    async with httpx.AsyncClient(transport=httpx.MockTransport(fail), auth=conn.auth) as http:
        with pytest.raises(ImageFetchError) as info:
            await fetch_image_bytes(http, conn, "http://127.0.0.1:9/img.png",
                                    policy=RetryPolicy(max_retries=0))
    text = f"{info.value!s} {info.value!r}"
    assert "network error" in text and KEY not in text
