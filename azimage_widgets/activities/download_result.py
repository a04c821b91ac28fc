"""A finished operation's images: fetched, decoded and described (every run step uses this).

``poll_and_fetch`` waits for an operation with a progress row on the
activity, raises the service's failure, fetches every image concurrently
(one image that cannot be fetched does not fail the others: its slot carries
the error) and decodes and thumbnails them in a worker thread so the
kernel's loop stays free. The fetched images are put in the image store;
a storage failure is logged and never costs the images.
"""
from __future__ import annotations

import asyncio
import base64
import io
import logging
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from ..contract import ApiError, ContentFilterError, ImageResult
from ..store import store_download
from ..store.thumbnails import THUMBNAIL_PX, make_thumbnail
from .failures import error_info

if TYPE_CHECKING:
    from .run_state import RunStateOwner

log = logging.getLogger(__name__)


@dataclass
class ImageSlot:
    """One requested image: its URL, bytes, decoded image and thumbnail, or its error."""

    index: int
    url: str | None = None
    data: bytes | None = None
    image: Any = None  # PIL.Image.Image
    thumbnail: bytes | None = None  # WebP, at most THUMBNAIL_PX on each side
    error_code: str | None = None
    error_message: str | None = None
    record: Any = None  # the image store's StoreRecord, once stored

    @property
    def ok(self) -> bool:
        return self.image is not None and self.error_code is None

    @property
    def filtered(self) -> bool:
        return self.error_code == "contentFilter"


@dataclass
class DownloadResult:
    """A finished operation with its images fetched."""

    result: ImageResult
    slots: list[ImageSlot] = field(default_factory=list)

    @property
    def id(self) -> str:
        return self.result.id

    @property
    def status(self) -> str:
        return self.result.status

    @property
    def urls(self) -> list[str]:
        """The image URLs the service returned (filtered images have none)."""
        return list(self.result.urls)

    @property
    def created(self) -> datetime | None:
        return _utc(self.result.created)

    @property
    def expires(self) -> datetime | None:
        """When the URLs (and the images at the service) expire, as an aware UTC datetime."""
        return _utc(self.result.expires)

    @property
    def images(self) -> list[Any]:
        """The decoded Pillow images, in order, filtered or unfetchable ones left out."""
        return [s.image for s in self.slots if s.ok]

    @property
    def errors(self) -> list[ImageSlot]:
        """Slots of images that were refused or could not be fetched."""
        return [s for s in self.slots if s.error_code is not None]

    def __repr__(self) -> str:
        return (f"DownloadResult(id={self.id!r}, status={self.status!r}, images={len(self.images)}, "
                f"errors={len(self.errors)}, expires={self.expires.isoformat() if self.expires else None})")


def _utc(ts: int | None) -> datetime | None:
    """``ts`` as an aware UTC datetime; None when absent or out of the calendar's range."""
    if ts is None:
        return None
    try:
        return datetime.fromtimestamp(ts, tz=timezone.utc)
    except (OverflowError, OSError, ValueError):
        return None


def decode_image(data: bytes, max_px: int = THUMBNAIL_PX) -> tuple[Any, bytes]:
    """(Pillow image, thumbnail bytes) from encoded image bytes; Pillow's bomb guard stays on."""
    from PIL import Image

    img = Image.open(io.BytesIO(data))
    img.load()
    return img, make_thumbnail(img, max_px)


def raise_for_result(res: ImageResult) -> None:
    """Raise the service's failure for a terminal result that is not ``succeeded``."""
    if res.status == "succeeded":
        return
    if res.status == "failed":
        code = res.error_code or "failed"
        msg = res.error_message or "the operation failed"
        cls = ContentFilterError if code == "contentFilter" else ApiError
        raise cls(None, code, msg, operation_id=res.id)
    if res.status == "canceled":
        raise ApiError(None, "canceled", res.error_message or
                       "the service canceled the task (it timed out)", operation_id=res.id)
    if res.status == "deleted":
        raise ApiError(None, "deleted", "the operation was deleted", operation_id=res.id)
    raise ApiError(None, res.status, f"the operation ended with status {res.status}", operation_id=res.id)


async def fetch_slots(client: Any, res: ImageResult) -> list[ImageSlot]:
    """Fetch and decode every image of a result concurrently; errors stay in their slot."""

    async def one(item: Any) -> ImageSlot:
        slot = ImageSlot(item.index, url=item.url, error_code=item.error_code,
                         error_message=item.error_message)
        if item.error_code is not None or (item.url is None and item.b64_json is None):
            if slot.error_code is None:
                slot.error_code, slot.error_message = "unsupported", "no URL for this image"
            return slot
        try:
            if item.url is None:  # base64 data in the answer (b64_json, gpt-image-1)
                data = await asyncio.to_thread(base64.b64decode, item.b64_json, validate=True)
            else:
                data = await client.fetch_image(item.url)
            img, thumb = await asyncio.to_thread(decode_image, data)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - recorded in the slot, shown in the panel
            info = error_info(exc)
            slot.error_code = info["code"] or "fetch"
            slot.error_message = info["message"]
            return slot
        slot.data, slot.image, slot.thumbnail = data, img, thumb
        return slot

    return list(await asyncio.gather(*(one(i) for i in res.items)))


async def poll_and_fetch(activity: RunStateOwner, client: Any, op_id: str, started: float) -> DownloadResult:
    """Wait for ``op_id`` with progress rows on ``activity``, raise its failure, fetch its images."""

    def elapsed() -> float:
        return round(activity.clock() - started, 1)

    def on_status(r: ImageResult) -> None:  # every poll: status and elapsed seconds move on
        activity.update_operation(op_id, status=r.status, elapsed=elapsed())

    row = activity.operation_row(op_id)
    activity.update_operation(op_id, status=(row or {}).get("status") or "notRunning",
                              elapsed=elapsed())
    try:
        res = await client.download_image(op_id, on_status=on_status,
                                          api_version=activity.api_version)
        activity.update_operation(op_id, status=res.status, elapsed=elapsed())
        raise_for_result(res)
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        info = error_info(exc)
        row = activity.operation_row(op_id) or {}
        status = row.get("status") if row.get("status") in ("failed", "canceled", "deleted") else "error"
        activity.update_operation(op_id, status=status, message=f"{info['code']}: {info['message']}",
                                  elapsed=elapsed())
        raise
    slots = await fetch_slots(client, res)
    try:
        await store_download(getattr(activity, "store", None), client, res, slots, activity)
    except Exception as exc:  # noqa: BLE001 - the images are fetched: keeping them comes first
        log.warning("could not store the images of %s: %s", op_id, exc)
    ok = sum(1 for s in slots if s.ok)
    refused = [s for s in slots if s.error_code]
    note = "; ".join(f"image {s.index + 1}: {s.error_code}: {s.error_message}" for s in refused)
    activity.update_operation(op_id, images=ok, message=note, elapsed=elapsed())
    return DownloadResult(res, slots)


def images_note(result: Any) -> str:
    """The log line of a fetched result: how many images, and why any was refused."""
    n = len(result.images)
    note = f"{n} image{'s' if n != 1 else ''}"
    if result.errors:
        note += "; " + "; ".join(f"image {s.index + 1}: {s.error_code}: {s.error_message}"
                                  for s in result.errors)
    return note


def remember_request(result: Any, prompt: str, size: str | None, op: Any) -> None:
    """Keep what was asked on the result (the write step's sidecar needs the prompt and size)."""
    try:
        result.request = {"prompt": prompt, "size": size, "operation": op}
    except AttributeError:  # frozen ImageOperation: nothing to attach
        pass


__all__ = ["DownloadResult", "ImageSlot", "decode_image", "fetch_slots", "images_note",
           "poll_and_fetch", "raise_for_result", "remember_request"]
