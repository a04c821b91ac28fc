"""Layer 1, the contract: limits, versions, routes, models and errors.

Imports nothing from the rest of the package; the client, the emulator and
the panels all build on it.
"""
from .edits import ImageEditRequest
from .errors import (
    ApiError,
    AzimageError,
    ContentFilterError,
    ImageFetchError,
    OperationTimeout,
    ThrottledError,
    ValidationError,
    error_body,
    parse_error_body,
)
from .image_models import (
    GPT_IMAGE_COMMON,
    MODEL_NAMES,
    MODELS,
    ImageModel,
    model_spec,
    resolve_model,
    retirement_label,
    retirement_note,
)
from .limits import (
    API_VERSIONS,
    DALLE3_API_VERSION,
    DEFAULT_API_VERSION,
    DEFAULT_N,
    DEFAULT_SIZE,
    GPT_IMAGE_API_VERSION,
    LEGACY_API_VERSION,
    N_MAX,
    N_MIN,
    PROMPT_MAX_CHARS,
    RESULT_TTL_SECONDS,
    SIZES,
    STATUSES,
    TERMINAL_STATUSES,
    V1_API_VERSION,
    VERSIONS,
    OptionSpec,
    VersionSpec,
    version_spec,
)
from .model_rules import validate_generation, validate_image_edit
from .models import (
    ImageItem,
    ImageOperation,
    ImageRequest,
    ImageResult,
    ParseError,
    operation_json,
    parse_images_response,
    parse_operation,
    validate_request,
)
from .text import OPERATION_ID_MAX_CHARS, check_operation_id, check_text

# Static, so type checkers and readers see the same names; the submodules stay importable.
__all__ = [
    "API_VERSIONS", "ApiError", "AzimageError", "ContentFilterError", "DALLE3_API_VERSION",
    "DEFAULT_API_VERSION", "DEFAULT_N", "DEFAULT_SIZE", "GPT_IMAGE_API_VERSION", "GPT_IMAGE_COMMON",
    "ImageEditRequest", "ImageFetchError", "ImageItem", "ImageModel", "ImageOperation",
    "ImageRequest", "ImageResult", "LEGACY_API_VERSION", "MODELS", "MODEL_NAMES", "N_MAX", "N_MIN",
    "OPERATION_ID_MAX_CHARS", "OperationTimeout", "OptionSpec", "PROMPT_MAX_CHARS", "ParseError",
    "RESULT_TTL_SECONDS", "SIZES", "STATUSES", "TERMINAL_STATUSES", "ThrottledError",
    "V1_API_VERSION", "VERSIONS", "ValidationError", "VersionSpec", "check_operation_id",
    "check_text", "error_body", "model_spec", "operation_json", "parse_error_body",
    "parse_images_response", "parse_operation", "resolve_model", "retirement_label",
    "retirement_note", "validate_generation", "validate_image_edit", "validate_request",
    "version_spec",
]
