"""ImageClient's calls that follow a model's rules, and the surface they use.

``edit_image`` and ``stream_image`` (v1, and the deployments path of
2025-04-01-preview) are checked by the model's rules before anything is sent
(v1.py) and sent through the client's send chain. The streamed ones run in
streaming.py, which sees the client only through ``CallHost``: ``sender``,
``generations``, ``http()`` and ``pause()`` (public names, not documented for
users: they are the client's parts, not its API).
"""
from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Any

import httpx

from ..contract import ImageOperation, ImageResult
from ..contract.stream_events import PartialImage
from .connection import Connection
from .generations import Generations
from .send import Sender
from .streaming import stream
from .v1 import edit_by_model


class ModelCalls:
    """The calls of ImageClient that follow a model's rules: edits (v1 and the
    deployments path) and streamed generations and edits; and the internal surface
    those calls use (``streaming.CallHost``), so no module reaches into the client."""

    _conn: Connection
    _send: Sender
    _generations: Generations
    _sleep: Callable[[float], Awaitable[Any]]

    def _client(self) -> httpx.AsyncClient:
        raise NotImplementedError  # ImageClient's: the httpx client of the running loop

    @property
    def sender(self) -> Sender:
        """The send chain (credentials, retries, errors); for streaming.py and v1.py."""
        return self._send

    @property
    def generations(self) -> Generations:
        """The synchronous calls and the answers recorded under ids this client made."""
        return self._generations

    def http(self) -> httpx.AsyncClient:
        """The httpx client of the running loop (made on first use)."""
        return self._client()

    async def pause(self, seconds: float) -> None:
        """Wait before a retry (``_sleep``: a seam tests replace)."""
        await self._sleep(seconds)

    async def edit_image(
        self,
        image: bytes | list[bytes],
        prompt: str,
        *,
        mask: bytes | None = None,
        n: int = 1,
        size: str | None = None,
        quality: str | None = None,
        response_format: str | None = None,
        user: str | None = None,
        api_version: str | None = None,
        deployment: str | None = None,
        input_fidelity: str | None = None,
        output_format: str | None = None,
        background: str | None = None,
        output_compression: int | None = None,
        model: str | None = None,
    ) -> ImageOperation:
        """Edit an image (v1, or 2025-04-01-preview's deployments path): multipart image(s),
        optional mask, checked by the model's rules (``model``: as ``request_image``'s).

        ``image``: the bytes of a PNG or JPEG (or a list of them); ``mask``: a
        PNG of the first image's size whose transparent pixels mark where to
        edit. Like a synchronous ``request_image``, the answer is recorded
        under a generated id: ``download_image(op.id)`` gives the ImageResult
        (``items[i].b64_json``, ``usage``). ValidationError before anything is
        sent for a version without edits, a file that is not PNG/JPEG, etc.
        """
        fields = {"n": n, "size": size, "quality": quality, "response_format": response_format,
                  "user": user, "input_fidelity": input_fidelity, "output_format": output_format,
                  "background": background, "output_compression": output_compression}
        return await edit_by_model(self._generations, image, prompt, mask=mask, fields=fields,
                                   api_version=api_version or self._conn.api_version,
                                   deployment=deployment, model=model)

    def stream_image(self, prompt: str, *, partial_images: int = 2,
                     image: bytes | list[bytes] | None = None, mask: bytes | None = None,
                     api_version: str | None = None, deployment: str | None = None,
                     model: str | None = None, timeout: float | None = None, **fields: Any
                     ) -> AsyncGenerator[PartialImage | ImageResult, None]:
        """Generate (or, with ``image``, edit) streamed: ``async for event in ...`` gets each
        PartialImage as it arrives, then the ImageResult (recorded: ``download_image(id)``).

        ``fields``: size, n, quality, output_format, background, output_compression,
        moderation, user (and input_fidelity for edits); ``model`` as ``request_image``'s;
        ``timeout`` bounds the whole stream. Checked by the model's rules before anything
        is sent (streaming.py).
        """
        return stream(self, prompt, image=image, mask=mask,
                      partial_images=partial_images, fields=fields,
                      api_version=api_version or self._conn.api_version,
                      deployment=deployment, timeout=timeout, model=model)


__all__ = ["ModelCalls"]
