"""URL facts the client decides on: a URL's origin, and whether a host is loopback.

Both are used wherever credentials or plain http are at stake (Connection,
auth, image fetches, schema refresh), so each rule lives here once.
"""
from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

_DEFAULT_PORTS = {"http": 80, "https": 443}

#: (scheme, host, port) with the default port filled in.
Origin = tuple[str, str, int]


def url_origin(url: str) -> Origin | None:
    """(scheme, host, port) of an http(s) URL with default ports filled in; None otherwise."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if scheme not in _DEFAULT_PORTS or not host:
        return None
    return scheme, host, port if port is not None else _DEFAULT_PORTS[scheme]


def is_loopback_host(host: str) -> bool:
    """True only for ``localhost``, 127.0.0.0/8 and ::1: the hosts plain http may go to.

    A name merely ending in ``.localhost`` or starting with ``127.`` is not
    loopback: a resolver may send it anywhere. ``[::1]`` (URL form) counts.
    """
    if not isinstance(host, str):
        return False
    name = host.lower()
    if name.startswith("[") and name.endswith("]"):
        name = name[1:-1]
    if name.endswith(".") and not name.endswith(".."):
        name = name[:-1]  # the fully qualified "localhost."
    if name == "localhost":
        return True
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv4Address):
        return address in _LOOPBACK_V4
    return address == _LOOPBACK_V6


def is_loopback_url(url: str) -> bool:
    """True when ``url`` is an http(s) URL whose host is loopback (see ``is_loopback_host``)."""
    origin = url_origin(url)
    return origin is not None and is_loopback_host(origin[1])


_LOOPBACK_V4 = ipaddress.IPv4Network("127.0.0.0/8")
_LOOPBACK_V6 = ipaddress.IPv6Address("::1")
