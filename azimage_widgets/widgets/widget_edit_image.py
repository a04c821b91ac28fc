"""The "Edit an image" section of a RequestImagePanel (versions with image edits).

Shown only while the selected api-version takes edits (2025-04-01-preview,
gpt-image-1), collapsed by default: a FileUpload for the image (PNG or JPEG,
the contract's ``IMAGE_MAX_BYTES``), an optional FileUpload for the mask (PNG,
``MASK_MAX_BYTES``), a line naming what was uploaded, a small preview of the
image, what Generate will do, Clear, and the mask painter
(widget_mask_painter: brush and eraser over the uploaded image; each stroke
makes the mask, a PNG of the image's size, transparent where painted).
While an image is set the run button reads "Generate edit" and runs
an edit (``RequestImage.edit_image``); the rules live in the activity and the
contract, the section only forwards uploads and shows refusals next to the
field.

Uploads never stay in widget state: a FileUpload's ``value`` carries the
file's bytes in synced state (and a saved notebook), so each upload is read
into the activity and the FileUpload's value is cleared at once; the preview
is a thumbnail of at most ``PREVIEW_PX`` pixels, not the upload.

For a version without edits the section is one hidden, empty box; its
widgets are made the first time a version with edits is selected, so the
panels of the other versions carry no upload widgets at all.
"""
from __future__ import annotations

import html
import io
from typing import Any

from ipywidgets import HTML, Accordion, Button, FileUpload, HBox, Image, VBox
from traitlets import Bunch

from ..contract.edits import IMAGE_MAX_BYTES, MASK_MAX_BYTES
from ..contract.errors import ValidationError
from ..contract.limits import version_spec
from ..store.thumbnails import THUMBNAIL_FORMAT, make_thumbnail
from .widget_mask_painter import MaskPainter
from .widget_tree import show

#: Longest side of the preview of the image to edit, in pixels.
PREVIEW_PX = 128
IMAGE_ACCEPT = ".png,.jpg,.jpeg,image/png,image/jpeg"
MASK_ACCEPT = ".png,image/png"
RUN_LABEL = "Generate"
EDIT_LABEL = "Generate edit"
EDIT_TOOLTIP = "Edit the uploaded image as the prompt says (gpt-image-1 images/edits)"

_TRAITS = {"image": "edit_image", "mask": "edit_mask"}


def _mb(n: int) -> str:
    return f"{n // (1024 * 1024)} MB"


def upload_content(entry: Any) -> tuple[str, bytes]:
    """(name, bytes) of one entry of an ipywidgets 8 ``FileUpload.value``."""
    get = entry.get if isinstance(entry, (dict, Bunch)) else lambda k, d=None: getattr(entry, k, d)
    content = get("content", b"")
    if isinstance(content, memoryview):
        content = content.tobytes()
    return str(get("name", "") or ""), bytes(content or b"")


def _first(images: Any) -> bytes | None:
    """The first image to edit (the one the mask and the painter apply to)."""
    return images[0] if isinstance(images, tuple) else images  # type: ignore[no-any-return]


def _total(images: Any) -> int:
    return sum(len(i) for i in images) if isinstance(images, tuple) else len(images)


class EditImageSection:
    """The edit section of one RequestImagePanel; ``root`` goes into its step 1."""

    def __init__(self, panel: Any) -> None:
        self.panel = panel
        self.activity = panel.activity
        self.look = panel.look
        self.root = VBox([], **self.look(VBox))
        self.root.add_class("azimage-edit-section")
        self.accordion: Accordion | None = None
        self.uploads: dict[str, FileUpload] = {}
        self.names: dict[str, str] = {}
        self.activity.observe(self._on_version, names="api_version")
        self.activity.observe(self._on_file, names=["edit_image", "edit_mask"])
        self._on_version()

    # -- building ----------------------------------------------------------------
    def _build(self) -> None:
        look = self.look
        p = self.panel
        image_up = FileUpload(accept=IMAGE_ACCEPT, multiple=False, description="Image",
                              tooltip=f"PNG or JPEG, at most {_mb(IMAGE_MAX_BYTES)}",
                              **look(FileUpload))
        mask_up = FileUpload(accept=MASK_ACCEPT, multiple=False, description="Mask (optional)",
                             tooltip=(f"PNG of the image's size, at most {_mb(MASK_MAX_BYTES)}: "
                                      f"its transparent pixels mark where to edit"),
                             **look(FileUpload, width="auto"))
        self.uploads = {"image": image_up, "mask": mask_up}
        self.image_field = p._field(image_up, "azimage-edit-image")
        self.mask_field = p._field(mask_up, "azimage-edit-mask")
        p.fields["edit_image"] = self.image_field
        p.fields["edit_mask"] = self.mask_field
        for which, up in self.uploads.items():
            up.observe(lambda c, w=which: self._uploaded(w, c), names="value")
        self.preview = Image(value=b"", format=THUMBNAIL_FORMAT, **look(Image, max_width=f"{PREVIEW_PX}px"))
        self.preview.add_class("azimage-edit-preview")
        self.info = HTML(**look(HTML))
        self.info.add_class("azimage-edit-info")
        self.clear_button = Button(description="Clear", icon="times",
                                   tooltip="Forget the image and mask: Generate makes new images",
                                   **look(Button))
        self.clear_button.add_class("azimage-edit-clear")
        self.clear_button.on_click(lambda _b: self.clear())
        # FileUpload counts its (emptied) value: this line names what was uploaded instead
        self.uploaded = HTML(**look(HTML))
        self.uploaded.add_class("azimage-edit-uploaded")
        self.painter = MaskPainter(**look(MaskPainter))
        self.painter.add_class("azimage-edit-painter")
        self.painter.observe(self._painted, names="mask")
        self._painted_mask: bytes | None = None
        body = VBox([HBox([self.image_field, self.mask_field], **look(HBox)), self.uploaded,
                     HBox([self.preview, VBox([self.info, self.clear_button], **look(VBox))],
                          **look(HBox)), self.painter], **look(VBox))
        self.accordion = Accordion(children=[body], titles=("Edit an image",),
                                   selected_index=None, **look(Accordion))
        self.accordion.add_class("azimage-edit")
        self.root.children = (self.accordion,)
        self._on_file()

    # -- events --------------------------------------------------------------------
    def _on_version(self, _change: Any = None) -> None:
        spec = version_spec(self.activity.api_version)
        if spec.edits and self.accordion is None:
            self._build()
        if "image" in self.uploads:  # v1 edits several images (the mask applies to the first)
            self.uploads["image"].multiple = spec.is_v1
            self.uploads["image"].description = "Images" if spec.is_v1 else "Image"
        show(self.root, spec.edits)
        self._label()

    def _uploaded(self, which: str, change: Any) -> None:
        files = change["new"]
        if not files:
            return
        contents = [upload_content(f) for f in files]
        name, one = contents[0]
        data: bytes | list[bytes] = one
        if which == "image" and len(contents) > 1:  # several images (v1)
            name = ", ".join(n for n, _ in contents)
            data = [d for _, d in contents]
        # the bytes must not stay in synced widget state: read, then clear at once
        self.uploads[which].value = ()
        trait = _TRAITS[which]
        field = self.image_field if which == "image" else self.mask_field
        previous, previous_name = getattr(self.activity, trait), self.names.get(which)
        self.names[which] = name
        try:
            setattr(self.activity, trait, data)  # the contract's checks: type, size, version
            if which == "image" and not self.preview.value:
                raise ValidationError("edit_image", "could not be read as an image")
        except ValidationError as exc:
            if previous_name is None:
                self.names.pop(which, None)
            else:
                self.names[which] = previous_name
            if getattr(self.activity, trait) is not previous:
                setattr(self.activity, trait, previous)
            field.set_error(f"{name or 'upload'} refused: {exc.limit}")
            return
        field.set_error("")

    @staticmethod
    def _thumbnail(data: bytes) -> bytes:
        """A small preview; b"" when the bytes are no readable image."""
        from PIL import Image as PILImage

        try:
            with PILImage.open(io.BytesIO(data)) as img:
                img.load()
                return make_thumbnail(img, PREVIEW_PX)
        except Exception:  # noqa: BLE001 - any decoding failure is the user's file
            return b""

    def _on_file(self, change: Any = None) -> None:
        if change is not None and change["new"] is None:
            self.names.pop("image" if change["name"] == "edit_image" else "mask", None)
        if self.accordion is None:
            self._label()
            return
        a = self.activity
        first = _first(a.edit_image)
        if change is None or change["name"] == "edit_image":
            self.preview.value = b"" if first is None else self._thumbnail(first)
            if first is None or first is not getattr(self, "_painting_on", None):
                self._painting_on = first
                mime = "image/jpeg" if (first or b"")[:3] == b"\xff\xd8\xff" else "image/png"
                self.painter.set_image(first, mime)
        self._show_uploaded()
        show(self.preview, bool(self.preview.value))
        if a.edit_image is None:
            self.info.value = (f"No image: Generate makes new images. Upload a PNG or JPEG "
                               f"(at most {_mb(IMAGE_MAX_BYTES)}) to edit it instead; an "
                               f"optional PNG mask (at most {_mb(MASK_MAX_BYTES)}, the image's "
                               f"size) marks where with its transparent pixels.")
        else:
            what = html.escape(self.names.get("image") or "the image")
            where = ("where the mask is transparent" if a.edit_mask is not None
                     else "as a whole (no mask)")
            self.info.value = (f"<b>{EDIT_LABEL}</b> edits {what} "
                               f"({max(1, _total(a.edit_image) // 1024)} kB) {where}.")
        show(self.clear_button, a.edit_image is not None or a.edit_mask is not None)
        self._label()

    def _painted(self, change: Any) -> None:
        """A stroke in the painter: its mask becomes the edit's mask (None: nothing painted)."""
        mask = change["new"]
        a = self.activity
        if mask is None:
            if a.edit_mask is not None and a.edit_mask is self._painted_mask:
                a.edit_mask = None  # an uploaded mask stays
            self._painted_mask = None
            return
        try:
            a.edit_mask = mask  # the contract's checks: PNG, at most MASK_MAX_BYTES
        except ValidationError as exc:
            self.mask_field.set_error(f"painted mask refused: {exc.limit}")
            return
        self._painted_mask = a.edit_mask
        self.names["mask"] = "painted mask"
        self.mask_field.set_error("")
        self._on_file()

    def _show_uploaded(self) -> None:
        a = self.activity
        parts = []
        if a.edit_image is not None:
            size = self.painter.size
            dims = f", {size[0]}x{size[1]}" if size else ""
            parts.append(f"<b>Image</b>: {html.escape(self.names.get('image') or 'image')}"
                         f" ({max(1, _total(a.edit_image) // 1024)} kB{dims})")
        if a.edit_mask is not None:
            parts.append(f"<b>Mask</b>: {html.escape(self.names.get('mask') or 'mask')}")
        self.uploaded.value = " &middot; ".join(parts)
        show(self.uploaded, bool(parts))

    def _label(self) -> None:
        button = self.panel.run_button
        editing = self.activity.edit_image is not None
        button.description = EDIT_LABEL if editing else RUN_LABEL
        button.icon = "paint-brush" if editing else "magic"
        button.tooltip = EDIT_TOOLTIP if editing else "Submit the prompt and make the images"

    # -- actions --------------------------------------------------------------------
    def clear(self) -> None:
        """Forget the image and the mask: Generate makes new images again."""
        self.activity.edit_mask = None
        self.activity.edit_image = None
        self.names.clear()
        if self.accordion is not None:
            self.image_field.set_error("")
            self.mask_field.set_error("")


__all__ = ["EDIT_LABEL", "EditImageSection", "PREVIEW_PX", "upload_content"]
