"""Fixtures that give each logging test a private stream and restore global state."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from typing import Any

import pytest
from comradarr_logging import configure_logging


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
