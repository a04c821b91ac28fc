"""Download Image: wait for an operation, then fetch and decode its images.

    dl = DownloadImage(conn, name="get fox", image_id="[fox][0]", output="fox_images")
    res = await dl.download()        # DownloadResult: .urls .expires .images (Pillow) .errors

``image_id`` is an operation id, or a ``[variable]`` reference resolved from
the namespace when the download starts (see ``variables``); it may resolve
to an id string or to anything with an ``.id`` (an ImageOperation, a
DownloadResult).

Choices where the issue is silent: a failed operation raises (ContentFilterError
for ``contentFilter``, ApiError otherwise) after recording code and message in
``error``; ``canceled`` and ``deleted`` raise ApiError with that status as
the code. One image that cannot be fetched does not fail the others: its
slot carries the error. Images are decoded and thumbnailed in a worker
thread so the kernel's loop stays free.
"""
from __future__ import annotations

import asyncio
import base64
import io
import logging
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from traitlets import Unicode, validate

from ..contract import (
    ApiError,
    ContentFilterError,
    ImageResult,
    ValidationError,
    check_operation_id,
)
from ..contract.schemas import DOWNLOAD_IMAGE
from ..store import store_download
from ..store.thumbnails import THUMBNAIL_PX, make_thumbnail
from .activity import Activity, error_info
from .run_state import RunStatus
from .variables import VariableError, bind, is_reference, parse_reference

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


async def poll_and_fetch(activity: Activity, client: Any, op_id: str, started: float) -> DownloadResult:
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


class DownloadImage(Activity):
    """Retrieve the images of a previously requested operation."""

    kind = DOWNLOAD_IMAGE
    label = "Download Image"
    config_names = ("name", "image_id", "api_version", "continue_on_error", "output")

    image_id = Unicode("", help="An operation id, or a [variable] reference resolved at run time.")

    @validate("image_id")
    def _check_image_id(self, proposal: Any) -> str:
        value = proposal["value"]
        if not isinstance(value, str):
            raise ValidationError("image_id", "must be a string", type(value).__name__)
        value = value.strip()
        if is_reference(value):
            parse_reference(value, field="image_id")  # syntax now; the value at run time
        elif any(c in value for c in "/?#"):
            raise ValidationError("image_id", "an operation id has no / ? or #", value)
        elif value:  # an empty id may be saved; it is required only to run
            check_operation_id(value, field="image_id")
        return value

    def validate_config(self) -> None:
        pass  # an empty id may be saved; it is required only to run

    def resolve_id(self, namespace: Any = None) -> str:
        """The operation id to download: the literal, or the referenced variable's value."""
        text = self.image_id
        if not text:
            raise ValidationError("image_id", "is required: an operation id or a [variable]")
        if not is_reference(text):
            return text
        ns = namespace if namespace is not None else self.namespace
        value = parse_reference(text, field="image_id").resolve(ns, field="image_id")
        if hasattr(value, "id") and isinstance(value.id, str):
            value = value.id
        if not isinstance(value, str) or not value:
            raise VariableError("image_id", text,
                                f"must hold an operation id string, got {type(value).__name__}")
        try:
            check_operation_id(value, field="image_id")
        except ValidationError as exc:
            raise VariableError("image_id", text, exc.limit) from None
        return value

    @property
    def result(self) -> DownloadResult | None:
        """The DownloadResult of the last run (the last one, for a batch), or None."""
        found = [r for r in self.state.results if isinstance(r, DownloadResult)]
        return found[-1] if found else None

    async def download(self, namespace: Any = None) -> DownloadResult:
        """Wait for the operation to finish and fetch its images; binds ``output`` when set.

        Once the images are fetched they are kept, bound and the run ends
        succeeded, even when an observer of the state raises.
        """
        self.start_run()
        op_id = ""
        try:
            op_id = self.resolve_id(namespace)
            self.clear_operations()
            res = await poll_and_fetch(self, self.client(), op_id, self.clock())
        except asyncio.CancelledError:
            self.cancel_run([op_id] if op_id else [])
            raise
        except Exception as exc:
            self.fail_run(exc)
            raise
        n_ok = len(res.images)
        extra = f", {len(res.errors)} refused" if res.errors else ""
        message = f"{n_ok} image{'s' if n_ok != 1 else ''} downloaded{extra}."
        try:
            self.state = self.state.with_outputs(ids=[res.id], results=[res], value=res).end(
                RunStatus.SUCCEEDED, message)
        finally:  # an observer that raised must not cost the binding
            if self.output:
                bind(self.output, res, namespace if namespace is not None else self.namespace)
        return res

    async def delete(self, ids: Any = None) -> list[str]:  # type: ignore[override]
        result = self.result
        if ids is None and not self.operation_ids() and result is not None:
            ids = [result.id]
        return await super().delete(ids)


__all__ = ["DownloadImage", "DownloadResult", "ImageSlot", "decode_image", "fetch_slots",
           "poll_and_fetch", "raise_for_result"]
