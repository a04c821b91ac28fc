"""HTML snippets the widgets put into ``HTML`` values: error lines and links.

Every string that lands in an ``HTML`` widget is escaped here or by the
caller. Links are the one place where escaping is not enough: a service can
answer with any text as an image URL, and ``<a href="javascript:...">`` or a
``data:`` URL stays a live link however well it is escaped. ``link_html`` is
the only way the widgets make a link, and it makes one only for an absolute
http(s) URL; anything else is shown as (shortened) text.
"""
from __future__ import annotations

import html
from urllib.parse import urlsplit

from .widget_colours import tone

LINK_SCHEMES = frozenset({"http", "https"})
#: How much of a refused URL is shown as text (a data: URL can be megabytes long).
REFUSED_URL_CHARS = 60


def error_html(message: str) -> str:
    """``message`` in the error colour, escaped; "" for no message."""
    if not message:
        return ""
    return f'<span style="color:{tone("error")}">{html.escape(message)}</span>'


def safe_href(url: object) -> str | None:
    """``url`` when a browser may follow it as a link (absolute http or https), else None.

    Refused: other schemes (``javascript:``, ``data:``, ``file:``, ``vbscript:``...),
    relative and scheme-relative URLs, URLs without a host, and any URL holding
    whitespace, control or non-ASCII characters (browsers drop tabs and newlines
    inside a scheme, so ``java\\tscript:`` would otherwise pass as text and run as code).
    """
    if not isinstance(url, str) or not url:
        return None
    if any(ord(c) <= 0x20 or ord(c) >= 0x7F for c in url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. an unbalanced "[" in the host
        return None
    if parts.scheme.lower() not in LINK_SCHEMES or not parts.hostname:
        return None
    return url


def link_html(url: object, text: str) -> str:
    """``text`` as a link to ``url`` (opens in a new tab), or, for a URL that ``safe_href``
    refuses, ``text`` with the start of the URL as plain text and no link."""
    href = safe_href(url)
    if href is not None:
        return (f'<a href="{html.escape(href, quote=True)}" target="_blank" '
                f'rel="noopener noreferrer">{html.escape(text)}</a>')
    shown = str(url) if url is not None else ""
    if len(shown) > REFUSED_URL_CHARS:
        shown = shown[:REFUSED_URL_CHARS] + "\u2026"
    return (f"{html.escape(text)} (not a link: only http(s) URLs are linked; "
            f"<code>{html.escape(shown)}</code>)")


__all__ = ["LINK_SCHEMES", "error_html", "link_html", "safe_href"]
