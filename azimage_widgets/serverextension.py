"""Jupyter server extension: one shared emulator and a gallery of the local image store.

Enabled by ``jupyter-config/jupyter_server_config.d/azimage_widgets.json``
(installed into ``<prefix>/etc/jupyter`` by the wheel) or on the command line
with ``--ServerApp.jpserver_extensions="{'azimage_widgets': True}"``. Under
the server's ``base_url`` it serves:

``azimage/emulator/openai/...``
    The emulator's API (every route of ``emulator.app.api_routes``). Callers
    authenticate with the emulator's ``api-key`` header, as with Azure; that
    key is made at server start and handed out only to those the Jupyter
    server trusts: Jupyter-authenticated callers of ``azimage/emulator/info``,
    and the server's own kernels through a 0600 runtime file
    (``azimage_widgets.serverinfo``). Kernels need no Jupyter token, which
    they do not have.
``azimage/emulator/images/private/images/...``
    The image host. Its links are signed and expire (SAS-style), like Azure's
    blob links, which need no credential but themselves; so this route is
    exempt from Jupyter authentication and keeps the signature check.
``azimage/emulator/info``
    ``{"endpoint", "api_key", "api_version", "kernel_endpoint"}`` as JSON,
    behind Jupyter authentication (403 without).
``azimage/gallery``
    A read-only HTML page of the image store (thumbnails, prompts, dates,
    ``?q=`` search), its thumbnails and full images: behind Jupyter
    authentication (GET without credentials redirects to the login page).

Configuration (any Jupyter config file)::

    c.AzimageWidgets.emulator = True          # False: no emulator routes
    c.AzimageWidgets.gallery = True           # False: no gallery
    c.AzimageWidgets.store_dir = ""           # gallery's store; default as ImageStore()
    c.AzimageWidgets.emulator_knobs = {}      # EmulatorConfig fields, e.g. {"rpm_limit": 60}
    c.AzimageWidgets.share_with_kernels = True  # the runtime file + AZIMAGE_EMULATOR_INFO
"""
from __future__ import annotations

import asyncio
import atexit
import html
import json
import os
import re
import secrets
from collections import deque
from datetime import timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import tornado.web
from jupyter_server.base.handlers import APIHandler, JupyterHandler
from jupyter_server.utils import url_path_join

from .contract import DEFAULT_API_VERSION
from .emulator import app as emu_app
from .emulator.config import EmulatorConfig
from .serverinfo import INFO_ENV, INFO_FILE
from .store.thumbnails import THUMBNAIL_MIME

EMULATOR_PATH = "azimage/emulator"
IMAGES_PATH = "azimage/emulator/images"
GALLERY_PATH = "azimage/gallery"
#: Requests the shared emulator remembers (its ``requests`` list would grow for days otherwise).
MAX_RECORDS = 2000
#: Records shown per gallery page.
PAGE_SIZE = 60
#: Knobs of the shared emulator unless configured: quick jobs, as the embedded one.
DEFAULT_KNOBS = {"processing_time": 1.0, "retry_after": None}


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "azimage_widgets.serverextension"}]


# -- the emulator's handlers, mounted ------------------------------------------
class _Mounted:
    """Mixin over an emulator handler: origin + prefix from the request, no XSRF cookie check.

    The API is authenticated by its api-key header and the image host by
    signed links; neither reads cookies, so tornado's XSRF check (on in
    Jupyter's settings) does not apply, as for Jupyter's own token requests.
    """

    state: emu_app.EmulatorState
    request: Any

    def initialize(self, state: emu_app.EmulatorState, api_prefix: str = "",  # type: ignore[override]
                   images_prefix: str = "") -> None:
        super().initialize(state)  # type: ignore[misc]
        self._api_prefix = api_prefix
        self._images_prefix = images_prefix

    def check_xsrf_cookie(self) -> None:
        return None

    def _origin(self) -> str:
        return f"{self.request.protocol}://{self.request.host}"

    def base_url(self) -> str:
        return self._origin() + self._api_prefix

    def images_base(self) -> str:
        return self._origin() + self._images_prefix


_mounted_classes: dict[type, type] = {}


def _mounted(cls: type) -> type:
    if cls not in _mounted_classes:
        _mounted_classes[cls] = type("Jupyter" + cls.__name__, (_Mounted, cls), {})
    return _mounted_classes[cls]


def emulator_handlers(state: emu_app.EmulatorState, base_url: str) -> list[tuple[str, type, dict]]:
    """Routes of the emulator under ``base_url`` (Jupyter's), with Azure-shaped 404s below them."""
    api_prefix = url_path_join(base_url, EMULATOR_PATH)
    images_prefix = url_path_join(base_url, IMAGES_PATH)
    kw = {"state": state, "api_prefix": api_prefix, "images_prefix": images_prefix}
    routes: list[tuple[str, type, dict]] = []
    for pattern, handler, _ in emu_app.image_routes(state, re.escape(images_prefix)):
        routes.append((pattern, _mounted(handler), kw))
    routes.append((re.escape(images_prefix) + r"/.*", _mounted(emu_app.ImageNotFoundHandler), kw))
    for pattern, handler, _ in emu_app.api_routes(state, re.escape(api_prefix)):
        routes.append((pattern, _mounted(handler), kw))
    routes.append((re.escape(api_prefix) + r"/openai/.*", _mounted(emu_app.NotFoundHandler), kw))
    return routes


# -- info (Jupyter-authenticated) -----------------------------------------------
class EmulatorInfoHandler(APIHandler):
    """GET azimage/emulator/info: the endpoint and key, for Jupyter-authenticated callers."""

    def initialize(self, state: emu_app.EmulatorState, info: dict[str, Any]) -> None:
        self.state = state
        self.info = info

    @tornado.web.authenticated
    def get(self) -> None:
        endpoint = f"{self.request.protocol}://{self.request.host}" \
                   + url_path_join(self.base_url, EMULATOR_PATH)
        self.set_header("Cache-Control", "no-store")
        self.finish(json.dumps({
            "endpoint": endpoint,
            "api_key": self.state.config.api_key,
            "api_version": DEFAULT_API_VERSION,
            "kernel_endpoint": self.info.get("endpoint"),
            "gallery": url_path_join(self.base_url, GALLERY_PATH),
        }))


# -- gallery (Jupyter-authenticated, read-only) -----------------------------------
class _GalleryBase(JupyterHandler):
    def initialize(self, store_dir: str | None) -> None:
        self.store_dir = store_dir

    def store(self) -> Any:
        from .store import ImageStore

        return ImageStore(self.store_dir or None)


class GalleryHandler(_GalleryBase):
    """GET azimage/gallery[?q=words&page=N]: thumbnails, prompts and dates, newest first."""

    @tornado.web.authenticated
    async def get(self) -> None:
        q = self.get_query_argument("q", "").strip()[:200]
        try:
            page = max(0, int(self.get_query_argument("page", "0")))
        except ValueError:
            page = 0
        store = self.store()

        def load() -> tuple[list[Any], int]:
            if q:
                found = store.search(q)
                return found[page * PAGE_SIZE:(page + 1) * PAGE_SIZE], len(found)
            return store.records(limit=PAGE_SIZE, offset=page * PAGE_SIZE), len(store)

        records, total = await asyncio.to_thread(load)
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.finish(_gallery_html(url_path_join(self.base_url, GALLERY_PATH), records, total,
                                  q, page))


class GalleryFileHandler(_GalleryBase):
    """GET azimage/gallery/(thumbs|files)/<record id>: a JPEG thumbnail or the stored file."""

    @tornado.web.authenticated
    async def get(self, kind: str, record_id: str) -> None:
        store = self.store()

        def load() -> tuple[bytes, str] | None:
            rec = store.get(int(record_id))
            if rec is None or not rec.path.exists():
                return None
            if kind == "thumbs":
                return store.thumbnail(rec), THUMBNAIL_MIME
            ext = rec.path.suffix.lstrip(".").lower()
            return rec.read_bytes(), _MIME.get(ext, "application/octet-stream")

        found = await asyncio.to_thread(load)
        if found is None:
            raise tornado.web.HTTPError(404)
        data, mime = found
        self.set_header("Content-Type", mime)
        self.set_header("Cache-Control", "private, max-age=3600")
        self.finish(data)


_MIME = {"png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "webp": "image/webp",
         "gif": "image/gif"}


def _when(rec: Any) -> str:
    when = rec.created_at or rec.stored_datetime
    return when.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def _gallery_html(base: str, records: list[Any], total: int, q: str, page: int) -> str:
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


# -- loading ---------------------------------------------------------------------
def _settings(serverapp: Any) -> dict[str, Any]:
    cfg = serverapp.config.get("AzimageWidgets", {}) if serverapp.config else {}
    return {
        "emulator": bool(cfg.get("emulator", True)),
        "gallery": bool(cfg.get("gallery", True)),
        "store_dir": str(cfg.get("store_dir", "") or ""),
        "emulator_knobs": dict(cfg.get("emulator_knobs", {}) or {}),
        "share_with_kernels": bool(cfg.get("share_with_kernels", True)),
    }


def _loopback_url(serverapp: Any) -> str | None:
    """http(s)://<loopback>:<port><base_url> of this server as its own kernels reach it."""
    if getattr(serverapp, "sock", ""):
        return None  # a unix socket: the client speaks TCP only
    ip = serverapp.ip or ""
    if ip in ("", "0.0.0.0", "*", "localhost"):
        host = "127.0.0.1"
    elif ip in ("::", "::1"):
        host = "[::1]"
    else:
        host = f"[{ip}]" if ":" in ip else ip
    scheme = "https" if serverapp.certfile else "http"
    return f"{scheme}://{host}:{serverapp.port}{serverapp.base_url}"


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, path)


def _remove(path: Path) -> None:
    try:
        path.unlink()
    except OSError:
        pass


def _load_jupyter_server_extension(serverapp: Any) -> None:
    settings = _settings(serverapp)
    web_app = serverapp.web_app
    base_url = web_app.settings["base_url"]
    handlers: list[tuple[str, type, dict]] = []
    if settings["emulator"]:
        knobs = {**DEFAULT_KNOBS, **settings["emulator_knobs"]}
        config = EmulatorConfig(**knobs)
        if not config.api_key:
            config.api_key = secrets.token_urlsafe(24)
        state = emu_app.EmulatorState(config, requests=deque(maxlen=MAX_RECORDS))  # type: ignore[arg-type]
        # only read by handlers that do not know their request (none today): the loopback URL
        state.images_base = (_loopback_url(serverapp) or "").rstrip("/") + "/" + IMAGES_PATH
        info: dict[str, Any] = {}
        handlers.append((url_path_join(base_url, EMULATOR_PATH, "info"), EmulatorInfoHandler,
                         {"state": state, "info": info}))
        handlers += emulator_handlers(state, base_url)
        serverapp.azimage_emulator_state = state
        if settings["share_with_kernels"]:
            path = Path(serverapp.runtime_dir) / INFO_FILE.format(pid=os.getpid())
            os.environ[INFO_ENV] = str(path)  # kernels started from now on inherit the path

            def publish() -> None:
                # the port is final only once the server listens (port_retries)
                url = _loopback_url(serverapp)
                if url is None:
                    return
                state.images_base = url.rstrip("/") + "/" + IMAGES_PATH
                info.update(endpoint=url_path_join(url, EMULATOR_PATH),
                            api_key=config.api_key, api_version=DEFAULT_API_VERSION,
                            pid=os.getpid())
                _write_private(path, json.dumps(info))
                atexit.register(_remove, path)

            serverapp.io_loop.add_callback(publish)
    if settings["gallery"]:
        gallery = url_path_join(base_url, GALLERY_PATH)
        kw = {"store_dir": settings["store_dir"] or None}
        handlers += [
            (gallery + "/?", GalleryHandler, kw),
            (re.escape(gallery) + r"/(thumbs|files)/(\d+)", GalleryFileHandler, kw),
        ]
    web_app.add_handlers(".*$", handlers)
    serverapp.log.info("azimage_widgets: %s under %s",
                       " and ".join(n for n in ("emulator", "gallery") if settings[n]) or "nothing",
                       url_path_join(base_url, "azimage"))


# a name the older notebook-server-era loaders look for
load_jupyter_server_extension = _load_jupyter_server_extension

__all__ = ["EMULATOR_PATH", "GALLERY_PATH", "IMAGES_PATH", "emulator_handlers",
           "_jupyter_server_extension_points", "_load_jupyter_server_extension"]
