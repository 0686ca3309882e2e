"""The dispatcher against simulators: order, batching, outcomes, 429s, outages, restarts."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator

import asyncpg
import pytest
from comradarr_arrsim import Behaviour, Fault, Flavor
from comradarr_bus import Bus
from comradarr_dispatcher.engine import Dispatcher
from comradarr_dispatcher.queue import explain_entry, set_paused
from dispatch_support import (
    FAST,
    add_connector,
    fast_profile,
    make_engine,
    mirror_movies,
    mirror_series,
    posted_commands,
    queue_episodes,
    queue_movies,
    sim_for,
)

from tests.support import wait_for

pytestmark = pytest.mark.integration


@contextlib.asynccontextmanager
async def running(*engines: Dispatcher) -> AsyncIterator[None]:
    tasks = [asyncio.create_task(e.run()) for e in engines]
    try:
        yield
    finally:
        for e in engines:
            await e.stop(timeout=2)
        for t in tasks:
            await asyncio.wait_for(t, 5)


async def states(pool: asyncpg.Pool, ids: list[int]) -> dict[int, str]:
    rows = await pool.fetch(
        "SELECT id, state FROM search_registry WHERE id = ANY ($1::bigint[])", ids
    )
    return {r["id"]: r["state"] for r in rows}


async def all_settled(pool: asyncpg.Pool, ids: list[int]) -> bool:
    return all(s in ("cooldown", "exhausted") for s in (await states(pool, ids)).values())


async def test_priority_order_season_packs_and_episode_batches(
    pool: asyncpg.Pool, bus: Bus
) -> None:
    sim = sim_for(series=4, seasons=2, episodes_per_season=6, missing_share=0.0, airing_seasons=1)
    cid = await add_connector(pool, profile=fast_profile(batch_size=10))
    await mirror_series(pool, cid, sim)
    lib = sim.library
    by_series = {s: sorted(lib.series[s].episode_ids) for s in sorted(lib.series)}
    s1, s2 = sorted(lib.series)[:2]
    season1 = [e for e in by_series[s1] if lib.episodes[e].season_number == 1]
    # Series 1 season 1: wholly missing and fully aired -> one season pack.
    await pool.execute(
        "UPDATE seasons SET episode_file_count = 0, fully_aired = true, episode_count = 6"
        " WHERE connector_id = $1 AND series_arr_id = $2 AND season_number = 1",
        cid,
        s1,
    )
    # Series 2 season 1: only a third missing -> episode searches.
    await pool.execute(
        "UPDATE seasons SET episode_file_count = 4, fully_aired = true, episode_count = 6"
        " WHERE connector_id = $1 AND series_arr_id = $2 AND season_number = 1",
        cid,
        s2,
    )
    season2_s2 = [e for e in by_series[s2] if lib.episodes[e].season_number == 1][:2]
    # Highest priority first: series 2's two episodes, then series 1's season.
    entries = await queue_episodes(pool, cid, [*season2_s2, *season1])
    engine = make_engine(pool, bus, sim)
    async with running(engine):
        await wait_for(lambda: all_settled(pool, list(entries.values())), timeout=10)
    posted = posted_commands(sim)
    assert [p["name"] for p in posted] == ["EpisodeSearch", "SeasonSearch"]
    assert sorted(posted[0]["episodeIds"]) == sorted(season2_s2)
    assert (posted[1]["seriesId"], posted[1]["seasonNumber"]) == (s1, 1)
    history = await pool.fetch(
        "SELECT command_name, outcome, command_id, ended_at, response_ms FROM search_history"
    )
    assert len(history) == len(entries)
    assert {h["outcome"] for h in history} == {"not_found"}
    assert all(h["ended_at"] is not None and h["command_id"] for h in history)
    # The season pack found nothing: that season now goes by episode searches.
    assert await pool.fetchval("SELECT count(*) FROM season_pack_fallbacks") == 1
    row = await pool.fetchrow(
        "SELECT attempts, state, next_eligible_at > now() AS later FROM search_registry"
        " WHERE id = $1",
        entries[season1[0]],
    )
    assert (row["attempts"], row["state"], row["later"]) == (1, "cooldown", True)
