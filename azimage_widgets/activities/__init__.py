"""Layer 3: Request Image and Download Image as plain traitlets objects.

Usable from a script with no widgets (nothing here imports ipywidgets); the
panels of layer 4 observe these objects' traits.
"""
from .activity import Activity, error_info, format_error, registered
from .download_image import DownloadImage, DownloadResult, ImageSlot
from .request_image import Operations, RequestImage
from .variables import (
    VariableError,
    VariableRef,
    bind,
    default_namespace,
    parse_reference,
    resolve,
)

__all__ = [
    "Activity", "DownloadImage", "DownloadResult", "ImageSlot", "Operations", "RequestImage",
    "VariableError", "VariableRef", "bind", "default_namespace", "error_info", "format_error",
    "parse_reference", "registered", "resolve",
]
