"""A spent daily budget is announced once per budget window (for notifications)."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from comradarr_bus import Bus, Subscription
from comradarr_proto import DailyBudgetSpent
from dispatch_support import (
    add_connector,
    fast_profile,
    make_engine,
    mirror_series,
    posted_commands,
    queue_episodes,
    sim_for,
)

from tests.support import wait_for

pytestmark = pytest.mark.integration


async def test_budget_spent_is_announced_once(pool: asyncpg.Pool, bus: Bus) -> None:
    sim = sim_for(series=2, seasons=1, episodes_per_season=3, missing_share=0.0)
    cid = await add_connector(pool, profile=fast_profile(batch_size=1, daily_budget=2))
    await mirror_series(pool, cid, sim)
    await queue_episodes(pool, cid, sorted(sim.library.episodes)[:4])
    seen: list[DailyBudgetSpent] = []

    async def on(msg: DailyBudgetSpent, _d: object) -> None:
        seen.append(msg)

    await bus.subscribe(Subscription(DailyBudgetSpent, durable="t-budget", handler=on))
    engine = make_engine(pool, bus, sim)
    task = asyncio.create_task(engine.run())
    try:
        await wait_for(lambda: len(seen) >= 1, timeout=10)
        await asyncio.sleep(1.0)  # more rounds: still one announcement
    finally:
        await engine.stop(timeout=2)
        await asyncio.wait_for(task, 5)
    assert len([p for p in posted_commands(sim) if p["_status"] == 201]) == 2
    assert len(seen) == 1
    assert seen[0].connector_id == cid and seen[0].budget == 2
    assert seen[0].resets_at > engine.clock()
