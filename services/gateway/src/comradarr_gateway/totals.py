"""Short-lived match counts: counting up to the cap costs more than the page itself."""

from __future__ import annotations

import time
from typing import Any


class TotalCache:
    """Recent match counts by filter, for a few seconds: paging through one listing (or
    many people typing the same search) counts once, not on every page."""

    def __init__(self, ttl: float, size: int = 1024) -> None:
        self.ttl, self.size = ttl, size
        self.entries: dict[tuple[Any, ...], tuple[float, int]] = {}

    def get(self, key: tuple[Any, ...]) -> int | None:
        found = self.entries.get(key)
        if found is None or time.monotonic() - found[0] > self.ttl:
            return None
        return found[1]

    def put(self, key: tuple[Any, ...], total: int) -> None:
        if len(self.entries) >= self.size:
            self.entries.clear()
        self.entries[key] = (time.monotonic(), total)

    def clear(self) -> None:
        self.entries.clear()
