"""The server extension's gallery: a read-only HTML page of the image store.

``<base_url>azimage/gallery[?q=words&page=N]`` lists records newest first,
``.../thumbs/<id>`` and ``.../files/<id>`` serve a thumbnail or the stored
file; all behind Jupyter authentication. A page or id no record can have is
a 400 or 404, never a server error.
"""
from __future__ import annotations

import asyncio
import html
from datetime import timezone
from urllib.parse import urlencode

import tornado.web
from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.utils import url_path_join
from PIL import Image

from .store import ImageStore, StoreRecord
from .store.records import row_id
from .store.thumbnails import THUMBNAIL_MIME

GALLERY_PATH = "azimage/gallery"
#: Records shown per gallery page.
PAGE_SIZE = 60
#: Longer page numbers name no page (a store holds fewer than 10**15 records).
MAX_PAGE_DIGITS = 15


class _GalleryBase(JupyterHandler):
    def initialize(self, store_dir: str | None) -> None:
        self.store_dir = store_dir

    def store(self) -> ImageStore:
        return ImageStore(self.store_dir or None)


class GalleryHandler(_GalleryBase):
    """GET azimage/gallery[?q=words&page=N]: thumbnails, prompts and dates, newest first."""

    @tornado.web.authenticated
    async def get(self) -> None:
        q = self.get_query_argument("q", "").strip()[:200]
        page = gallery_page(self.get_query_argument("page", "0"))
        store = self.store()

        def load() -> tuple[list[StoreRecord], int]:
            if q:
                found = store.search(q)
                return found[page * PAGE_SIZE:(page + 1) * PAGE_SIZE], len(found)
            return store.records(limit=PAGE_SIZE, offset=page * PAGE_SIZE), len(store)

        records, total = await asyncio.to_thread(load)
        if page > 0 and page * PAGE_SIZE >= total:
            raise tornado.web.HTTPError(404, "no gallery page %d", page)
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.finish(_gallery_html(url_path_join(self.base_url, GALLERY_PATH), records, total,
                                  q, page))


class GalleryFileHandler(_GalleryBase):
    """GET azimage/gallery/(thumbs|files)/<record id>: a JPEG thumbnail or the stored file."""

    @tornado.web.authenticated
    async def get(self, kind: str, record_id: str) -> None:
        store = self.store()
        rid = row_id(record_id)  # None for digits no record id can have

        def load() -> tuple[bytes, str] | None:
            rec = None if rid is None else store.get(rid)
            if rec is None or not rec.path.exists():
                return None
            if kind == "thumbs":
                try:
                    return store.thumbnail(rec), THUMBNAIL_MIME
                except (OSError, ValueError, Image.DecompressionBombError):
                    return None  # a file that is no longer a readable image has no thumbnail
            ext = rec.path.suffix.lstrip(".").lower()
            return rec.read_bytes(), _MIME.get(ext, "application/octet-stream")

        found = await asyncio.to_thread(load)
        if found is None:
            raise tornado.web.HTTPError(404)
        data, mime = found
        self.set_header("Content-Type", mime)
        self.set_header("Cache-Control", "private, max-age=3600")
        self.finish(data)


def gallery_page(text: str) -> int:
    """The ``page`` query argument as a page number: 400 unless it is plain digits."""
    if not (text.isascii() and text.isdigit()):
        raise tornado.web.HTTPError(400, "page must be a whole number >= 0")
    if len(text) > MAX_PAGE_DIGITS:
        raise tornado.web.HTTPError(404, "no such gallery page")
    return int(text)


_MIME = {"png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "webp": "image/webp",
         "gif": "image/gif"}


def _when(rec: StoreRecord) -> str:
    when = rec.created_at or rec.stored_datetime
    return when.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def _gallery_html(base: str, records: list[StoreRecord], total: int, q: str, page: int) -> str:
    e = html.escape
    tiles = []
    for rec in records:
        meta = " &middot; ".join(e(str(x)) for x in (rec.size, rec.api_version) if x)
        pin = " &#9733;" if rec.pinned else ""
        tiles.append(
            f'<figure class="azimage-gallery-item" data-record-id="{rec.id}">'
            f'<a href="{e(base)}/files/{rec.id}" target="_blank" rel="noopener">'
            f'<img src="{e(base)}/thumbs/{rec.id}" alt="{e(rec.prompt)}" loading="lazy"></a>'
            f'<figcaption><span class="prompt">{e(rec.prompt)}</span>{pin}'
            f'<br><small><time>{_when(rec)}</time> {meta}</small></figcaption></figure>')
    pages = []
    if page > 0:
        pages.append(f'<a href="?{e(urlencode({"q": q, "page": page - 1}))}">newer</a>')
    if (page + 1) * PAGE_SIZE < total:
        pages.append(f'<a href="?{e(urlencode({"q": q, "page": page + 1}))}">older</a>')
    empty = "" if records else "<p class='empty'>No images" + (" match." if q else " yet.") + "</p>"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>azimage gallery</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{{font-family:system-ui,sans-serif;margin:1.5rem;color:#222}}
.grid{{display:grid;grid-template-columns:repeat(auto-fill,minmax(220px,1fr));gap:1rem}}
figure{{margin:0;border:1px solid #ddd;border-radius:6px;padding:.5rem;background:#fafafa}}
figure img{{width:100%;height:auto;display:block;border-radius:4px}}
figcaption{{font-size:.85rem;margin-top:.4rem;overflow-wrap:anywhere}}
small{{color:#666}}
</style></head><body>
<h1>azimage gallery</h1>
<form method="get"><input type="search" name="q" value="{e(q)}" placeholder="search prompts">
<button type="submit">Search</button></form>
<p class="count">{total} image{'' if total == 1 else 's'}{' matching' if q else ''} &middot; read-only
(delete and pin from a notebook with <code>aw.history()</code>)</p>
{empty}<div class="grid">{''.join(tiles)}</div>
<nav>{' '.join(pages)}</nav>
</body></html>"""


__all__ = ["GALLERY_PATH", "PAGE_SIZE", "GalleryFileHandler", "GalleryHandler", "gallery_page"]
