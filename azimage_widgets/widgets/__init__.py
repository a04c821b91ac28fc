"""Layer 4: ipywidgets panels over the layer-3 activities.

``RequestImagePanel`` and ``DownloadImagePanel`` are thin views: every rule
(validation, names, save/discard, running, binding) lives in
``azimage_widgets.activities``; the panels only show it and forward clicks.
Standard ipywidgets 8 controls only.

CSS classes (added with ``add_class``; they land on each widget's root
element; in ipywidgets 8 an ``Image`` view's element is the ``<img>`` itself,
so select ``img.azimage-thumb``):

Panel and configuration frame
    ``azimage-panel``            root of every panel
    ``azimage-request-image``    root of a RequestImagePanel
    ``azimage-download-image``   root of a DownloadImagePanel
    ``azimage-summary``          the collapsed one-line summary (a Button; click reopens)
    ``azimage-config``           the open configuration body (steps + buttons)
    ``azimage-step1``            step 1 box (settings)
    ``azimage-step2``            step 2 box (data schemas)
    ``azimage-next`` ``azimage-back`` ``azimage-save-exit`` ``azimage-finished``
    ``azimage-discard``          Discard Changes
    ``azimage-confirm``          the confirm row shown after Discard Changes
    ``azimage-discard-yes``      confirm: discard
    ``azimage-discard-no``       confirm: keep editing

Fields (step 1)
    ``azimage-name``             Name text field
    ``azimage-prompt``           the prompt area (widget_prompt_area, Request Image); inside it
                                 ``azimage-prompt-text`` the ``<textarea>`` (maxlength),
                                 ``azimage-prompt-counter`` the live ``n / 1000`` counter and
                                 ``azimage-prompt-note`` the note about a cut paste
    ``azimage-image-id``         Image ID text field (Download Image)
    ``azimage-field-error``      an inline error under any field; each also has
                                 ``<field class>-error``: ``azimage-name-error``,
                                 ``azimage-prompt-error``, ``azimage-image-id-error``,
                                 ``azimage-size-error``, ``azimage-n-error``,
                                 ``azimage-version-error``, ``azimage-output-error``,
                                 ``azimage-continue-on-error-error``
    ``azimage-optional``         the Optional settings Accordion (collapsed)
    ``azimage-size``             Size Dropdown
    ``azimage-n``                Number of images IntSlider
    ``azimage-version``          Supported versions Dropdown
    ``azimage-quality`` ``azimage-style`` ``azimage-response-format``
    ``azimage-output-format`` ``azimage-background`` ``azimage-output-compression``
                                 the version's options (widget_version_fields), shown only
                                 when the selected version has them; each with its
                                 ``azimage-quality-error``, ``azimage-style-error``,
                                 ``azimage-response-format-error``,
                                 ``azimage-output-format-error``,
                                 ``azimage-background-error``,
                                 ``azimage-output-compression-error``
    ``azimage-deployment`` ``azimage-model`` ``azimage-custom-size`` ``azimage-moderation``
    ``azimage-input-fidelity`` ``azimage-live-previews``
                                 today's models (widget_model_fields): Deployment Text (v1
                                 and the synchronous versions), Model Dropdown, Custom size
                                 Text (gpt-image-2), Moderation and Input fidelity Dropdowns,
                                 Live previews IntSlider (v1); each with its ``-error``:
                                 ``azimage-deployment-error``, ``azimage-model-error``,
                                 ``azimage-custom-size-error``, ``azimage-moderation-error``,
                                 ``azimage-input-fidelity-error``,
                                 ``azimage-live-previews-error``
    ``azimage-continue-on-error`` Continue on error Checkbox
    ``azimage-output``           "Bind result to" variable name Text (in Optional settings)
    ``azimage-edit-section``     box of the image-edit section (widget_edit_image); hidden, and
                                 empty, unless the selected version takes edits (gpt-image-1)
    ``azimage-edit``             the "Edit an image" Accordion (collapsed)
    ``azimage-edit-image``       the image FileUpload (PNG/JPEG); ``azimage-edit-image-error``
    ``azimage-edit-mask``        the optional mask FileUpload (PNG); ``azimage-edit-mask-error``
    ``azimage-edit-preview``     the small preview ``<img>`` of the image to edit
    ``azimage-edit-info``        what Generate will do (edit which image, with or without mask)
    ``azimage-edit-clear``       Clear: forget image and mask, Generate makes new images again

Schemas (step 2)
    ``azimage-schema``           the schema box; ``azimage-schema-table`` each table (HTML)
    ``azimage-schema-refresh`` ``azimage-schema-edit``  Refresh and Edit buttons
    ``azimage-schema-status``    what the last Refresh did (or its error)
    ``azimage-schema-editor``    the editor (widget_schema_editor): ``azimage-schema-part``,
                                 ``azimage-schema-fields``, ``azimage-schema-name``,
                                 ``azimage-schema-type``, ``azimage-schema-add``,
                                 ``azimage-schema-delete``, ``azimage-schema-rename``,
                                 ``azimage-schema-set-type``, ``azimage-schema-up``,
                                 ``azimage-schema-down``, ``azimage-schema-apply``,
                                 ``azimage-schema-cancel``, ``azimage-schema-reset``,
                                 ``azimage-schema-editor-error``

Running
    ``azimage-generate``         Generate button (Request Image)
    ``azimage-download``         Download button (Download Image)
    ``azimage-follow``           "Download and preview" Checkbox (Request Image)
    ``azimage-cancel``           Cancel button
    ``azimage-delete``           Delete button
    ``azimage-status``           the status line (HTML); failures show code and message
    ``azimage-error``            added to the status line while it shows a failure
    ``azimage-ids``              the returned operation ids (HTML, selectable text)
    ``azimage-progress``         per-operation progress box; ``azimage-progress-row`` each row
    ``azimage-urls``             URLs and expiry (Download Image)
    ``azimage-batch``            progress over a ``run(data)`` batch; ``azimage-batch-bar``
                                 the IntProgress, ``azimage-batch-text`` "done / total"

Operations and the operation log (widget_operation, widget_operation_log)
    ``azimage-operation``        root of an OperationPanel; ``azimage-operation-chain``,
                                 ``azimage-operation-run``, ``azimage-operation-cancel``,
                                 ``azimage-operation-status``
    ``azimage-oplog``            root of an OperationLogView; ``azimage-oplog-table``,
                                 ``azimage-oplog-errors-only``, ``azimage-oplog-export-csv``,
                                 ``azimage-oplog-export-json``, ``azimage-oplog-folder``,
                                 ``azimage-oplog-status``; table rows ``azimage-oplog-row``
                                 (failures also ``azimage-oplog-error``)

View code (widget_view_code)
    ``azimage-view-code``        the "View code" toggle button (next to Generate / Download)
    ``azimage-code``             the code box; ``azimage-code-python`` and ``azimage-code-curl``
                                 its text areas

History gallery (widget_history: ``aw.history()``)
    ``azimage-history``          root; ``azimage-history-search`` the search Text,
                                 ``azimage-history-pinned-only``, ``azimage-history-count``,
                                 ``azimage-history-status``, ``azimage-history-grid``;
                                 per tile ``azimage-history-tile``, ``azimage-history-thumb``,
                                 ``azimage-history-caption``, ``azimage-history-pin``,
                                 ``azimage-history-delete``

Compare grid (widget_compare: ``aw.CompareGrid``)
    ``azimage-compare``          root; ``azimage-compare-run``, ``azimage-compare-cancel``,
                                 ``azimage-compare-status``, ``azimage-compare-grid``,
                                 ``azimage-compare-header``; per cell ``azimage-compare-cell``,
                                 ``azimage-compare-cell-status``, ``azimage-compare-thumb``,
                                 ``azimage-compare-pin``, ``azimage-compare-rerun``

Previews
    ``azimage-previews``         the preview box; ``azimage-grid`` its GridBox
    ``azimage-tile``             one grid cell
    ``azimage-partial``          a live preview tile (a partial image, blurred, replaced in place
                                 by the next partial, then by the finished image);
                                 its picture also has ``azimage-partial-thumb``; laid out when
                                 the stream opens, it shows a box of the image's shape
                                 (``div.azimage-partial-waiting``) until the first partial
    ``azimage-thumb``            a thumbnail ``<img>`` (<= 256 px, JPEG)
    ``azimage-filtered``         placeholder of a filtered image (the service's message)
    ``azimage-fullsize``         a tile's "Full size" button
    ``azimage-full-size-view``   the (invisible) widget behind the full-size overlay
                                 (widget_full_size); the overlay itself, outside the widget:
                                 ``azimage-full-overlay``, ``azimage-full`` (the ``<img>``),
                                 ``azimage-full-caption``, ``azimage-full-close``
    ``azimage-save``             a tile's Save button (a browser download of its PNG);
                                 ``azimage-save-all`` Save all (one zip, through the browser)
    ``azimage-save-folder-button`` Save to folder: PNGs written on the server
    ``azimage-save-folder``      the folder Text the PNGs are written to
    ``azimage-save-status``      what the last save did (paths, or the download note)
"""
from __future__ import annotations

from .widget_batch import BatchProgressBar
from .widget_compare import CompareGrid
from .widget_download_image import DownloadImagePanel
from .widget_fields import Field, FieldBinding
from .widget_history import HistoryGallery, history
from .widget_operation import OperationPanel
from .widget_operation_log import OperationLogView
from .widget_panel import ActivityPanel, ActivitySetting
from .widget_previews import PreviewGrid
from .widget_progress import ProgressView
from .widget_prompt_area import PromptArea
from .widget_request_image import RequestImagePanel
from .widget_schema import SchemaView
from .widget_schema_editor import SchemaEditor, SchemaTools
from .widget_steps import StepFrame
from .widget_tree import close_tree, walk
from .widget_view_code import CodeView

__all__ = [
    "ActivityPanel", "ActivitySetting", "BatchProgressBar", "CodeView", "CompareGrid",
    "DownloadImagePanel", "Field", "FieldBinding", "HistoryGallery", "OperationLogView",
    "OperationPanel", "PreviewGrid", "ProgressView", "PromptArea", "RequestImagePanel",
    "SchemaEditor", "SchemaTools", "SchemaView", "StepFrame", "close_tree", "history", "walk",
]
