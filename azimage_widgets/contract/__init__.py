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
    VERSIONS,
    OptionSpec,
    VersionSpec,
    version_spec,
)
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

__all__ = [name for name in dir() if not name.startswith("_")]
