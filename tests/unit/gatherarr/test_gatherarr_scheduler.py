"""Scheduler timing with an injected monotonic clock."""

from __future__ import annotations

import asyncio
import itertools

import pytest
from gatherarr._scheduler import Scheduler, next_run_at

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("scheduled", "now", "expected"),
    [
        (0.0, 5.0, 60.0),  # a short run waits for the next slot
        (0.0, 60.0, 120.0),  # finishing exactly on the slot skips it
        (0.0, 61.0, 120.0),  # an overrun skips the missed slot
        (0.0, 250.0, 300.0),  # a long stall skips every missed slot, no burst
        (100.0, 100.0, 160.0),
    ],
)
def test_next_run_stays_on_the_grid(scheduled: float, now: float, expected: float) -> None:
    assert next_run_at(scheduled=scheduled, now=now, interval=60.0) == expected


async def test_runs_immediately_then_every_interval_and_stops() -> None:
    stop = asyncio.Event()
    starts: list[float] = []
    loop = asyncio.get_running_loop()

    async def run() -> None:
        starts.append(loop.time())
        if len(starts) == 3:
            stop.set()

    scheduler = Scheduler(interval=0.05, run=run, stop=stop, monotonic=loop.time)
    assert not scheduler.initialised
    await asyncio.wait_for(scheduler.run_forever(), timeout=5)
    assert scheduler.initialised
    assert scheduler.runs == 3
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert all(0.04 <= gap < 0.5 for gap in gaps), gaps


async def test_a_crashing_run_does_not_stop_the_loop() -> None:
    stop = asyncio.Event()
    calls = {"n": 0}

    async def run() -> None:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("boom")
        stop.set()

    scheduler = Scheduler(interval=0.01, run=run, stop=stop)
    await asyncio.wait_for(scheduler.run_forever(), timeout=5)
    assert calls["n"] == 2


async def test_stop_interrupts_the_wait() -> None:
    stop = asyncio.Event()

    async def run() -> None:
        asyncio.get_running_loop().call_later(0.05, stop.set)

    scheduler = Scheduler(interval=3600, run=run, stop=stop)
    await asyncio.wait_for(scheduler.run_forever(), timeout=5)
    assert scheduler.runs == 1
