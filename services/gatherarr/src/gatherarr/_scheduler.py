"""Fixed-rate scheduling of runs that never overlap and never burst after a stall."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable
from typing import Any

import structlog

_log = structlog.get_logger("gatherarr.scheduler")


def next_run_at(*, scheduled: float, now: float, interval: float) -> float:
    """Next slot on the ``scheduled + k*interval`` grid strictly after a finished run."""
    candidate = scheduled + interval
    if candidate > now:
        return candidate
    # A run that overran skips the missed slots instead of firing them back to back.
    missed = math.floor((now - candidate) / interval) + 1
    return candidate + missed * interval


class Scheduler:
    """Calls ``run`` at once and then every ``interval`` seconds until ``stop`` is set."""

    def __init__(
        self,
        *,
        interval: float,
        run: Callable[[], Awaitable[Any]],
        stop: asyncio.Event,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.interval = interval
        self._run = run
        self.stop = stop
        self._monotonic = monotonic
        self.initialised = False
        self.runs = 0

    async def _wait(self, seconds: float) -> None:
        if seconds <= 0:
            return
        try:
            await asyncio.wait_for(self.stop.wait(), timeout=seconds)
        except TimeoutError:
            return

    async def run_forever(self) -> None:
        """Loop until stopped; a run that raises is logged and the loop goes on."""
        self.initialised = True
        scheduled = self._monotonic()
        while not self.stop.is_set():
            try:
                await self._run()
            except Exception:
                _log.exception("run_crashed")
            self.runs += 1
            now = self._monotonic()
            scheduled = next_run_at(scheduled=scheduled, now=now, interval=self.interval)
            _log.debug("next_run_scheduled", in_seconds=round(scheduled - now, 3))
            await self._wait(scheduled - now)
