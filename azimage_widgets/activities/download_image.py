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
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from traitlets import Unicode, validate

from ..contract import ApiError, ValidationError, check_operation_id
from ..contract.schemas import DOWNLOAD_IMAGE
from .activity import Activity
from .download_result import (
    DownloadResult,
    ImageSlot,
    decode_image,
    fetch_slots,
    poll_and_fetch,
    raise_for_result,
)
from .run_state import RunStatus
from .variables import bind, is_reference, operation_id, parse_reference


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
        elif value:  # an empty id may be saved; it is required only to run
            check_operation_id(value, field="image_id")
        return value

    def validate_config(self) -> None:
        pass  # an empty id may be saved; it is required only to run

    def resolve_id(self, namespace: Any = None) -> str:
        """The operation id to download: the literal, or the referenced variable's value."""
        if not self.image_id:
            raise ValidationError("image_id", "is required: an operation id or a [variable]")
        ns = namespace if namespace is not None else self.namespace
        return operation_id(self.image_id, ns, field="image_id")

    @property
    def result(self) -> DownloadResult | None:
        """The DownloadResult of the last run (the last one, for a batch), or None."""
        found = [r for r in self.state.results if isinstance(r, DownloadResult)]
        return found[-1] if found else None

    def not_found_message(self, exc: ApiError, op_id: str) -> str:
        """A 404 with what was looked up where: the id, the endpoint's host and the api-version."""
        endpoint = getattr(self.conn, "endpoint", None)
        host = urlsplit(endpoint).netloc if isinstance(endpoint, str) else ""
        where = f"at {host}" if host else "at the connection's endpoints"
        return (f"{exc.message or 'Resource not found'}: no operation {op_id!r} {where} "
                f"with api-version {self.api_version} (an id from another resource, "
                "deployment or api-version, or older than the service keeps)")

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
        except ApiError as exc:
            if exc.status_code == 404 and op_id:
                self.fail_run(exc, message=self.not_found_message(exc, op_id))
            else:
                self.fail_run(exc)
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

    async def delete(self, ids: Iterable[str] | None = None) -> list[str]:
        result = self.result
        if ids is None and not self.operation_ids() and result is not None:
            ids = [result.id]
        return await super().delete(ids)


__all__ = ["DownloadImage", "DownloadResult", "ImageSlot", "decode_image", "fetch_slots",
           "poll_and_fetch", "raise_for_result"]
