"""Helpers shared by the *arr client tests (imported by conftest and test modules)."""

from __future__ import annotations

import itertools

from comradarr_arrsim import ManualClock

API_KEY = "s3cr3t-api-key-0123456789abcdef"
_names = itertools.count()


class FakeTime:
    """A monotonic clock and a sleep that only moves it (and records the delays)."""

    def __init__(self, *, also: ManualClock | None = None) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []
        self._also = also

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        if self._also is not None:
            self._also.advance(seconds)


def unique_name(prefix: str = "t") -> str:
    """A connector name of its own, so metric samples are per test."""
    return f"{prefix}-{next(_names)}"
