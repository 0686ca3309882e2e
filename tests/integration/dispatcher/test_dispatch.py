"""The dispatcher against simulators: order, batching, outcomes, 429s, outages, restarts."""

from __future__ import annotations

import asyncio
import dataclasses
import itertools

import asyncpg
import pytest
from comradarr_arrsim import Fault, Flavor
from comradarr_bus import Bus
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
    running,
    sim_for,
)

from tests.support import wait_for

pytestmark = pytest.mark.integration


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


async def test_found_items_and_exhaustion_and_events(pool: asyncpg.Pool, bus: Bus) -> None:
    found_sim = sim_for(
        Flavor.RADARR_V3,
        movies=12,
        missing_share=1.0,
        cutoff_share=0.0,
        behaviour=dataclasses.replace(FAST, find_probability=1.0),
    )
    cid = await add_connector(pool, type="radarr", profile=fast_profile(max_attempts=1))
    await mirror_movies(pool, cid, found_sim)
    wanted = found_sim.wanted_ids(kind="missing")[:4]
    entries = await queue_movies(pool, cid, wanted)
    engine = make_engine(pool, bus, found_sim)
    async with running(engine):
        await wait_for(lambda: all_settled(pool, list(entries.values())), timeout=10)
    outcomes = await pool.fetch("SELECT outcome FROM search_history")
    assert {o["outcome"] for o in outcomes} == {"found"}
    # Found is not a failure: no attempt counted, not exhausted.
    assert set((await states(pool, list(entries.values()))).values()) == {"cooldown"}
    # Now nothing is found and one attempt is the maximum: exhausted.
    lost_sim = sim_for(Flavor.RADARR_V3, movies=12, missing_share=1.0, cutoff_share=0.0)
    cid2 = await add_connector(pool, type="radarr", profile=fast_profile(max_attempts=1))
    await mirror_movies(pool, cid2, lost_sim)
    entries2 = await queue_movies(pool, cid2, lost_sim.wanted_ids(kind="missing")[:3])
    engine2 = make_engine(pool, bus, lost_sim)
    async with running(engine2):
        await wait_for(lambda: all_settled(pool, list(entries2.values())), timeout=10)
    assert set((await states(pool, list(entries2.values()))).values()) == {"exhausted"}
    why = await explain_entry(pool, entry_id=next(iter(entries2.values())))  # type: ignore[arg-type]
    assert why is not None and "exhausted" in why.reasons[0]


async def test_429_storm_pauses_the_connector(pool: asyncpg.Pool, bus: Bus) -> None:
    sim = sim_for(series=3, seasons=1, episodes_per_season=10, missing_share=0.0)
    cid = await add_connector(pool, profile=fast_profile(batch_size=2))
    await mirror_series(pool, cid, sim)
    eps = sorted(sim.library.episodes)[:6]
    entries = await queue_episodes(pool, cid, eps)
    sim.add_fault(Fault(kind="status", status=429, retry_after="1", path="/command", times=3))
    engine = make_engine(pool, bus, sim)
    async with running(engine):
        await wait_for(
            lambda: pool.fetchval(
                "SELECT rate_limited_total >= 1 FROM throttle_state WHERE connector_id = $1", cid
            ),
            timeout=5,
        )
        paused = await pool.fetchrow("SELECT * FROM throttle_state WHERE connector_id = $1", cid)
        assert paused["paused_until"] is not None and "429" in paused["pause_reason"]
        await wait_for(lambda: all_settled(pool, list(entries.values())), timeout=15)
    posts = [p for p in posted_commands(sim)]
    limited = [p for p in posts if p["_status"] == 429]
    ok = [p for p in posts if p["_status"] == 201]
    assert len(limited) == 3 and len(ok) >= 3
    # After each 429 nothing was sent before Retry-After (1 s) had passed.
    for bad in limited:
        nxt = [p for p in posts if p["_time"] > bad["_time"]]
        if nxt:
            assert nxt[0]["_time"] - bad["_time"] >= 0.95
    # Rate-limited sends cost the items no attempt.
    attempts = await pool.fetch("SELECT attempts FROM search_registry WHERE connector_id = $1", cid)
    assert {a["attempts"] for a in attempts} == {1}


async def test_connector_offline_mid_dispatch_pauses_and_resumes(
    pool: asyncpg.Pool, bus: Bus
) -> None:
    sim = sim_for(series=4, seasons=1, episodes_per_season=4, missing_share=0.0)
    cid = await add_connector(pool, profile=fast_profile(batch_size=1, requests_per_minute=300))
    await mirror_series(pool, cid, sim)
    eps = sorted(sim.library.episodes)[:8]
    entries = await queue_episodes(pool, cid, eps)
    offline = {"on": False}
    engine = make_engine(pool, bus, sim, offline=offline)
    async with running(engine):
        await wait_for(lambda: len(posted_commands(sim)) >= 2, timeout=5)
        offline["on"] = True
        await wait_for(
            lambda: pool.fetchval(
                "SELECT health_status = 'offline' FROM connectors WHERE id = $1", cid
            ),
            timeout=5,
        )
        sent_while_offline = len(posted_commands(sim))
        await asyncio.sleep(0.8)
        assert len(posted_commands(sim)) == sent_while_offline  # dispatching paused
        offline["on"] = False
        async with pool.acquire() as conn:
            from comradarr_connectors import record_health

            await record_health(conn, connector_id=cid, status="healthy")
        engine.wake()
        await wait_for(lambda: all_settled(pool, list(entries.values())), timeout=15)
    ok = [p for p in posted_commands(sim) if p["_status"] == 201]
    searched = [i for p in ok for i in p["episodeIds"]]
    assert sorted(set(searched)) == sorted(eps)


async def test_killed_while_in_flight_is_polled_not_resent(pool: asyncpg.Pool, bus: Bus) -> None:
    slow = dataclasses.replace(FAST, command_duration=1.5)
    sim = sim_for(series=2, seasons=1, episodes_per_season=3, missing_share=0.0, behaviour=slow)
    cid = await add_connector(pool, profile=fast_profile())
    await mirror_series(pool, cid, sim)
    eps = sorted(sim.library.episodes)[:3]
    entries = await queue_episodes(pool, cid, eps)
    first = make_engine(pool, bus, sim, replica="doomed")
    task = asyncio.create_task(first.run())
    await wait_for(
        lambda: pool.fetchval("SELECT count(*) FROM dispatch_commands WHERE status = 'searching'"),
        timeout=5,
    )
    # Killed: tasks cancelled without any cleanup, the lease is left to lapse.
    task.cancel()
    for t in list(first._tasks):
        t.cancel()
    await asyncio.gather(task, *first._tasks, return_exceptions=True)
    row = await pool.fetchrow("SELECT * FROM dispatch_commands")
    assert row["status"] == "searching" and row["command_id"] is not None
    second = make_engine(pool, bus, sim, replica="survivor")
    async with running(second):
        await wait_for(lambda: all_settled(pool, list(entries.values())), timeout=10)
    assert len(posted_commands(sim)) == 1  # polled after the restart, never sent again
    done = await pool.fetchrow("SELECT * FROM dispatch_commands")
    assert done["status"] == "done" and done["owner"] == "survivor"


async def test_two_dispatchers_share_limits(pool: asyncpg.Pool, bus: Bus) -> None:
    sim = sim_for(series=10, seasons=1, episodes_per_season=4, missing_share=0.0)
    rpm = 240  # one command per 0.25 s, for both replicas together
    cid = await add_connector(pool, profile=fast_profile(batch_size=2, requests_per_minute=rpm))
    await mirror_series(pool, cid, sim)
    eps = sorted(sim.library.episodes)[:24]
    entries = await queue_episodes(pool, cid, eps)
    a = make_engine(pool, bus, sim, replica="a")
    b = make_engine(pool, bus, sim, replica="b")
    async with running(a, b):
        await wait_for(lambda: all_settled(pool, list(entries.values())), timeout=15)
    posts = [p for p in posted_commands(sim) if p["_status"] == 201]
    searched = [i for p in posts for i in p["episodeIds"]]
    assert len(searched) == len(set(searched)) == len(eps)  # no item searched twice
    assert a.sent > 0 and b.sent > 0  # both took part
    interval = 60 / rpm
    # The slots both replicas took, by the claim times they recorded. A slot stays anchored to
    # the one before while its claim is at most half an interval late (take_slot), so any run
    # of claims (the whole run too) spans its slots less that tolerance: the rate is never
    # exceeded. This is the dispatcher's own decision, free of HTTP and scheduling jitter.
    claimed = [
        r["created_at"].timestamp()
        for r in await pool.fetch(
            "SELECT created_at FROM dispatch_commands WHERE connector_id = $1 ORDER BY created_at",
            cid,
        )
    ]
    assert len(claimed) == len(posts)
    tolerance = interval / 2
    for i, j in itertools.combinations(range(len(claimed)), 2):
        assert claimed[j] - claimed[i] >= (j - i) * interval - tolerance, (i, j)
    # Counted at the simulator, the same, less one request's delivery jitter (a loaded
    # 2-core machine delays a single request by up to a few tenths of a second).
    times = sorted(p["_time"] for p in posts)
    for i, j in itertools.combinations(range(len(times)), 2):
        assert times[j] - times[i] >= (j - i) * interval - tolerance - 0.2, (i, j)


async def test_queue_pause_and_explain(pool: asyncpg.Pool, bus: Bus) -> None:
    sim = sim_for(series=2, seasons=1, episodes_per_season=3, missing_share=0.0)
    cid = await add_connector(pool, profile=fast_profile())
    await mirror_series(pool, cid, sim)
    entries = await queue_episodes(pool, cid, sorted(sim.library.episodes)[:2])
    async with pool.acquire() as conn:
        await set_paused(conn, paused=True)
        why = await explain_entry(conn, entry_id=next(iter(entries.values())))
    assert why is not None and "queue paused" in why.reasons
    engine = make_engine(pool, bus, sim)
    async with running(engine):
        await asyncio.sleep(0.5)
        assert posted_commands(sim) == []
        async with pool.acquire() as conn:
            await set_paused(conn, paused=False)
        engine.wake()
        await wait_for(lambda: all_settled(pool, list(entries.values())), timeout=10)
    async with pool.acquire() as conn:
        why = await explain_entry(conn, entry_id=next(iter(entries.values())))
    assert why is not None and any("retry after" in r for r in why.reasons)
