"""Discovery over a synced mirror, checked against the simulators' own wanted lists."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime

import asyncpg
import httpx
from comradarr_arr import ArrClient, ConnectorConfig
from comradarr_arrsim import Flavor, Simulator
from comradarr_bus import Bus, Delivery
from comradarr_discovery.config import DiscoveryConfig
from comradarr_discovery.service import DiscoveryService
from comradarr_mirror import SearchSettings
from comradarr_proto import SyncCompleted
from sync_support import API_KEY, Harness, make_harness, sim_for


def _discovery(h: Harness) -> DiscoveryService:
    sim = h.sim
    return DiscoveryService(
        ctx=h.service.ctx,
        config=DiscoveryConfig(),
        search=SearchSettings(air_delay_hours=0),
        clock=lambda: datetime.fromtimestamp(sim.clock.now(), UTC),
    )


async def _discover(h: Harness, d: DiscoveryService, sweep_type: str = "both") -> asyncpg.Record:
    mid = uuid.uuid4().hex
    msg = SyncCompleted(
        message_id=mid,
        connector_id=h.connector_id,
        sync_run_id=1,
        sync_mode="full",
        sweep_type=sweep_type,
        outcome="success",  # type: ignore[arg-type]
    )
    await d.handle(msg, Delivery("discovery", "t", mid, 1, h.pool))
    row = await h.pool.fetchrow("SELECT * FROM discovery_runs WHERE message_id = $1", mid)
    assert row is not None
    return row


async def _registry(pool: asyncpg.Pool, kind: str) -> dict[str, set[int]]:
    table = "episodes" if kind == "episode" else "movies"
    rows = await pool.fetch(
        f"SELECT r.search_type, c.arr_id FROM search_registry r JOIN {table} c"  # noqa: S608
        f" ON c.id = r.{kind}_id"
    )
    out: dict[str, set[int]] = {"gap": set(), "upgrade": set(), "format": set()}
    for r in rows:
        out[r["search_type"]].add(r["arr_id"])
    return out


def _format_truth(sim: Simulator) -> set[int]:
    """Monitored items the app would upgrade for their custom-format score alone."""
    lib = sim.library
    if lib.movie_shape:
        return {
            m.id
            for m in lib.movies.values()
            if m.monitored and (f := lib.file_of(m.id)) is not None and lib.format_upgradable(f)
        }
    out = set()
    for e in lib.episodes.values():
        series = lib.series[e.series_id]
        watched = e.monitored and series.monitored and series.season_monitored[e.season_number]
        f = lib.file_of(e.id)
        if watched and f is not None and lib.format_upgradable(f):
            out.add(e.id)
    return out


async def _wanted_from_endpoints(sim: Simulator) -> tuple[set[int], set[int]]:
    client = ArrClient(
        ConnectorConfig(name="cross-check", url="http://sim", api_key=API_KEY, page_size=500),
        transport=httpx.ASGITransport(app=sim.app),
    )
    async with client:
        info = await client.api_info()
        if info.shape.value == "series":
            missing = {e.id async for e in client.missing_episodes()}
            cutoff = {e.id async for e in client.cutoff_unmet_episodes()}
        else:
            missing = {m.id async for m in client.missing_movies()}
            cutoff = {m.id async for m in client.cutoff_unmet_movies()}
    return missing, cutoff


async def test_demo_library_matches_the_simulators_truth(pool: asyncpg.Pool, bus: Bus) -> None:
    sim = sim_for(series=300, seasons=2, episodes_per_season=6, airing_seasons=20)
    h = await make_harness(pool, bus, sim)
    assert (await h.sweep("full"))["outcome"] == "success"
    run = await _discover(h, _discovery(h))
    missing, cutoff = await _wanted_from_endpoints(sim)
    assert set(sim.wanted_ids(kind="missing")) == missing and missing
    assert set(sim.wanted_ids(kind="cutoff")) == cutoff and cutoff
    registry = await _registry(pool, "episode")
    formats = _format_truth(sim)
    assert registry == {"gap": missing, "upgrade": cutoff, "format": formats} and formats
    assert (run["gaps_found"], run["upgrades_found"]) == (len(missing), len(cutoff))
    assert run["formats_found"] == run["formats_new"] == len(formats)
    assert run["entries_created"] == len(missing) + len(cutoff) + len(formats)
    # Every entry carries its score's parts, and the parts add up to the score.
    bad = await pool.fetchval(
        "SELECT count(*) FROM search_registry WHERE abs(priority - ((priority_parts->>'age')::float"
        " + (priority_parts->>'missing')::float + (priority_parts->>'user')::float"
        " + (priority_parts->>'failures')::float + (priority_parts->>'type')::float)) > 1e-6"
    )
    assert bad == 0
    # A second pass over an unchanged mirror changes nothing.
    again = await _discover(h, _discovery(h))
    assert (again["entries_created"], again["entries_removed"], again["type_changed"]) == (0, 0, 0)


async def test_movies_match_the_simulators_truth(pool: asyncpg.Pool, bus: Bus) -> None:
    sim = sim_for(Flavor.RADARR_V3, movies=300)
    h = await make_harness(pool, bus, sim, connector_type="radarr", name="films")
    await h.sweep("full")
    await _discover(h, _discovery(h))
    missing, cutoff = await _wanted_from_endpoints(sim)
    formats = _format_truth(sim)
    registry = await _registry(pool, "movie")
    assert registry == {"gap": missing, "upgrade": cutoff, "format": formats} and formats


async def test_gap_upgrade_transitions_and_cascades(pool: asyncpg.Pool, bus: Bus) -> None:
    sim = sim_for(series=10, seasons=2, episodes_per_season=5, missing_share=0.4)
    h = await make_harness(pool, bus, sim)
    d = _discovery(h)
    await h.sweep("full")
    await _discover(h, d)
    lib = sim.library
    rng = random.Random(3)
    now = sim.clock.now()
    before = await _registry(pool, "episode")
    eps = lib.episodes
    # gap → upgrade: the missing episode gets a file below the cutoff (profile 4 has one).
    gap = next(
        i for i in sorted(before["gap"]) if lib.series[eps[i].series_id].quality_profile_id == 4
    )
    gap_entry = await pool.fetchval(
        "SELECT r.id FROM search_registry r JOIN episodes e ON e.id = r.episode_id"
        " WHERE e.arr_id = $1",
        gap,
    )
    lib.replace_file(gap, below_cutoff=True, rng=rng, when=now)
    # upgrade → nothing: the file is replaced by one meeting the cutoff.
    upgrade = sorted(before["upgrade"])[0]
    lib.replace_file(upgrade, below_cutoff=False, format_below=False, rng=rng, when=now)
    # nothing → gap: a file is lost.
    have = next(
        e.id
        for e in eps.values()
        if e.file_id is not None
        and e.monitored
        and e.id not in before["upgrade"]
        and lib.series[e.series_id].monitored
    )
    lib.replace_file(have, below_cutoff=None, rng=rng, when=now)
    sim.changed(episode_ids=[gap, upgrade, have])
    await h.sweep("incremental")
    run = await _discover(h, d)
    assert (run["type_changed"], run["upgrades_removed"], run["gaps_new"]) == (1, 1, 1)
    after = await _registry(pool, "episode")
    assert gap in after["upgrade"] and upgrade not in after["upgrade"] and have in after["gap"]
    assert after == {
        "gap": set(sim.wanted_ids(kind="missing")),
        "upgrade": set(sim.wanted_ids(kind="cutoff")),
        "format": _format_truth(sim),
    }
    # The entry kept its id when its type changed.
    assert (
        await pool.fetchval("SELECT search_type FROM search_registry WHERE id = $1", gap_entry)
        == "upgrade"
    )
    # A series deleted in the app: its entries and their history go with the sync.
    victim = eps[have].series_id
    entry = await pool.fetchval(
        "SELECT r.id FROM search_registry r JOIN episodes e ON e.id = r.episode_id"
        " WHERE e.arr_id = $1",
        have,
    )
    await pool.execute(
        "INSERT INTO search_history (registry_id, connector_id, search_type, outcome)"
        " VALUES ($1, $2, 'gap', 'not_found')",
        entry,
        h.connector_id,
    )
    for eid in lib.series.pop(victim).episode_ids:
        eps.pop(eid)
    sim.changed()
    await h.sweep("incremental")
    assert await pool.fetchval("SELECT count(*) FROM search_registry WHERE id = $1", entry) == 0
    # Its history stays (the record of what was searched; only retention removes it).
    assert await pool.fetchval("SELECT count(*) FROM search_history WHERE registry_id IS NULL") == 1


async def test_sweep_type_limits_new_entries_and_redelivery_is_a_no_op(
    pool: asyncpg.Pool, bus: Bus
) -> None:
    sim = sim_for(series=5, seasons=1, episodes_per_season=8)
    h = await make_harness(pool, bus, sim)
    d = _discovery(h)
    await h.sweep("full")
    run = await _discover(h, d, "gaps")
    assert run["upgrades_new"] == 0 and run["gaps_new"] == len(sim.wanted_ids(kind="missing"))
    mid = "sync.completed:x"
    msg = SyncCompleted(
        message_id=mid,
        connector_id=h.connector_id,
        sync_run_id=1,
        sync_mode="full",
        sweep_type="both",
        outcome="success",
    )
    await d.handle(msg, Delivery("discovery", "t", mid, 1, pool))
    await d.handle(msg, Delivery("discovery", "t", mid, 2, pool))
    assert (
        await pool.fetchval("SELECT count(*) FROM discovery_runs WHERE message_id = $1", mid) == 1
    )


async def test_format_score_candidates_follow_the_files(pool: asyncpg.Pool, bus: Bus) -> None:
    sim = sim_for(Flavor.RADARR_V3, movies=120, format_share=0.3)
    h = await make_harness(pool, bus, sim, connector_type="radarr", name="films")
    d = _discovery(h)
    await h.sweep("full")
    run = await _discover(h, d)
    before = await _registry(pool, "movie")
    assert before["format"] == _format_truth(sim) and run["formats_new"] == len(before["format"])
    lib = sim.library
    rng = random.Random(9)
    now = sim.clock.now()
    # A format candidate's file is replaced by one that reaches the cutoff score: it leaves.
    leaves = sorted(before["format"])[0]
    lib.replace_file(leaves, below_cutoff=False, format_below=False, rng=rng, when=now)
    # A file at the quality cutoff and the score becomes one at the cutoff, below the score.
    good = next(
        m.id
        for m in lib.movies.values()
        if m.monitored
        and m.quality_profile_id == 4
        and (f := lib.file_of(m.id)) is not None
        and not f.cutoff_not_met
        and not lib.format_upgradable(f)
    )
    lib.replace_file(good, below_cutoff=False, format_below=True, rng=rng, when=now)
    # A format candidate whose quality drops below the cutoff: a quality upgrade now.
    drops = sorted(before["format"])[1]
    lib.replace_file(drops, below_cutoff=True, rng=rng, when=now)
    sim.changed(movie_ids=[leaves, good, drops])
    await h.sweep("incremental")
    run = await _discover(h, d)
    after = await _registry(pool, "movie")
    assert leaves not in after["format"] and leaves not in after["upgrade"]
    assert good in after["format"] and drops in after["upgrade"]
    assert after["format"] == _format_truth(sim)
    assert (run["formats_new"], run["formats_removed"], run["type_changed"]) == (1, 1, 1)
    # The label the queue shows: the score and the profile's cutoff score.
    scores = await pool.fetchrow(
        "SELECT m.custom_format_score, qp.cutoff_format_score FROM movies m"
        " JOIN quality_profiles qp ON qp.connector_id = m.connector_id"
        " AND qp.arr_id = m.quality_profile_id WHERE m.arr_id = $1",
        good,
    )
    assert scores["custom_format_score"] < scores["cutoff_format_score"] == 100
    # Weighed apart: a format entry's type part is the format weight.
    parts = await pool.fetch(
        "SELECT DISTINCT (priority_parts->>'type')::float AS t FROM search_registry"
        " WHERE search_type = 'format'"
    )
    assert [p["t"] for p in parts] == [SearchSettings().priority_weights.format]
    # Switched off for the connector: the format entries go, the others stay.
    await pool.execute(
        "UPDATE connectors SET format_upgrades = false WHERE id = $1", h.connector_id
    )
    run = await _discover(h, d)
    off = await _registry(pool, "movie")
    assert off["format"] == set() and run["formats_removed"] == len(after["format"])
    assert off["gap"] == after["gap"] and off["upgrade"] == after["upgrade"]
