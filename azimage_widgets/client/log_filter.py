"""A logging filter that hides credentials in URLs of httpx's own log lines.

httpx logs every request at INFO (``HTTP Request: GET <url> "HTTP/1.1 200 OK"``)
with the full URL, and a result image's URL carries its SAS signature
(``sig=``). The filter rewrites such records, whoever configured logging,
so the signature shows as ``sig=***``; it is installed on the ``httpx``
logger when ``azimage_widgets.client`` is imported.
"""
from __future__ import annotations

import logging

from ..contract.errors import redact_query

#: The loggers the filter is installed on.
FILTERED_LOGGERS = ("httpx",)


class RedactQueryFilter(logging.Filter):
    """Rewrites a record whose message carries ``sig=``, ``api-key=``, ... values; drops nothing."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a malformed record is logging's to report, not ours
            return True
        cleaned = redact_query(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def install_log_filter() -> None:
    """Add the filter to httpx's logger, once (idempotent: a second call adds nothing)."""
    for name in FILTERED_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactQueryFilter) for f in logger.filters):
            logger.addFilter(RedactQueryFilter())
