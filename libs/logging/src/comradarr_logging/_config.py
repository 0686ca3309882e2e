"""Wiring structlog and the stdlib logging module into one JSON stream."""

from __future__ import annotations

import logging
import sys
from typing import IO, Any, cast

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

from ._correlation import correlation_id
from ._levels import LEVELS, TRACE, apply_level, parse_level
from ._redact import redact_event

__all__ = ["Logger", "configure_logging", "get_logger"]

# Set by configure_logging; read per event so reconfiguring takes effect at once.
_service: str | None = None
_handler: logging.Handler | None = None

_METHOD_LEVELS: dict[str, int] = {
    **LEVELS,
    "warn": logging.WARNING,
    "exception": logging.ERROR,
    "critical": logging.CRITICAL,
    "fatal": logging.CRITICAL,
}
# Leading keys of every line, in this order; bound fields follow.
_LEADING = ("timestamp", "level", "service", "module", "event", "correlation_id")


class Logger(structlog.stdlib.BoundLogger):
    """structlog's stdlib BoundLogger plus a trace() method."""

    def trace(self, event: str | None = None, *args: Any, **kw: Any) -> None:
        """Log at TRACE (5): request and response bodies."""
        # Checked before any processor runs: trace calls are frequent and
        # usually disabled, and bodies are expensive to redact.
        if not self._logger.isEnabledFor(TRACE):
            return
        if args:
            kw["positional_args"] = args
        try:
            call_args, call_kw = self._process_event("trace", event, kw)
        except structlog.DropEvent:
            return
        self._logger.log(TRACE, *call_args, **call_kw)


def _filter_by_level(logger: WrappedLogger, method: str, event_dict: EventDict) -> EventDict:
    # structlog's own filter_by_level does not know the trace method.
    if not logger.isEnabledFor(_METHOD_LEVELS.get(method, logging.NOTSET)):
        raise structlog.DropEvent
    return event_dict


def _add_fields(logger: WrappedLogger, method: str, event_dict: EventDict) -> EventDict:
    record = event_dict.get("_record")
    event_dict["module"] = record.name if record is not None else getattr(logger, "name", None)
    if _service is not None:
        event_dict["service"] = _service
    # setdefault: an explicit correlation_id=... on the call wins.
    event_dict.setdefault("correlation_id", correlation_id.get())
    return event_dict


def _redact_foreign(logger: WrappedLogger, method: str, event_dict: EventDict) -> EventDict:
    if event_dict.get("_from_structlog"):
        return event_dict
    event_dict = structlog.processors.format_exc_info(logger, method, event_dict)
    record = event_dict.pop("_record")
    event_dict = redact_event(logger, method, event_dict)
    # remove_processors_meta expects it back; it is never redacted or rendered.
    event_dict["_record"] = record
    return event_dict


def _order_keys(_logger: WrappedLogger, _method: str, event_dict: EventDict) -> EventDict:
    ordered = {key: event_dict.pop(key) for key in _LEADING if key in event_dict}
    ordered.update(event_dict)
    return ordered


def _shared_processors() -> list[Processor]:
    # Run for structlog events and for foreign stdlib records alike.
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        _add_fields,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]


def _structlog_processors() -> list[Processor]:
    return [
        _filter_by_level,
        structlog.stdlib.PositionalArgumentsFormatter(),
        *_shared_processors(),
        structlog.processors.StackInfoRenderer(),
        structlog.processors.format_exc_info,
        # Redact before the event leaves structlog too: other handlers on the
        # root logger (test capture, exporters) see record.msg as this dict.
        redact_event,
        structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
    ]


def _configure_structlog() -> None:
    structlog.configure(
        processors=_structlog_processors(),
        wrapper_class=Logger,
        logger_factory=structlog.stdlib.LoggerFactory(),
        context_class=dict,
        # Not cached, so reconfiguring (and structlog.testing.capture_logs)
        # also affects loggers created at import time.
        cache_logger_on_first_use=False,
    )


def configure_logging(
    *,
    service: str,
    level: str = "info",
    json: bool = True,
    stream: IO[str] | None = None,
) -> None:
    """Send structlog and stdlib logging to one redacted renderer; safe to call again."""
    global _service, _handler
    numeric = parse_level(level)  # validate before changing anything
    _service = service
    _configure_structlog()

    renderer: Processor = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[structlog.stdlib.ExtraAdder(), *_shared_processors()],
        processors=[
            # Always last before rendering: structlog events were redacted as
            # the last step of their chain, stdlib records are redacted here.
            _redact_foreign,
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            _order_keys,
            renderer,
        ],
    )
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(formatter)

    root = logging.getLogger()
    # Replace only our own previous handler: calling twice must not print
    # every line twice, and handlers others installed (pytest's) stay.
    if _handler is not None:
        root.removeHandler(_handler)
    root.addHandler(handler)
    _handler = handler
    apply_level(numeric)


def get_logger(name: str) -> Logger:
    """Return a structlog logger whose module field is name."""
    if not structlog.is_configured():
        # Lets module-level loggers (and .trace) work before configure_logging.
        _configure_structlog()
    return cast(Logger, structlog.get_logger(name))
