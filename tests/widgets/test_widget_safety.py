"""Widgets never turn service text into live links, and a failed panel leaves no noise.

A service URL is data the kernel did not choose: only an absolute http(s) URL
may become an ``<a href>``; ``javascript:``, ``data:`` and the like show as text.
"""
from __future__ import annotations

import gc
import re
import sys
import uuid
from html.parser import HTMLParser

import pytest
from ipywidgets import HTML, Widget

import azimage_widgets as aw
from azimage_widgets.activities import DownloadResult, ImageSlot
from azimage_widgets.contract.errors import ValidationError
from azimage_widgets.contract.models import ImageItem, ImageResult
from azimage_widgets.widgets import (
    BatchProgressBar,
    HistoryGallery,
    OperationLogView,
    OperationPanel,
    walk,
)
from azimage_widgets.widgets.widget_download_image import urls_html
from azimage_widgets.widgets.widget_html import link_html, safe_href

BAD_URLS = [
    "javascript:alert(1)",
    "JaVaScRiPt:alert(document.cookie)",
    " javascript:alert(1)",
    "java\tscript:alert(1)",
    "java\nscript:alert(1)",
    "javascript\x00:alert(1)",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "DATA:image/png;base64,AAAA",
    "vbscript:msgbox(1)",
    "file:///etc/passwd",
    "ftp://files.example.com/a.png",
    "//evil.example.com/a.png",
    "/relative/a.png",
    "a.png",
    "https:javascript:alert(1)",
    "http://",
    "https:///path-only",
    "http://[::1",
    "https://ex\u0430mple.com/a.png",  # a Cyrillic "a": non-ASCII never becomes a link
    "",
]
GOOD_URLS = [
    "https://dalleprodsec.blob.core.windows.net/private/images/a.png?se=2026&sig=abc%2Bdef",
    "http://127.0.0.1:8765/images/op/0.png",
    "HTTPS://EXAMPLE.COM/A.PNG",
]


class _Links(HTMLParser):
    """Every href (and src) of an HTML fragment, as a browser would read it."""

    def __init__(self) -> None:
        super().__init__()
        self.targets: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for key, value in attrs:
            if key in ("href", "src", "action", "formaction") and value is not None:
                self.targets.append(value)


def link_targets(fragment: str) -> list[str]:
    parser = _Links()
    parser.feed(fragment)
    parser.close()
    return parser.targets


def _is_http(target: str) -> bool:
    return re.match(r"^https?://[^\s/]", target, re.IGNORECASE) is not None


@pytest.mark.parametrize("url", BAD_URLS)
def test_safe_href_refuses_what_is_not_http(url: str) -> None:
    assert safe_href(url) is None
    shown = link_html(url, "image 1")
    assert link_targets(shown) == []
    assert "<a" not in shown.lower()


@pytest.mark.parametrize("url", GOOD_URLS)
def test_safe_href_keeps_http_links(url: str) -> None:
    assert safe_href(url) == url
    assert link_targets(link_html(url, "image 1")) == [url]


def test_refused_url_is_shown_shortened_and_escaped() -> None:
    url = "data:text/html," + "<script>alert(1)</script>" * 100
    shown = link_html(url, "image 1")
    assert "<script>" not in shown
    assert len(shown) < 400
    assert "image 1" in shown


def test_non_string_urls_are_refused() -> None:
    for value in (None, 42, b"https://example.com/", ["https://example.com/"]):
        assert safe_href(value) is None


def _result(urls: list[str]) -> DownloadResult:
    items = tuple(ImageItem(i, url=u) for i, u in enumerate(urls))
    slots = [ImageSlot(i, url=u, error_code="fetchFailed", error_message="not fetched")
             for i, u in enumerate(urls)]
    return DownloadResult(ImageResult("op-links-1", "succeeded", items, 1, 2), slots)


def test_urls_html_links_only_http() -> None:
    shown = urls_html(_result(BAD_URLS[:7] + GOOD_URLS[:1]))
    assert link_targets(shown) == GOOD_URLS[:1]


def all_link_targets(root: Widget) -> list[str]:
    return [t for w in walk(root) if isinstance(w, HTML) for t in link_targets(w.value)]


def test_download_panel_never_renders_a_script_url_as_link() -> None:
    panel = aw.DownloadImagePanel(name=f"links-{uuid.uuid4().hex[:8]}", namespace={})
    try:
        panel.activity.publish(results=[_result(["javascript:alert(1)", "data:text/html,x",
                                                 GOOD_URLS[0]])])
        targets = all_link_targets(panel)
        assert targets == [GOOD_URLS[0]]
        assert all(_is_http(t) for t in targets)
        assert "javascript:alert(1)" in panel.urls_html.value  # shown as text, not dropped
    finally:
        panel.close()


# -- a panel whose construction failed ------------------------------------------------

@pytest.mark.parametrize(("make", "error"), [
    (lambda: aw.RequestImagePanel(name="bad/name", namespace={}), ValidationError),
    (lambda: aw.DownloadImagePanel(name="bad:name", namespace={}), ValidationError),
    (lambda: aw.RequestImagePanel(name=f"ok-{uuid.uuid4().hex[:8]}", n=0, namespace={}),
     ValidationError),
    (lambda: aw.RequestImagePanel(name=f"ok-{uuid.uuid4().hex[:8]}", colour="red", namespace={}),
     ValidationError),
    (lambda: aw.CompareGrid(prompts=[]), ValidationError),
    (lambda: HistoryGallery(limit=0), ValueError),
    (lambda: OperationPanel(None), AttributeError),  # type: ignore[arg-type]
    (lambda: OperationLogView(log=1), AttributeError),  # type: ignore[arg-type]
    (lambda: BatchProgressBar(None), AttributeError),  # type: ignore[arg-type]
], ids=["request-name", "download-name", "request-n", "request-unknown", "compare", "history",
        "operation", "oplog", "batch"])
def test_failed_construction_reports_nothing_on_collection(make, error, monkeypatch) -> None:
    unraisable: list[object] = []
    monkeypatch.setattr(sys, "unraisablehook", unraisable.append)
    with pytest.raises(error):
        make()
    gc.collect()
    gc.collect()
    messages = [f"{u.exc_type.__name__}: {u.exc_value} in {u.object!r}"  # type: ignore[attr-defined]
                for u in unraisable]
    assert messages == []


def test_failed_construction_prints_nothing(capsys, monkeypatch) -> None:
    monkeypatch.setattr(sys, "unraisablehook", sys.__unraisablehook__)  # prints to stderr
    with pytest.raises(ValidationError):
        aw.RequestImagePanel(name="bad/name", namespace={})
    gc.collect()
    captured = capsys.readouterr()
    assert "Exception ignored" not in captured.err
    assert "_tasks" not in captured.err
