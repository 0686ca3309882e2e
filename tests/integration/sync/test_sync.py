"""Sync against the simulators over real PostgreSQL and NATS."""

from __future__ import annotations

import asyncio

import asyncpg
import httpx
from comradarr_arrsim import Fault, Flavor
from comradarr_bus import Bus
from comradarr_connectors import Connector
from comradarr_sync.engine import RequestCounter
from sync_support import (
    assert_movie_mirror_matches,
    assert_series_mirror_matches,
    make_harness,
    sim_for,
)


class _Gate(httpx.AsyncBaseTransport):
    """Holds the episode requests of some series until the test ends."""

    def __init__(self, inner: httpx.AsyncBaseTransport, series: set[int]) -> None:
        self.inner = inner
        self.series = series

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Wait forever for a held series; pass anything else on."""
        held = request.url.path.endswith("/episode") and (
            int(request.url.params["seriesId"]) in self.series
        )
        if held:
            await asyncio.Event().wait()
        return await self.inner.handle_async_request(request)


def _episode_requests(sim: object) -> int:
    return sum(1 for r in sim.requests if r.path.endswith("/episode"))  # type: ignore[attr-defined]


async def test_first_full_sync_mirrors_the_library(pool: asyncpg.Pool, bus: Bus) -> None:
    sim = sim_for(series=12, seasons=2, episodes_per_season=5)
    h = await make_harness(pool, bus, sim)
    run = await h.sweep("full")
    assert run["outcome"] == "success", run["error"]
    episodes = len(sim.library.episodes)
    assert run["inserted"] == 12 + episodes
    assert run["fetched"] == 12 + episodes
    assert run["requests_made"] >= 13 and run["episode_requests"] == 12
    await assert_series_mirror_matches(pool, h.connector_id, sim)
    seasons = await pool.fetchval(
        "SELECT count(*) FROM seasons WHERE connector_id = $1", h.connector_id
    )
    assert seasons == 12 * 3  # specials + two seasons


async def test_unchanged_incremental_makes_no_episode_requests_and_no_writes(
    pool: asyncpg.Pool, bus: Bus
) -> None:
    sim = sim_for(series=8, seasons=2, episodes_per_season=4)
    h = await make_harness(pool, bus, sim)
    await h.sweep("full")
    sim.clear_requests()
    run = await h.sweep("incremental")
    assert run["outcome"] == "success"
    assert _episode_requests(sim) == 0 and run["episode_requests"] == 0
    assert (run["inserted"], run["updated"], run["deleted"]) == (0, 0, 0)
    # A full sync of an unchanged library rewrites nothing either.
    run = await h.sweep("full")
    assert (run["inserted"], run["updated"], run["deleted"]) == (0, 0, 0)


async def test_incremental_follows_changes(pool: asyncpg.Pool, bus: Bus) -> None:
    sim = sim_for(series=10, seasons=2, episodes_per_season=5, missing_share=0.3)
    h = await make_harness(pool, bus, sim)
    await h.sweep("full")
    lib = sim.library
    import random

    rng = random.Random(5)
    touched: list[int] = []
    # File gained: a missing aired episode gets a file.
    gained = next(e for e in lib.episodes.values() if e.file_id is None and e.season_number == 1)
    lib.replace_file(gained.id, below_cutoff=False, rng=rng, when=sim.clock.now())
    touched.append(gained.id)
    # File lost.
    lost = next(
        e
        for e in lib.episodes.values()
        if e.file_id is not None and e.series_id != gained.series_id
    )
    lib.files.pop(lost.file_id)  # type: ignore[arg-type]
    lost.file_id = None
    touched.append(lost.id)
    # Quality changed: a file replaced by one below the cutoff.
    changed = next(
        e
        for e in lib.episodes.values()
        if e.file_id is not None
        and e.series_id not in (gained.series_id, lost.series_id)
        and lib.series[e.series_id].quality_profile_id == 4
    )
    lib.replace_file(changed.id, below_cutoff=True, rng=rng, when=sim.clock.now())
    touched.append(changed.id)
    # Monitored toggled: a series, and a missing episode.
    lib.series[3].monitored = not lib.series[3].monitored
    touched.append(lib.series[3].episode_ids[0])  # invalidates the series' cached answer
    missing = next(
        e
        for e in lib.episodes.values()
        if e.file_id is None
        and e.monitored
        and e.season_number > 0
        and e.id != lost.id
        and (e.air_date or 0) <= sim.clock.now()
    )
    missing.monitored = False
    touched.append(missing.id)
    # Episode added to a series.
    from comradarr_arrsim import SimEpisode

    new_id = max(lib.episodes) + 1
    lib.episodes[new_id] = SimEpisode(
        id=new_id,
        series_id=5,
        season_number=2,
        episode_number=99,
        title="New",
        air_date=sim.clock.now() - 86400,
        monitored=True,
        tvdb_id=9_999_999,
    )
    lib.series[5].episode_ids.append(new_id)
    touched.append(new_id)
    # Series deleted.
    gone = lib.series.pop(9)
    for eid in gone.episode_ids:
        lib.episodes.pop(eid)
    sim.changed(episode_ids=touched)

    sim.clear_requests()
    run = await h.sweep("incremental")
    assert run["outcome"] == "success", run["error"]
    await assert_series_mirror_matches(pool, h.connector_id, sim)
    # Only the series whose statistics moved had their episodes read again.
    refetched = {e.series_id for e in (gained, lost, changed, missing)} | {5}
    assert _episode_requests(sim) == len(refetched) == run["series_refetched"]
    assert run["deleted"] == len(gone.episode_ids) + 1


async def test_a_new_series_is_written_beside_changed_ones(pool: asyncpg.Pool, bus: Bus) -> None:
    """In one batch: a series new to the mirror (its episodes copied straight into the table)
    and a changed one (staged and merged)."""
    import dataclasses
    import random

    sim = sim_for(series=6, seasons=2, episodes_per_season=5)
    h = await make_harness(pool, bus, sim)
    await h.sweep("full")
    lib = sim.library
    rng = random.Random(3)
    model = lib.series[1]
    sid = max(lib.series) + 1
    lib.series[sid] = dataclasses.replace(
        model, id=sid, title="Brand New", tvdb_id=model.tvdb_id + 500_000, episode_ids=[]
    )
    touched = []
    for n, old_id in enumerate(model.episode_ids):
        eid = max(lib.episodes) + 1
        old = lib.episodes[old_id]
        lib.episodes[eid] = dataclasses.replace(
            old, id=eid, series_id=sid, file_id=None, tvdb_id=old.tvdb_id + 500_000
        )
        lib.series[sid].episode_ids.append(eid)
        if n % 2:  # some with files, some of them below the cutoff
            lib.replace_file(eid, below_cutoff=n % 4 == 1, rng=rng, when=sim.clock.now())
        touched.append(eid)
    changed = lib.series[2].episode_ids[-1]
    lib.replace_file(changed, below_cutoff=True, rng=rng, when=sim.clock.now())
    touched.append(changed)
    sim.changed(episode_ids=touched)

    sim.clear_requests()
    run = await h.sweep("incremental")
    assert run["outcome"] == "success", run["error"]
    await assert_series_mirror_matches(pool, h.connector_id, sim)
    assert _episode_requests(sim) == run["series_refetched"] == 2
    # The new series and every episode of it.
    assert run["inserted"] == 1 + len(model.episode_ids)


async def test_malformed_records_are_skipped_and_counted(pool: asyncpg.Pool, bus: Bus) -> None:
    sim = sim_for(series=6, seasons=1, episodes_per_season=10)
    h = await make_harness(pool, bus, sim)
    await h.sweep("full")
    sim.add_fault(Fault(kind="malformed", share=0.25, path="/episode"))
    run = await h.sweep("full")
    assert run["outcome"] == "success"
    assert run["skipped_malformed"] > 0
    # Nothing was deleted for records that could not be read; the rows stay as they were.
    assert run["deleted"] == 0
    await assert_series_mirror_matches(pool, h.connector_id, sim)
    sim.faults.clear()
    # Series read with broken records keep their old fingerprint and are read again.
    run = await h.sweep("incremental")
    assert run["episode_requests"] == 6


async def test_killed_sync_rerun_leaves_a_consistent_mirror(pool: asyncpg.Pool, bus: Bus) -> None:
    sim = sim_for(series=30, seasons=2, episodes_per_season=10)
    h = await make_harness(pool, bus, sim)
    # The episodes of the last five series never arrive, so the sync is killed with the
    # first batch (25 series of 20 episodes, batch_rows=500) written and the rest not.
    late = set(sorted(sim.library.series)[25:])
    counter_factory = h.service.counter_factory

    def gated(connector: Connector) -> RequestCounter:
        counter = counter_factory(connector)
        counter.inner = _Gate(counter.inner, late)
        return counter

    h.service.counter_factory = gated
    task = asyncio.create_task(h.sweep("full", message_id="killed"))
    while not await pool.fetchval(
        "SELECT count(*) > 0 FROM series WHERE episodes_fingerprint IS NOT NULL"
    ):
        await asyncio.sleep(0.005)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    h.service.counter_factory = counter_factory
    done = await pool.fetchval("SELECT count(*) FROM series WHERE episodes_fingerprint IS NOT NULL")
    assert done < 30
    run = await h.sweep("incremental")
    assert run["outcome"] == "success"
    assert run["series_refetched"] == 30 - done
    await assert_series_mirror_matches(pool, h.connector_id, sim)


async def test_two_sweeps_for_one_connector_run_once(pool: asyncpg.Pool, bus: Bus) -> None:
    sim = sim_for(series=20, seasons=2, episodes_per_season=10)
    h = await make_harness(pool, bus, sim)
    a, b = await asyncio.gather(h.sweep("full"), h.sweep("full"))
    assert sorted([a["outcome"], b["outcome"]]) == ["skipped", "success"]
    skipped = a if a["outcome"] == "skipped" else b
    assert skipped["skip_reason"] == "another sync is running"


async def test_redelivered_sweep_does_not_sync_again(pool: asyncpg.Pool, bus: Bus) -> None:
    sim = sim_for(series=3, seasons=1, episodes_per_season=3)
    h = await make_harness(pool, bus, sim)
    first = await h.sweep("full", message_id="m1")
    sim.clear_requests()
    again = await h.sweep("full", message_id="m1", attempt=2)
    assert again["id"] == first["id"] and sim.requests == []
    assert await pool.fetchval("SELECT count(*) FROM sync_runs") == 1


async def test_movies_full_and_incremental(pool: asyncpg.Pool, bus: Bus) -> None:
    sim = sim_for(Flavor.RADARR_V3, movies=40)
    h = await make_harness(pool, bus, sim, connector_type="radarr", name="films")
    run = await h.sweep("full")
    assert run["outcome"] == "success" and run["inserted"] == 40
    await assert_movie_mirror_matches(pool, h.connector_id, sim)
    dates = await pool.fetchval(
        "SELECT count(*) FROM movies WHERE in_cinemas IS NOT NULL AND digital_release IS NOT NULL"
    )
    assert dates == 40
    del sim.library.movies[7]
    sim.library.movies[8].monitored = not sim.library.movies[8].monitored
    sim.changed(movie_ids=[7, 8])
    run = await h.sweep("incremental")
    assert (run["inserted"], run["updated"], run["deleted"]) == (0, 1, 1)
    await assert_movie_mirror_matches(pool, h.connector_id, sim)


async def test_repeated_failures_mark_the_connector_unhealthy(pool: asyncpg.Pool, bus: Bus) -> None:
    from comradarr_sync.config import SyncConfig

    sim = sim_for(series=2, seasons=1, episodes_per_season=2)
    config = SyncConfig(failure_threshold=2, max_attempts=2, progress_interval_seconds=0)
    h = await make_harness(pool, bus, sim, config=config)
    sim.add_fault(Fault(kind="status", status=500, path="/series"))
    try:
        await h.sweep("full", message_id="f1", attempt=1)
    except Exception as exc:  # the bus would redeliver after its backoff
        assert "500" in str(exc) or "server" in str(exc).lower()
    else:
        raise AssertionError("first attempt should raise for a retry")
    run = await h.sweep("full", message_id="f1", attempt=2)
    assert run["outcome"] == "failed"
    health = await pool.fetchval(
        "SELECT health_status FROM connectors WHERE id = $1", h.connector_id
    )
    assert health == "unhealthy"
    # Scheduled sweeps pause; a manual one still runs and clears the state.
    paused = await h.sweep("incremental")
    assert paused["outcome"] == "skipped" and paused["skip_reason"].startswith("paused")
    sim.faults.clear()
    manual = await h.sweep("incremental", requested_by="gateway")
    assert manual["outcome"] == "success"
    health = await pool.fetchval(
        "SELECT health_status FROM connectors WHERE id = $1", h.connector_id
    )
    assert health == "healthy"


async def _versions(pool: asyncpg.Pool, table: str, key: str) -> dict[object, str]:
    rows = await pool.fetch(f"SELECT {key} AS k, xmin::text AS v FROM {table}")  # noqa: S608
    return {r["k"]: r["v"] for r in rows}


async def test_unchanged_movies_are_not_rewritten_and_old_rows_get_their_digest(
    pool: asyncpg.Pool, bus: Bus
) -> None:
    sim = sim_for(Flavor.RADARR_V3, movies=30)
    h = await make_harness(pool, bus, sim, connector_type="radarr", name="films")
    await h.sweep("full")
    before = await _versions(pool, "movies", "arr_id")
    for mode in ("incremental", "full"):
        run = await h.sweep(mode)
        assert (run["inserted"], run["updated"], run["deleted"]) == (0, 0, 0)
    # Unchanged movies are not staged at all: no row has a new version.
    assert await _versions(pool, "movies", "arr_id") == before
    # Rows written before the digest existed are compared, get their digest, and do not
    # count as updated.
    await pool.execute("UPDATE movies SET content_hash = NULL")
    run = await h.sweep("incremental")
    assert (run["inserted"], run["updated"], run["deleted"]) == (0, 0, 0)
    assert await pool.fetchval("SELECT count(*) FROM movies WHERE content_hash IS NULL") == 0
    sim.library.movies[3].monitored = not sim.library.movies[3].monitored
    sim.changed(movie_ids=[3])
    run = await h.sweep("incremental")
    assert (run["inserted"], run["updated"], run["deleted"]) == (0, 1, 0)
    await assert_movie_mirror_matches(pool, h.connector_id, sim)


async def test_unchanged_series_and_seasons_are_not_rewritten(pool: asyncpg.Pool, bus: Bus) -> None:
    sim = sim_for(series=6, seasons=2, episodes_per_season=3)
    h = await make_harness(pool, bus, sim)
    await h.sweep("full")
    series = await _versions(pool, "series", "arr_id")
    seasons = await _versions(pool, "seasons", "(series_arr_id, season_number)::text")
    run = await h.sweep("incremental")
    assert (run["inserted"], run["updated"], run["deleted"]) == (0, 0, 0)
    assert await _versions(pool, "series", "arr_id") == series
    assert await _versions(pool, "seasons", "(series_arr_id, season_number)::text") == seasons
    await pool.execute("UPDATE series SET content_hash = NULL")
    run = await h.sweep("incremental")
    assert (run["inserted"], run["updated"], run["deleted"]) == (0, 0, 0)
    assert run["episode_requests"] == 0
    assert await pool.fetchval("SELECT count(*) FROM series WHERE content_hash IS NULL") == 0
    lib = sim.library
    lib.series[2].monitored = not lib.series[2].monitored
    sim.changed(episode_ids=[lib.series[2].episode_ids[0]])
    run = await h.sweep("incremental")
    assert run["updated"] == 1
    await assert_series_mirror_matches(pool, h.connector_id, sim)
