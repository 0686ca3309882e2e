"""Fixtures that give each logging test a private stream and restore global state."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import structlog
from comradarr_logging import configure_logging


@pytest.fixture(autouse=True)
def _restore_logging_state() -> Iterator[None]:
    # configure_logging changes process-wide state (root logger, structlog
    # config); put it back so tests elsewhere in the session are unaffected.
    root = logging.getLogger()
    level, handlers = root.level, root.handlers[:]
    was_configured = structlog.is_configured()
    config = structlog.get_config()
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        if was_configured:
            structlog.configure(**config)
        else:
            structlog.reset_defaults()


class Captured:
    """A stream the logging output goes to, with helpers to read it back."""

    def __init__(self) -> None:
        self.stream = io.StringIO()

    @property
    def text(self) -> str:
        return self.stream.getvalue()

    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.text.splitlines()]


@pytest.fixture
def configure() -> Callable[..., Captured]:
    def _configure(**kwargs: Any) -> Captured:
        captured = Captured()
        kwargs.setdefault("service", "testsvc")
        configure_logging(stream=captured.stream, **kwargs)
        return captured

    return _configure


@pytest.fixture
def out(configure: Callable[..., Captured]) -> Captured:
    return configure(level="trace")
