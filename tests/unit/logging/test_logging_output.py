"""Shape of the JSON lines, levels, trace, and stdlib integration."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pytest
import structlog
from comradarr_logging import (
    LEVELS,
    TRACE,
    configure_logging,
    get_level,
    get_logger,
    set_level,
)

if TYPE_CHECKING:
    from conftest import Captured

pytestmark = pytest.mark.unit


def test_json_line_shape(out: Captured) -> None:
    get_logger("comradarr.sync.worker").bind(connector_id=7).info("synced", items=3)

    [line] = out.lines()
    assert list(line)[:6] == ["timestamp", "level", "service", "module", "event", "correlation_id"]
    assert line["level"] == "info"
    assert line["service"] == "testsvc"
    assert line["module"] == "comradarr.sync.worker"
    assert line["event"] == "synced"
    assert line["correlation_id"] is None
    assert line["connector_id"] == 7
    assert line["items"] == 3
    ts = datetime.fromisoformat(line["timestamp"])
    assert ts.utcoffset() == UTC.utcoffset(None)
    assert abs((datetime.now(UTC) - ts).total_seconds()) < 60


def test_one_object_per_line(out: Captured) -> None:
    log = get_logger("m")
    log.info("one", text="multi\nline")
    log.warning("two")
    log.error("three")
    assert [line["event"] for line in out.lines()] == ["one", "two", "three"]
    assert [line["level"] for line in out.lines()] == ["info", "warning", "error"]
    assert out.lines()[0]["text"] == "multi\nline"


def test_positional_args_are_interpolated(out: Captured) -> None:
    get_logger("m").info("hello %s, %d", "world", 3)
    assert out.lines()[0]["event"] == "hello world, 3"


def test_configure_twice_is_idempotent(configure: Callable[..., Captured]) -> None:
    first = configure(service="a")
    second = configure(service="b")
    get_logger("m").info("once")
    logging.getLogger("ext.lib").warning("stdlib once")
    assert first.text == ""
    assert [(line["service"], line["event"]) for line in second.lines()] == [
        ("b", "once"),
        ("b", "stdlib once"),
    ]


def test_invalid_level_in_configure_changes_nothing(configure: Callable[..., Captured]) -> None:
    out = configure(level="info")
    with pytest.raises(ValueError, match="trace, debug, info, warning, error"):
        configure_logging(service="x", level="verbose", stream=io.StringIO())
    get_logger("m").info("still here")
    assert out.lines()[0]["service"] == "testsvc"


def test_console_renderer(configure: Callable[..., Captured]) -> None:
    out = configure(json=False)
    get_logger("m").info("human readable", token="TOPSECRET")
    assert "human readable" in out.text
    assert "TOPSECRET" not in out.text
    with pytest.raises(json.JSONDecodeError):
        json.loads(out.text)


def test_level_filtering(configure: Callable[..., Captured]) -> None:
    out = configure(level="warning")
    log = get_logger("m")
    log.debug("d")
    log.info("i")
    log.warning("w")
    log.error("e")
    logging.getLogger("ext.lib").info("stdlib info")
    logging.getLogger("ext.lib").error("stdlib error")
    assert [line["event"] for line in out.lines()] == ["w", "e", "stdlib error"]
    assert get_level() == "warning"


def test_level_changes_at_run_time(configure: Callable[..., Captured]) -> None:
    out = configure(level="info")
    log = get_logger("m")  # created before the change, like module-level loggers
    log.debug("hidden")
    set_level("debug")
    assert get_level() == "debug"
    log.debug("shown")
    logging.getLogger("ext.asyncpg").debug("stdlib shown")
    set_level("ERROR")  # case-insensitive
    assert get_level() == "error"
    log.warning("hidden again")
    assert [line["event"] for line in out.lines()] == ["shown", "stdlib shown"]


def test_libraries_logging_every_request_are_quiet_unless_debugging(
    configure: Callable[..., Captured],
) -> None:
    out = configure(level="info")
    httpx_log = logging.getLogger("httpx")
    httpx_log.info('HTTP Request: GET http://sonarr:8989/api/v3/episode "HTTP/1.1 200 OK"')
    httpx_log.warning("a library warning still shows")
    get_logger("m").info("our own info shows")
    set_level("debug")  # at run time too
    httpx_log.info("request shown when debugging")
    set_level("warning")
    httpx_log.info("hidden again")
    assert [line["event"] for line in out.lines()] == [
        "a library warning still shows",
        "our own info shows",
        "request shown when debugging",
    ]


@pytest.mark.parametrize("bad", ["verbose", "", "critical", "5"])
def test_invalid_level_names_the_valid_ones(bad: str) -> None:
    with pytest.raises(ValueError) as info:
        set_level(bad)
    for name in LEVELS:
        assert name in str(info.value)


class _Exploding:
    def __str__(self) -> str:
        raise AssertionError("processors ran for a filtered trace call")


def test_trace_is_really_filtered(configure: Callable[..., Captured]) -> None:
    out = configure(level="debug")
    log = get_logger("m")
    # If the event were processed at all, redaction would str() the body.
    log.trace("response", body=_Exploding())
    logging.getLogger("ext.lib").log(TRACE, "stdlib trace")
    assert out.text == ""


def test_trace_level(configure: Callable[..., Captured]) -> None:
    out = configure(level="trace")
    assert get_level() == "trace"
    log = get_logger("m")
    log.trace("response body %s", "x", body='{"ok": true}')
    log.debug("debug too")
    logging.getLogger("ext.lib").log(TRACE, "stdlib trace")
    lines = out.lines()
    assert [(line["level"], line["event"]) for line in lines] == [
        ("trace", "response body x"),
        ("debug", "debug too"),
        ("trace", "stdlib trace"),
    ]
    assert lines[0]["body"] == '{"ok": true}'
    assert TRACE < logging.DEBUG


def test_stdlib_records_rendered_as_json(out: Captured) -> None:
    # "ext." names: other tests in the session may have set levels on the real
    # uvicorn/asyncpg loggers, and those levels (by design) win over set_level.
    logging.getLogger("ext.uvicorn.access").info(
        '%s - "%s %s" %d', "10.0.0.1", "GET", "/health", 200, extra={"duration_ms": 3}
    )
    [line] = out.lines()
    assert line["module"] == "ext.uvicorn.access"
    assert line["level"] == "info"
    assert line["service"] == "testsvc"
    assert line["event"] == '10.0.0.1 - "GET /health" 200'
    assert line["duration_ms"] == 3
    assert "timestamp" in line


def test_stdlib_exception_rendered(out: Captured) -> None:
    try:
        raise KeyError("missing")
    except KeyError:
        logging.getLogger("ext.nats").exception("callback failed")
    [line] = out.lines()
    assert line["level"] == "error"
    assert "KeyError: 'missing'" in line["exception"]
    assert "Traceback" in line["exception"]


def test_structlog_exception_rendered(out: Captured) -> None:
    try:
        1 / 0  # noqa: B018
    except ZeroDivisionError:
        get_logger("m").exception("math failed")
    [line] = out.lines()
    assert line["level"] == "error"
    assert "ZeroDivisionError" in line["exception"]


def test_contextvars_bound_fields_are_merged(out: Captured) -> None:
    structlog.contextvars.bind_contextvars(job="sweep")
    try:
        get_logger("m").info("structlog")
        logging.getLogger("ext.lib").info("stdlib")
    finally:
        structlog.contextvars.clear_contextvars()
    assert [line["job"] for line in out.lines()] == ["sweep", "sweep"]


def test_get_logger_before_configure_supports_trace() -> None:
    structlog.reset_defaults()
    log = get_logger("early")
    log.trace("nothing configured yet")  # must not raise AttributeError


def test_structlog_capture_logs_still_works(out: Captured) -> None:
    log = get_logger("m")
    with structlog.testing.capture_logs() as logs:
        log.info("captured", api_key="x")
    assert logs[0]["event"] == "captured"
