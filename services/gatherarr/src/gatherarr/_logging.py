"""JSON-lines logging with a redaction step that keeps API keys and auth headers out."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable, MutableMapping
from typing import Any, TextIO

import structlog

REDACTED = "***"
_SENSITIVE_KEY = re.compile(r"api[-_]?key|authorization|auth|token|secret|password|cookie", re.I)
# Catches keys in URLs and headers even when the value is not one of the configured keys.
_INLINE = re.compile(r"(?i)(apikey=|api_key=|x-api-key[\"']?\s*[:=]\s*[\"']?)([^&\s\"',}]+)")


class Redactor:
    """structlog processor that masks secrets by key name, by known value and inline."""

    def __init__(self, *, secrets: Iterable[str] = ()) -> None:
        self.secrets = tuple(sorted({s for s in secrets if s}, key=len, reverse=True))

    def _clean(self, value: Any) -> Any:
        if isinstance(value, str):
            for secret in self.secrets:
                value = value.replace(secret, REDACTED)
            return _INLINE.sub(lambda m: m.group(1) + REDACTED, value)
        if isinstance(value, dict):
            return {
                k: REDACTED if isinstance(k, str) and _SENSITIVE_KEY.search(k) else self._clean(v)
                for k, v in value.items()
            }
        if isinstance(value, list | tuple):
            return [self._clean(v) for v in value]
        if isinstance(value, int | float | bool) or value is None:
            return value
        return self._clean(str(value))

    def __call__(
        self, logger: Any, method_name: str, event_dict: MutableMapping[str, Any]
    ) -> MutableMapping[str, Any]:
        """Redact every field of one event."""
        for key in list(event_dict):
            if _SENSITIVE_KEY.search(key):
                event_dict[key] = REDACTED
            else:
                event_dict[key] = self._clean(event_dict[key])
        return event_dict


def configure_logging(*, level: str, secrets: Iterable[str], stream: TextIO | None = None) -> None:
    """Send structlog and stdlib records as JSON lines to ``stream`` (stdout by default)."""
    redactor = Redactor(secrets=secrets)
    out = stream if stream is not None else sys.stdout
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
        redactor,
    ]
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    handler = logging.StreamHandler(out)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                redactor,
                structlog.processors.JSONRenderer(),
            ],
        )
    )
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # These libraries log routine requests and detection at INFO; none is an action on a target.
    for noisy in ("httpx", "httpcore", "comradarr_arr", "uvicorn"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))
