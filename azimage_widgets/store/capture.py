"""Putting fetched images into the store: the activities' one call.

``resolve_store(setting)`` turns an activity's ``store`` setting into an
ImageStore or None:

- ``None`` or ``True``: the default store (``default_store()``; it follows
  ``$AZIMAGE_STORE_DIR``, read when first used by a run)
- ``False``: off
- a path: an ImageStore in that folder
- an ImageStore (or anything with ``put``): used as is

``await store_download(setting, client, result, activity=a)`` puts every
fetched image of a DownloadResult into the store. What the prompt was comes
from the client (``ImageClient.request_of(op_id)`` for operations submitted
in this kernel), else an earlier record of the same operation, else the
activity's own ``prompt``. Storing never fails a download: an error is
logged and left in the slot's ``store_error``.
"""
from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .image_store import ImageStore
from .location import default_store_dir
from .records import StoreRecord

log = logging.getLogger("azimage_widgets.store")

_DEFAULTS: dict[Path, ImageStore] = {}
_OFF = False
_override: ImageStore | None = None


def default_store() -> ImageStore | None:
    """The store fetched images go to unless told otherwise (None when turned off)."""
    if _override is not None:
        return _override
    if _OFF:
        return None
    root = default_store_dir()
    store = _DEFAULTS.get(root)
    if store is None:
        store = _DEFAULTS[root] = ImageStore(root)
    return store


def set_default_store(store: ImageStore | str | os.PathLike[str] | bool | None) -> None:
    """Change this process's default store: an ImageStore or folder, False (off), None (the default)."""
    global _OFF, _override
    if store is False:
        _OFF, _override = True, None
    elif store is None or store is True:
        _OFF, _override = False, None
    elif isinstance(store, (str, os.PathLike)):
        _OFF, _override = False, ImageStore(store)
    elif hasattr(store, "put"):
        _OFF, _override = False, store
    else:
        raise TypeError(f"store must be an ImageStore, a folder, True/False or None, not "
                        f"{type(store).__name__}")


def resolve_store(setting: Any) -> ImageStore | None:
    """An activity's ``store`` setting -> the ImageStore to use, or None (off)."""
    if setting is None or setting is True:
        return default_store()
    if setting is False:
        return None
    if isinstance(setting, (str, os.PathLike)):
        root = Path(setting).expanduser()
        store = _DEFAULTS.get(root)
        if store is None:
            store = _DEFAULTS[root] = ImageStore(root)
        return store
    if hasattr(setting, "put"):
        chosen: ImageStore = setting  # anything with put() stands in for an ImageStore
        return chosen
    raise TypeError(f"store must be None, True, False, a folder or an ImageStore, not "
                    f"{type(setting).__name__}")


def request_info(client: Any, op_id: str, activity: Any = None,
                 store: ImageStore | None = None) -> dict[str, Any]:
    """What was asked for ``op_id``: prompt, size, n, api_version and further fields, as known."""
    info: dict[str, Any] = {}
    lookup = getattr(client, "request_of", None)
    if callable(lookup):
        try:
            got = lookup(op_id)
        except Exception:  # noqa: BLE001 - a best-effort lookup
            got = None
        if isinstance(got, Mapping):
            info.update(got)
    if not info.get("prompt") and store is not None and hasattr(store, "records"):
        earlier: list[StoreRecord]
        try:
            earlier = store.records(operation_id=op_id, limit=1)
        except Exception:  # noqa: BLE001
            earlier = []
        if earlier:
            rec = earlier[0]
            info.setdefault("size", rec.size)
            info.setdefault("api_version", rec.api_version)
            info["prompt"] = rec.prompt
            for k, v in rec.params.items():
                info.setdefault(k, v)
    if not info.get("prompt") and activity is not None:
        prompt = getattr(activity, "prompt", None)
        if isinstance(prompt, str) and prompt:
            info["prompt"] = prompt
            for name in ("size", "api_version"):
                value = getattr(activity, name, None)
                if isinstance(value, str) and value:
                    info.setdefault(name, value)
    if not info.get("api_version") and activity is not None:
        value = getattr(activity, "api_version", None)
        if isinstance(value, str) and value:
            info["api_version"] = value
    return info


def _where(client: Any, op_id: str) -> tuple[str | None, str | None]:
    """(endpoint, deployment) that served ``op_id``."""
    conn = None
    owner = getattr(client, "connection_for", None)
    if callable(owner):
        try:
            conn = owner(op_id)
        except Exception:  # noqa: BLE001
            conn = None
    if conn is None:
        conn = getattr(client, "connection", None)
    return getattr(conn, "endpoint", None), getattr(conn, "deployment", None)


_BASE_FIELDS = ("prompt", "size", "api_version")
_NOT_PARAMS = frozenset({"prompt", "size", "api_version", "n", "user"})


def store_slots_sync(store: ImageStore, result: Any, slots: Any, info: Mapping[str, Any],
                     endpoint: str | None, deployment: str | None) -> list[StoreRecord]:
    """Put every fetched slot (``.data`` set) of a result into ``store``; blocking."""
    records: list[StoreRecord] = []
    params = {k: v for k, v in info.items() if k not in _NOT_PARAMS and v is not None}
    for slot in slots:
        data = getattr(slot, "data", None)
        if not data or getattr(slot, "error_code", None):
            continue
        try:
            rec = store.put(
                data, prompt=info.get("prompt") or "", api_version=info.get("api_version"),
                size=info.get("size"), operation_id=result.id, image_index=slot.index,
                created=result.created, expires=result.expires, source_url=slot.url,
                endpoint=endpoint, deployment=deployment, params=params)
        except Exception as exc:  # noqa: BLE001 - storing never fails a download
            log.warning("could not store image %s of %s: %s", slot.index, result.id, exc)
            _set(slot, "store_error", f"{type(exc).__name__}: {exc}")
            continue
        _set(slot, "record", rec)
        records.append(rec)
    return records


def _set(obj: Any, name: str, value: Any) -> None:
    try:
        setattr(obj, name, value)
    except (AttributeError, TypeError):
        pass


async def store_download(setting: Any, client: Any, result: Any, slots: Any,
                         activity: Any = None) -> list[StoreRecord]:
    """Put the fetched images of one operation into the store an activity's setting names.

    ``result`` is the ImageResult (``.id``, ``.created``, ``.expires``);
    ``slots`` the fetched ImageSlots. Returns the records made (empty when the
    store is off). Never raises for a storage failure.
    """
    try:
        store = resolve_store(setting)
    except Exception as exc:  # noqa: BLE001 - a bad setting is reported, not fatal to the download
        log.warning("image store setting refused: %s", exc)
        return []
    if store is None:
        return []
    info = request_info(client, result.id, activity, store)
    endpoint, deployment = _where(client, result.id)
    try:
        return await asyncio.to_thread(store_slots_sync, store, result, slots, info,
                                       endpoint, deployment)
    except Exception as exc:  # noqa: BLE001
        log.warning("could not store the images of %s: %s", result.id, exc)
        return []


__all__ = ["default_store", "request_info", "resolve_store", "set_default_store",
           "store_download", "store_slots_sync"]
