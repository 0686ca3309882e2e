"""Structured JSON logging with correlation ids and secret redaction for Comradarr."""

from ._config import Logger, configure_logging, get_logger
from ._correlation import (
    bind_correlation_id,
    correlation_id,
    correlation_scope,
    get_correlation_id,
    new_correlation_id,
)
from ._levels import CHATTY, LEVELS, TRACE, get_level, set_level
from ._redact import REDACTED, is_sensitive_key, redact, redact_text

__all__ = [
    "CHATTY",
    "LEVELS",
    "REDACTED",
    "TRACE",
    "Logger",
    "bind_correlation_id",
    "configure_logging",
    "correlation_id",
    "correlation_scope",
    "get_correlation_id",
    "get_level",
    "get_logger",
    "is_sensitive_key",
    "new_correlation_id",
    "redact",
    "redact_text",
    "set_level",
]
