"""Keep the CLI's logging set-up from leaking into other tests."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
import structlog


@pytest.fixture(autouse=True)
def _restore_logging_state() -> Iterator[None]:
    # The CLIs configure process-wide logging (they are entry points); undo it per test.
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
