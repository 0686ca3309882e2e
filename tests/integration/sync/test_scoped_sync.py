"""A sync of one series or one movie (the *arr webhook's follow-up): reads only those."""

from __future__ import annotations

import random
import uuid

import asyncpg
from comradarr_arrsim import Flavor
from comradarr_bus import Bus, Delivery
from comradarr_proto import RequestSweep
from sync_support import Harness, make_harness, sim_for


async def scoped(h: Harness, **scope: list[int]) -> asyncpg.Record:
    mid = uuid.uuid4().hex
    msg = RequestSweep(message_id=mid, connector_id=h.connector_id, requested_by="webhook", **scope)
    await h.service.handle(msg, Delivery("sync-sweep", "t", mid, 1, h.pool))
    row = await h.pool.fetchrow("SELECT * FROM sync_runs WHERE message_id = $1", mid)
    assert row is not None
    return row


async def test_one_series_is_read_alone(pool: asyncpg.Pool, bus: Bus) -> None:
    sim = sim_for(series=6, seasons=2, episodes_per_season=4, missing_share=0.5)
    h = await make_harness(pool, bus, sim)
    await h.sweep("full")
    lib = sim.library
    rng = random.Random(3)
    gained = next(e for e in lib.episodes.values() if e.file_id is None and e.season_number == 1)
    other = next(
        e for e in lib.episodes.values() if e.file_id is None and e.series_id != gained.series_id
    )
    for e in (gained, other):
        lib.replace_file(e.id, below_cutoff=False, rng=rng, when=sim.clock.now())
    sim.changed(episode_ids=[gained.id, other.id])
    before = len(sim.requests)
    run = await scoped(h, series_arr_ids=[gained.series_id, 9999])
    assert run["outcome"] == "success"
    made = sim.requests[before:]
    paths = sorted({r.path for r in made if "/api/" in r.path and "system" not in r.path})
    assert paths == ["/api/v3/episode", f"/api/v3/series/{gained.series_id}", "/api/v3/series/9999"]
    has_file = dict(
        await pool.fetch(
            "SELECT arr_id, has_file FROM episodes WHERE arr_id = ANY ($1::int[])",
            [gained.id, other.id],
        )
    )
    assert has_file == {gained.id: True, other.id: False}
    assert run["deleted"] == 0


async def test_one_movie_is_read_alone_and_nothing_is_deleted(pool: asyncpg.Pool, bus: Bus) -> None:
    sim = sim_for(Flavor.RADARR_V3, movies=10)
    h = await make_harness(pool, bus, sim, connector_type="radarr", name="films")
    await h.sweep("full")
    del sim.library.movies[7]
    sim.library.movies[8].monitored = not sim.library.movies[8].monitored
    sim.changed(movie_ids=[7, 8])
    run = await scoped(h, movie_arr_ids=[8])
    assert (run["outcome"], run["fetched"], run["updated"], run["deleted"]) == ("success", 1, 1, 0)
    assert await pool.fetchval("SELECT count(*) FROM movies") == 10
    monitored = await pool.fetchval("SELECT monitored FROM movies WHERE arr_id = 8")
    assert monitored == sim.library.movies[8].monitored
