"""Download-queue backpressure and search windows, obeyed by the dispatcher against the
simulator and explained with the same rules (injected clock)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import asyncpg
import pytest
from comradarr_arrsim import Fault
from comradarr_bus import Bus
from comradarr_dispatcher.queue import explain_entry
from dispatch_support import (
    add_connector,
    fast_profile,
    make_engine,
    mirror_series,
    posted_commands,
    queue_episodes,
    running,
    sim_for,
)

from tests.support import wait_for

pytestmark = pytest.mark.integration


class Clock:
    """The wall clock plus an offset the test moves forward."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset


def queue_reads(sim: object) -> int:
    return sum(1 for r in sim.requests if r.path.endswith("/queue/status"))  # type: ignore[attr-defined]


async def test_download_queue_over_the_limit_holds_searches(pool: asyncpg.Pool, bus: Bus) -> None:
    sim = sim_for(series=2, seasons=1, episodes_per_season=4, missing_share=0.0)
    sim.queued_extra = 23
    cid = await add_connector(pool, profile=fast_profile())
    await pool.execute("UPDATE connectors SET queue_limit = 20 WHERE id = $1", cid)
    await mirror_series(pool, cid, sim)
    entries = await queue_episodes(pool, cid, sorted(sim.library.episodes)[:4])
    clock = Clock()
    a, b = make_engine(pool, bus, sim, replica="a"), make_engine(pool, bus, sim, replica="b")
    a.clock = b.clock = clock
    async with running(a, b):
        await wait_for(
            lambda: pool.fetchval(
                "SELECT total_count FROM download_queue_readings WHERE connector_id = $1", cid
            ),
            timeout=5,
        )
        await asyncio.sleep(1.0)  # many dispatch rounds in both replicas
        assert posted_commands(sim) == []
        # Read once for both replicas within the minute.
        assert queue_reads(sim) == 1
        async with pool.acquire() as conn:
            why = await explain_entry(conn, entry_id=next(iter(entries.values())))
        assert why is not None and "waiting: download queue 23 ≥ 20" in why.reasons
        assert why.estimated_dispatch_at is None
        # The queue drains; the next reading (a minute on) lets the searches go.
        sim.queued_extra = 5
        clock.offset += timedelta(seconds=61)
        a.wake()
        b.wake()
        await wait_for(lambda: len(posted_commands(sim)) > 0, timeout=5)
        assert queue_reads(sim) == 2
        reading = await pool.fetchrow(
            "SELECT total_count, error FROM download_queue_readings WHERE connector_id = $1", cid
        )
        assert reading["total_count"] <= 5 + 4 and reading["error"] is None


async def test_a_failing_queue_endpoint_lets_searches_go(pool: asyncpg.Pool, bus: Bus) -> None:
    sim = sim_for(series=1, seasons=1, episodes_per_season=3, missing_share=0.0)
    sim.queued_extra = 50
    sim.add_fault(Fault(kind="status", status=500, path="/queue/status"))
    cid = await add_connector(pool, profile=fast_profile())
    await pool.execute("UPDATE connectors SET queue_limit = 20 WHERE id = $1", cid)
    await mirror_series(pool, cid, sim)
    await queue_episodes(pool, cid, sorted(sim.library.episodes)[:3])
    engine = make_engine(pool, bus, sim)
    async with running(engine):
        await wait_for(lambda: len(posted_commands(sim)) > 0, timeout=5)
    reading = await pool.fetchrow(
        "SELECT total_count, error FROM download_queue_readings WHERE connector_id = $1", cid
    )
    assert reading["total_count"] is None and reading["error"]


async def test_under_the_limit_searches_go(pool: asyncpg.Pool, bus: Bus) -> None:
    sim = sim_for(series=1, seasons=1, episodes_per_season=3, missing_share=0.0)
    sim.queued_extra = 19
    cid = await add_connector(pool, profile=fast_profile())
    await pool.execute("UPDATE connectors SET queue_limit = 20 WHERE id = $1", cid)
    await mirror_series(pool, cid, sim)
    await queue_episodes(pool, cid, sorted(sim.library.episodes)[:3])
    engine = make_engine(pool, bus, sim)
    async with running(engine):
        await wait_for(lambda: len(posted_commands(sim)) > 0, timeout=5)
    # The first command waited for the first reading: it was known before anything went out.
    first_send = min(p["_time"] for p in posted_commands(sim))
    first_read = min(r.time for r in sim.requests if r.path.endswith("/queue/status"))
    assert first_read <= first_send


async def test_outside_the_search_window_searches_wait(pool: asyncpg.Pool, bus: Bus) -> None:
    sim = sim_for(series=1, seasons=1, episodes_per_season=3, missing_share=0.0)
    cid = await add_connector(pool, profile=fast_profile())
    clock = Clock()
    now = clock()
    # A window that opens two hours from now and lasts an hour, every day, in Tokyo time.
    tz = "Asia/Tokyo"
    local = now.astimezone(ZoneInfo(tz))
    start = (local + timedelta(hours=2)).replace(minute=0, second=0, microsecond=0)
    end = start + timedelta(hours=1)
    window = {"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
              "start": f"{start:%H:%M}", "end": f"{end:%H:%M}"}  # fmt: skip
    await pool.execute(
        "UPDATE connectors SET search_windows = $2, search_timezone = $3 WHERE id = $1",
        cid,
        [window],
        tz,
    )
    await mirror_series(pool, cid, sim)
    entries = await queue_episodes(pool, cid, sorted(sim.library.episodes)[:3])
    engine = make_engine(pool, bus, sim)
    engine.clock = clock
    async with running(engine):
        await asyncio.sleep(0.8)
        assert posted_commands(sim) == []
        async with pool.acquire() as conn:
            why = await explain_entry(conn, entry_id=next(iter(entries.values())), now=now)
        assert why is not None
        assert any(r.startswith("outside its search windows") for r in why.reasons)
        # The estimate: when the window opens (the first entry goes first).
        assert why.estimated_dispatch_at == start.astimezone(UTC)
        # Two hours on, inside the window: the searches go.
        clock.offset += timedelta(hours=2, minutes=1)
        engine.wake()
        await wait_for(lambda: len(posted_commands(sim)) > 0, timeout=5)


async def test_a_window_across_midnight_on_a_dst_night(pool: asyncpg.Pool, bus: Bus) -> None:
    """Saturday 23:00 to 03:30 in Berlin: the night clocks spring forward (2025-03-30 02:00
    CET -> 03:00 CEST) it ends at 01:30 UTC; a week later it runs past midnight in summer
    time. The injected clock walks through both nights."""
    sim = sim_for(series=1, seasons=1, episodes_per_season=3, missing_share=0.0)
    cid = await add_connector(pool, profile=fast_profile())
    window = {"days": ["sat"], "start": "23:00", "end": "03:30"}
    await pool.execute(
        "UPDATE connectors SET search_windows = $2, search_timezone = 'Europe/Berlin'"
        " WHERE id = $1",
        cid,
        [window],
    )
    await mirror_series(pool, cid, sim)
    entries = await queue_episodes(pool, cid, sorted(sim.library.episodes)[:3])
    await pool.execute("UPDATE search_registry SET next_eligible_at = '2000-01-01'")
    moment = {"now": datetime(2025, 3, 30, 1, 45, tzinfo=UTC)}  # 03:45 CEST: just closed
    engine = make_engine(pool, bus, sim)
    engine.clock = lambda: moment["now"]
    async with running(engine):
        await asyncio.sleep(0.8)
        assert posted_commands(sim) == []
        async with pool.acquire() as conn:
            why = await explain_entry(
                conn, entry_id=next(iter(entries.values())), now=moment["now"]
            )
        assert why is not None and any("outside its search windows" in r for r in why.reasons)
        # The next Saturday 23:00, now in summer time.
        assert why.estimated_dispatch_at == datetime(2025, 4, 5, 21, 0, tzinfo=UTC)
        # Sunday 02:30 CEST, the same window past midnight: the searches go.
        moment["now"] = datetime(2025, 4, 6, 0, 30, tzinfo=UTC)
        engine.wake()
        await wait_for(lambda: len(posted_commands(sim)) > 0, timeout=5)
