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
    See ``server_gallery``.

Kernels reach the shared emulator over loopback (their client allows plain
HTTP to loopback only): through the server's own port when it listens on
loopback (``--ip`` empty, a wildcard, a loopback address, or a name that
resolves to one), else through a second listener on a free 127.0.0.1 port
that serves the emulator's routes alone.

Configuration (any Jupyter config file)::

    c.AzimageWidgets.emulator = True          # False: no emulator routes
    c.AzimageWidgets.gallery = True           # False: no gallery
    c.AzimageWidgets.store_dir = ""           # gallery's store; default as ImageStore()
    c.AzimageWidgets.emulator_knobs = {}      # EmulatorConfig fields, e.g. {"rpm_limit": 60}
    c.AzimageWidgets.share_with_kernels = True  # the runtime file + AZIMAGE_EMULATOR_INFO
"""
from __future__ import annotations

import atexit
import ipaddress
import json
import os
import re
import secrets
import socket
from collections import deque
from pathlib import Path
from typing import Any

import tornado.web
from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join
from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets

from .contract import DEFAULT_API_VERSION
from .emulator import app as emu_app
from .emulator.config import EmulatorConfig
from .server_gallery import GALLERY_PATH, GalleryFileHandler, GalleryHandler
from .serverinfo import INFO_ENV, INFO_FILE

EMULATOR_PATH = "azimage/emulator"
IMAGES_PATH = "azimage/emulator/images"
#: Requests the shared emulator remembers (its ``requests`` list would grow for days otherwise).
MAX_RECORDS = 2000
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

    def initialize(self, state: emu_app.EmulatorState, api_prefix: str = "",
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


#: A tornado route: (pattern, handler class, the handler's initialize() arguments).
Route = tuple[str, type, dict[str, Any]]

_mounted_classes: dict[type, type] = {}


def _mounted(cls: type) -> type:
    if cls not in _mounted_classes:
        _mounted_classes[cls] = type("Jupyter" + cls.__name__, (_Mounted, cls), {})
    return _mounted_classes[cls]


def emulator_handlers(state: emu_app.EmulatorState, base_url: str) -> list[Route]:
    """Routes of the emulator under ``base_url`` (Jupyter's), with Azure-shaped 404s below them."""
    api_prefix = url_path_join(base_url, EMULATOR_PATH)
    images_prefix = url_path_join(base_url, IMAGES_PATH)
    kw = {"state": state, "api_prefix": api_prefix, "images_prefix": images_prefix}
    routes: list[Route] = []
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


def _loopback_host(ip: str) -> str | None:
    """The loopback host a server bound to ``ip`` answers on, or None when it has none.

    ``ip`` as Jupyter's ``--ip``: empty or a wildcard (every interface, loopback
    included), an address, or a name, which counts when it resolves to a loopback
    address (Debian maps the machine's own name to 127.0.1.1).
    """
    if ip in ("", "0.0.0.0", "*", "localhost"):
        return "127.0.0.1"
    if ip == "::":
        return "[::1]"
    try:
        found = socket.getaddrinfo(ip.strip("[]"), None, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return None
    loopback = []
    for _family, _type, _proto, _name, sockaddr in found:
        try:
            addr = ipaddress.ip_address(str(sockaddr[0]).split("%")[0])
        except ValueError:
            continue
        if addr.is_loopback:
            loopback.append(addr)
    if not loopback:
        return None
    best = min(loopback, key=lambda a: a.version)  # IPv4 first, as the client's default
    return f"[{best}]" if best.version == 6 else str(best)


def _loopback_url(serverapp: Any) -> str | None:
    """http(s)://<loopback>:<port><base_url> of this server as its own kernels reach it.

    None when the server does not listen on loopback (a non-loopback ``--ip``,
    a unix socket): the kernels' client speaks plain HTTP to loopback only.
    """
    if getattr(serverapp, "sock", ""):
        return None
    host = _loopback_host(serverapp.ip or "")
    if host is None:
        return None
    scheme = "https" if serverapp.certfile else "http"
    return f"{scheme}://{host}:{serverapp.port}{serverapp.base_url}"


def _serve_on_loopback(state: emu_app.EmulatorState) -> tuple[str, HTTPServer] | None:
    """The shared emulator alone on a free port of 127.0.0.1: (its base URL, the server).

    For a Jupyter server its kernels cannot reach over loopback; None when no
    port can be bound (kernels then fall back to their embedded emulator).
    """
    try:
        sockets = bind_sockets(0, "127.0.0.1")
    except OSError:
        return None
    server = HTTPServer(tornado.web.Application(emulator_handlers(state, "/")))
    server.add_sockets(sockets)
    port = sockets[0].getsockname()[1]
    return f"http://127.0.0.1:{port}/", server


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
    handlers: list[Route] = []
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
                    served = _serve_on_loopback(state)
                    if served is None:
                        serverapp.log.warning("azimage_widgets: no loopback port for the shared "
                                              "emulator; kernels use their own")
                        return
                    url, serverapp.azimage_loopback_server = served
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
