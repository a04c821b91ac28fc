"""Request Image: submit a prompt, get operation ids; optionally follow through to the images.

    req = RequestImage(conn, name="fox", prompt="a red fox", size="512x512", n=2, output="fox")
    ops = await req.submit()          # Operations([ImageOperation(...)]); ops.ids
    results = await req.follow(ops)   # DownloadResult per operation (poll + fetch)
    ops = await req.generate()        # both; what the panel's Generate button runs

Settings are checked against the contract when assigned (a too-long prompt,
an n outside 1..5, an unknown size raise ValidationError naming the field
and the limit); ``submit`` checks the whole request (e.g. a blank prompt)
before anything is sent.

One ``submit`` makes one operation of ``n`` images: ``ids`` and
``operations`` are lists so that a batch ``run(data)`` (one operation per
dataset row, a later issue) fills them the same way.

Image edits (versions with ``VersionSpec.edits``: 2025-04-01-preview,
gpt-image-1): set ``edit_image`` (the bytes of a PNG or JPEG) and optionally
``edit_mask`` (a PNG whose transparent pixels mark where to edit); ``submit``
then sends an edit (``ImageClient.edit_image``) instead of a generation, with
the prompt, n, size, user and the options an edit takes (quality,
response_format; the others are left out). The answer is recorded under an id
like any synchronous result, so ``follow``, previews and binding are the same.
Both are checked against the contract when assigned (ValidationError naming
``edit_image`` / ``edit_mask``), are not part of the configuration (bytes are
neither saved nor exported) and are cleared when the version changes to one
without edits. ``edit_image`` may be a list of images (v1 and today's models:
the mask applies to the first).

Today's models (v1 and 2025-04-01-preview): ``deployment`` (default: the
connection's) and ``model`` (default: the connection's, else read from the
deployment's name; the client's ``model=``) choose the rules (see
model_settings): sizes (any ``WxH`` for gpt-image-2), n up to 10,
``moderation``, ``input_fidelity`` for edits. ``partial_images`` 1..3 streams
the request (``ImageClient.stream_image``): each partial image is published in
``partial`` as it arrives, the finished images then as any other result.
Changing the version, model or deployment keeps every value the new rules
still allow and resets the others to their default.
"""
from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from typing import Any

from traitlets import Any as AnyTrait
from traitlets import Int, List, Unicode, default, observe, validate

from ..contract import (
    DEFAULT_SIZE,
    ImageOperation,
    ValidationError,
    version_spec,
)
from ..contract.edits import IMAGES_MAX, PNG_MAGIC, ImageEditRequest, as_images
from ..contract.limits import OPTION_NAMES
from ..contract.models import check_prompt_length
from ..contract.schemas import REQUEST_IMAGE
from .activity import Activity
from .download_result import DownloadResult, poll_and_fetch
from .failures import error_info, format_error
from .model_settings import (
    MODEL_OPTION_NAMES,
    allowed,
    check_edit,
    check_setting,
    uses_model_rules,
)
from .model_settings import rules_of as _rules_of
from .request_body import PreparedRequest, build_request
from .request_send import ModelEdit, Operations, renamed, send_request
from .variables import bind


class RequestImage(Activity):
    """Generate images from a prompt."""

    kind = REQUEST_IMAGE
    label = "Request Image"
    config_names = ("name", "prompt", "size", "n", "api_version", "deployment", "model",
                    "continue_on_error", "output", *OPTION_NAMES, *MODEL_OPTION_NAMES,
                    "partial_images")

    prompt = Unicode("", help="What to draw; 1..1000 characters when run.")
    size = Unicode(DEFAULT_SIZE, help="One of the version's sizes.")
    n = Int(1, help="Number of images, 1..5.")
    user = Unicode(None, allow_none=True, help="Optional end-user label sent to the service.")

    # Settings only some versions have (VersionSpec.options); None: left out, the service's default.
    quality = Unicode(None, allow_none=True,
                      help="2024-10-21: standard|hd; 2025-04-01-preview: low|medium|high|auto.")
    style = Unicode(None, allow_none=True, help="2024-10-21: vivid|natural.")
    response_format = Unicode(None, allow_none=True, help="url|b64_json (2025-04-01-preview: b64_json).")
    output_format = Unicode(None, allow_none=True, help="2025-04-01-preview: png|jpeg.")
    background = Unicode(None, allow_none=True, help="2025-04-01-preview: transparent|opaque|auto.")
    output_compression = Int(None, allow_none=True, help="2025-04-01-preview: 0..100.")

    # today's models (v1): the deployment called, the rules it follows, what only they take
    deployment = Unicode(None, allow_none=True,
                         help="The deployment called (v1 and the synchronous versions); None: the "
                              "connection's.")
    model = Unicode(None, allow_none=True,
                    help="The deployment's image model (v1, 2025-04-01-preview): its rules apply, "
                         "passed to the client as model=; None: read from the deployment's name.")
    moderation = Unicode(None, allow_none=True, help="v1: low|auto.")
    input_fidelity = Unicode(None, allow_none=True,
                             help="v1 edits: high|low (not gpt-image-1-mini).")
    partial_images = Int(0, help="Live previews: 0..3 partial images streamed before each image.")
    partial = AnyTrait(None, allow_none=True,
                       help="The last partial image of a streamed run (a PartialImage), or None.")
    previewing = Int(0, help="While a streamed run's stream is open, how many images it makes "
                             "(a view can lay out their tiles before the first partial); else 0.")

    edit_image = AnyTrait(None, allow_none=True,
                          help="Bytes of a PNG or JPEG to edit, or a list of them (v1); None: "
                               "generate.")
    edit_mask = AnyTrait(None, allow_none=True,
                         help="Optional PNG mask for edit_image: transparent pixels mark where to edit.")

    operations: List[ImageOperation] = List(help="ImageOperation objects of the last run.")
    last_run = AnyTrait(None, allow_none=True, help="The Operations of the last run.")

    @property
    def ids(self) -> list[str]:
        """Operation ids of the last run (``state.ids``)."""
        return list(self.state.ids)

    @property
    def results(self) -> list[DownloadResult | None]:
        """DownloadResult (or None when it failed) per operation, after follow-through (``state.results``)."""
        return list(self.state.results)

    # -- validation on assignment -----------------------------------------------
    @validate("prompt")
    def _check_prompt(self, proposal: Any) -> str:
        value = proposal["value"]
        # the cap while typing; blank text or a lone surrogate are refused when run
        check_prompt_length(version_spec(self.api_version), value)
        return str(value)

    @validate("n", "size", "partial_images", *OPTION_NAMES, *MODEL_OPTION_NAMES)
    def _check_setting(self, proposal: Any) -> Any:
        """The version's rules, or on v1 the model's (a custom size for gpt-image-2, ...)."""
        value = proposal["value"]
        check_setting(self, proposal["trait"].name, value)
        return value

    @default("deployment")
    def _connection_deployment(self) -> str | None:
        return getattr(self.conn, "deployment", None)

    @default("model")
    def _connection_model(self) -> str | None:
        return getattr(self.conn, "model", None)

    @validate("deployment")
    def _check_deployment(self, proposal: Any) -> str | None:
        value = proposal["value"]
        if value is None or not str(value).strip():
            return None
        return str(value).strip()

    @validate("model")
    def _check_model(self, proposal: Any) -> str | None:
        value = proposal["value"]
        if value is None or value == "":
            return None
        from ..contract.image_models import model_spec

        return model_spec(value).name  # ValidationError("model") for an unknown one

    @property
    def image_model(self) -> Any:
        """The ImageModel whose rules the request follows (the version's, or on v1 the model's)."""
        return _rules_of(self)

    @property
    def streams(self) -> bool:
        """Whether a run streams live previews (``partial_images`` > 0 where the model streams)."""
        return bool(self.partial_images) and allowed(self, "partial_images", self.partial_images)

    @validate("edit_image", "edit_mask")
    def _check_edit_file(self, proposal: Any) -> bytes | tuple[bytes, ...] | None:
        value = proposal["value"]
        if value is None:
            return None
        name = proposal["trait"].name
        spec = version_spec(self.api_version)
        several = name == "edit_image" and isinstance(value, (list, tuple))
        if several and not uses_model_rules(spec.version):
            raise ValidationError(name, f"several images need a GPT image version (v1 or "
                                        f"2025-04-01-preview); {spec.version} edits one",
                                  len(value))
        if several and not 1 <= len(value) <= IMAGES_MAX:
            raise ValidationError(name, f"from 1 to {IMAGES_MAX} images", len(value))
        items = list(value) if several else [value]
        if not all(isinstance(v, (bytes, bytearray, memoryview)) for v in items):
            raise ValidationError(name, "must be the bytes of an image file", type(value).__name__)
        if not spec.edits:
            raise ValidationError(name, f"{spec.version} ({spec.model}) has no image edits")
        # the contract's own checks (type, size): a request with a stand-in for the other file
        stand_in = PNG_MAGIC + b"\0"
        data = tuple(bytes(v) for v in items)
        try:
            if name == "edit_image":
                for one in data:
                    ImageEditRequest(images=(one,), prompt="x", api_version=spec.version)
            else:
                ImageEditRequest(images=(stand_in,), mask=data[0], prompt="x",
                                 api_version=spec.version)
        except ValidationError as exc:
            raise renamed(exc) from None
        return data if several else data[0]

    @observe("api_version", "model", "deployment")
    def _follow_rules(self, change: Any) -> None:
        """Settings follow the version and model: every value the new rules still allow is
        kept; a size, n or option they refuse goes back to its default.

        The prompt is kept as typed; a prompt over the new cap is refused when run.
        """
        spec = version_spec(self.api_version)
        # deployment and model are kept (unused by the seeds' version): back on v1 they apply
        if not allowed(self, "size", self.size):
            self.size = spec.default_size if allowed(self, "size", spec.default_size) \
                else self.image_model.default_size
        if not allowed(self, "n", self.n):
            self.n = max(1, min(self.n, self.image_model.n_max, spec.n_max))
        for name in (*OPTION_NAMES, *MODEL_OPTION_NAMES):
            if not allowed(self, name, getattr(self, name)):
                setattr(self, name, None)
        if not allowed(self, "partial_images", self.partial_images):
            self.partial_images = 0
        if not spec.edits:
            self.edit_image = None
            self.edit_mask = None
        elif isinstance(self.edit_image, tuple) and not uses_model_rules(spec.version):
            self.edit_image = self.edit_image[0]

    def options(self) -> dict[str, Any]:
        """The version-specific (and on v1 model-specific) settings that are set."""
        names = (*OPTION_NAMES, *MODEL_OPTION_NAMES)
        return {k: getattr(self, k) for k in names if getattr(self, k) is not None}

    def request(self, dataset: Mapping[str, Any] | None = None) -> PreparedRequest:
        """The request this activity sends (for ``dataset``, as in ``run(data)``); ValidationError
        naming the field when it breaks a limit. See request_body."""
        return build_request(self, dataset)

    @property
    def editing(self) -> bool:
        """Whether ``submit`` sends an edit (an ``edit_image`` is set)."""
        return self.edit_image is not None

    def edit_request(self) -> Any:
        """The edit this activity would send; ValidationError (edit_image, edit_mask, ...)."""
        if self.edit_image is None:
            raise ValidationError("edit_image", "no image to edit: set edit_image")
        return self._model_edit()

    def _model_edit(self) -> ModelEdit:
        """An edit (several images, input_fidelity), checked by the model's rules: every
        version with edits serves GPT image models (v1, 2025-04-01-preview)."""
        images = as_images(self.edit_image)
        fields = {"n": self.n, "size": self.size, "user": self.user,
                  "input_fidelity": self.input_fidelity,
                  **{k: getattr(self, k) for k in OPTION_NAMES if k != "style"}}
        fields = {k: v for k, v in fields.items() if v is not None}
        try:
            check_edit(self, {"prompt": self.prompt, **fields}, images, self.edit_mask)
        except ValidationError as exc:
            raise renamed(exc) from None
        return ModelEdit(images, self.prompt, self.edit_mask, fields)

    # -- running ---------------------------------------------------------------
    async def submit(self, namespace: Any = None) -> Operations:
        """Send the request (an edit when ``edit_image`` is set); returns the operations
        (ids in ``.ids``); binds ``output``."""
        self.start_run()
        editing = self.editing
        try:
            if self.edit_mask is not None and not editing:
                raise ValidationError("edit_mask", "a mask needs an image to edit (edit_image)")
            req: Any = self.edit_request() if editing else self.request()
        except ValidationError as exc:
            self.fail_run(exc)
            raise
        self.clear_operations()
        self.publish(results=())
        self.partial = None
        started = self.clock()
        try:
            op = await send_request(self, req, editing)
        except asyncio.CancelledError:
            self.end_run("canceled", "Submit stopped; the service may still have accepted the "
                                     "request and make the images.")
            raise
        except Exception as exc:
            self.fail_run(exc)
            raise
        ops = Operations([op])
        ops.edit = editing
        self._started = started
        self.operations = list(ops)
        self.last_run = ops
        self.publish(ids=ops.ids, value=ops)
        for o in ops:
            self.update_operation(o.id, status=o.status,
                                  elapsed=round(self.clock() - started, 1))
        if self.output:
            bind(self.output, ops, namespace if namespace is not None else self.namespace)
        what = "edit operation" if editing else "operation"
        self.end_run("submitted", f"Submitted {len(ops)} {what}{'s' if len(ops) != 1 else ''}: "
                                  f"{', '.join(ops.ids)}")
        return ops

    async def follow(self, ops: Iterable[ImageOperation] | None = None) -> list[DownloadResult | None]:
        """Wait for each operation and fetch its images, concurrently.

        A failed operation raises (after the others have finished) unless
        ``continue_on_error`` is set, in which case its result is None and its
        code and message are in its progress row and in ``error``.
        """
        ops = list(self.last_run or []) if ops is None else list(ops)
        if not ops:
            raise ValidationError("ids", "nothing to follow: submit first")
        self.start_run(fresh=False)  # the submit's ids stay
        started = getattr(self, "_started", None) or self.clock()
        client = self.client()
        try:
            outcome = await asyncio.gather(
                *(poll_and_fetch(self, client, op.id, started) for op in ops),
                return_exceptions=True)
        except asyncio.CancelledError:
            self.cancel_run(op.id for op in ops)
            raise
        results: list[DownloadResult | None] = []
        first_exc: BaseException | None = None
        for item in outcome:
            if isinstance(item, asyncio.CancelledError):
                self.cancel_run(op.id for op in ops)
                raise item
            if isinstance(item, BaseException):
                results.append(None)
                first_exc = first_exc or item
            else:
                results.append(item)
        self.publish(results=results)
        if isinstance(self.last_run, Operations):
            self.last_run.results = results
        if first_exc is not None:
            self.fail_run(first_exc)
            if not self.continue_on_error:
                raise first_exc
            return results
        n_ok = sum(len(r.images) for r in results if r is not None)
        refused = sum(len(r.errors) for r in results if r is not None)
        extra = f", {refused} refused" if refused else ""
        verb = "edited" if getattr(self.last_run, "edit", False) else "ready"
        self.end_run("succeeded", f"{n_ok} image{'s' if n_ok != 1 else ''} {verb}{extra}.")
        return results

    async def generate(self, follow: bool = True, namespace: Any = None) -> Operations:
        """Submit, then (``follow=True``) wait for and fetch the images. What Generate runs."""
        ops = await self.submit(namespace)
        if follow:
            await self.follow(ops)
        return ops


__all__ = ["ModelEdit", "Operations", "RequestImage", "error_info", "format_error"]
