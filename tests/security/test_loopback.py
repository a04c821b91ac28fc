"""Loopback means loopback: plain http only to localhost, 127.0.0.0/8 and ::1.

``is_loopback_host`` is the one check; a name that merely looks local (``evil.localhost``,
``127.example.com``) resolves wherever its owner wants, so the api key would travel in clear.
"""
from __future__ import annotations

import pytest

import azimage_widgets as aw
from azimage_widgets.client import Connection, is_loopback_host
from azimage_widgets.client.urls import is_loopback_url

LOOPBACK = ["localhost", "LocalHost", "localhost.", "127.0.0.1", "127.0.0.2", "127.255.255.254",
            "::1", "[::1]", "0:0:0:0:0:0:0:1"]
NOT_LOOPBACK = ["evil.localhost", "a.b.localhost", "evil.com\\.localhost", "localhost.evil.com",
                "127.example.com", "127.0.0.1.nip.io", "127.1", "2130706433", "0x7f000001",
                "0.0.0.0", "::", "::ffff:127.0.0.1", "128.0.0.1", "10.0.0.1", "localhost..",
                "", "local host", "localhost:80", "[::1", "example.com"]


@pytest.mark.parametrize("host", LOOPBACK)
def test_loopback_hosts(host):
    assert is_loopback_host(host)


@pytest.mark.parametrize("host", NOT_LOOPBACK)
def test_hosts_that_only_look_local(host):
    assert not is_loopback_host(host)


def test_not_a_string_is_not_loopback():
    assert not is_loopback_host(None)  # type: ignore[arg-type]
    assert not is_loopback_host(b"localhost")  # type: ignore[arg-type]


@pytest.mark.parametrize("url", ["http://localhost:8000", "http://127.0.0.5/", "http://[::1]:9/x",
                                 "https://localhost"])
def test_http_endpoint_on_loopback_is_allowed(url):
    assert Connection(url, api_key="k-123").endpoint == url.rstrip("/")
    assert is_loopback_url(url)


@pytest.mark.parametrize("host", ["evil.localhost", "evil.com\\.localhost", "127.example.com",
                                  "localhost.evil.com", "127.0.0.1.nip.io"])
def test_http_endpoint_on_a_lookalike_host_is_refused(host):
    with pytest.raises(aw.ValidationError) as ei:
        Connection(f"http://{host}:8080", api_key="k-123")
    assert ei.value.field == "endpoint" and "https://" in str(ei.value)
    assert not is_loopback_url(f"http://{host}:8080/")
    assert Connection(f"https://{host.replace(chr(92), '')}", api_key="k-123")  # https is fine


def test_the_one_check_is_exported_where_it_always_was():
    from azimage_widgets.client import connection, urls

    assert is_loopback_host is urls.is_loopback_host is connection.is_loopback_host
