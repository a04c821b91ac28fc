"""SAS-style signed image URLs: ``se=`` expiry and an HMAC ``sig=``.

Azure hands out result URLs on a blob host that need no api key: the query
string itself is the credential and stops working after 24 hours. The
emulator does the same with a per-process secret, so a client that sends its
key to the image host gains nothing, and an expired or edited link gets 403.
``se`` is an ISO 8601 UTC time like Azure's (``2026-11-22T10:00:00Z``).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import datetime, timezone
from urllib.parse import urlencode

_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


class UrlSigner:
    """Signs a path with an expiry and checks signatures on the way back in."""

    def __init__(self, secret: bytes | None = None) -> None:
        self._secret = secret or secrets.token_bytes(32)

    def _sig(self, path: str, se: str) -> str:
        mac = hmac.new(self._secret, f"{path}\n{se}\nr".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac).decode().rstrip("=")

    def query(self, path: str, expires_at: float) -> str:
        """The query string (without ``?``) that makes ``path`` readable until ``expires_at``."""
        se = datetime.fromtimestamp(int(expires_at), tz=timezone.utc).strftime(_FORMAT)
        return urlencode({"se": se, "sp": "r", "sig": self._sig(path, se)})

    def check(self, path: str, se: str | None, sig: str | None, now: float) -> str:
        """"ok", "expired" or "tampered" (a missing or wrong part counts as tampered)."""
        if not se or not sig:
            return "tampered"
        if not hmac.compare_digest(self._sig(path, se), sig):
            return "tampered"
        try:
            expiry = datetime.strptime(se, _FORMAT).replace(tzinfo=timezone.utc).timestamp()
        except ValueError:
            return "tampered"
        return "ok" if now < expiry else "expired"
