"""The simulators as a library: generator, control API, faults, request log, entry points."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from importlib import metadata

import httpx
import orjson
import pytest
from comradarr_arrsim import (
    DEFAULT_REFERENCE,
    Fault,
    Flavor,
    LibrarySpec,
    ManualClock,
    Simulator,
)

pytestmark = pytest.mark.unit

KEY = "behaviour-key"


def _sim(flavor: Flavor = Flavor.SONARR_V3, **spec: int | float) -> Simulator:
    return Simulator(
        flavor=flavor,
        api_key=KEY,
        spec=LibrarySpec(**spec),  # type: ignore[arg-type]
        clock=ManualClock(start=DEFAULT_REFERENCE),
    )


def _client(sim: Simulator) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=sim.app),
        base_url="http://sim",
        headers={"X-Api-Key": KEY},
    )


def test_generator_is_deterministic_per_seed() -> None:
    def snapshot(seed: int) -> bytes:
        sim = _sim(seed=seed, series=5)
        ids = sorted(sim.library.episodes)
        return b"".join(sim._episode_bytes(i, True) for i in ids) + b"".join(
            sim._series_bytes(i) for i in sorted(sim.library.series)
        )

    assert snapshot(11) == snapshot(11)
    assert snapshot(11) != snapshot(12)


def test_generator_sizes_and_shares() -> None:
    sim = _sim(series=40, seasons=3, episodes_per_season=8, specials=2, airing_seasons=4)
    lib = sim.library
    assert len(lib.series) == 40
    assert len(lib.episodes) == 40 * (3 * 8 + 2)
    specials = [e for e in lib.episodes.values() if e.season_number == 0]
    assert specials and not any(e.monitored for e in specials)
    future = [e for e in lib.episodes.values() if (e.air_date or 0) > DEFAULT_REFERENCE]
    assert future and {e.series_id for e in future} <= {1, 2, 3, 4}
    assert not any(e.file_id for e in future)
    aired = [e for e in lib.episodes.values() if e.air_date and e.air_date <= DEFAULT_REFERENCE]
    share_missing = sum(1 for e in aired if e.file_id is None) / len(aired)
    assert 0.1 < share_missing < 0.3
    unmonitored = sum(1 for s in lib.series.values() if not s.monitored)
    assert 0 < unmonitored < 12
    cutoff = sim.wanted_ids(kind="cutoff")
    assert cutoff and all(lib.files[lib.episodes[i].file_id or 0].cutoff_not_met for i in cutoff)


def test_movie_generator() -> None:
    sim = _sim(Flavor.RADARR_V3, movies=200, missing_share=0.3)
    movies = sim.library.movies.values()
    assert len(movies) == 200
    assert 30 < sum(1 for m in movies if m.file_id is None) < 90
    assert len({m.title for m in movies}) > 150


async def test_real_paging_and_sorting() -> None:
    sim = _sim(series=10, missing_share=0.5, airing_seasons=0)
    async with _client(sim) as client:
        ids = sim.wanted_ids(kind="missing")
        seen: list[int] = []
        page = 1
        while True:
            data = (
                await client.get(
                    "/api/v3/wanted/missing",
                    params={"page": page, "pageSize": 7, "sortKey": "episodes.airDateUtc"},
                )
            ).json()
            assert data["totalRecords"] == len(ids) and data["pageSize"] == 7
            seen += [r["id"] for r in data["records"]]
            if page * 7 >= data["totalRecords"]:
                break
            page += 1
        assert sorted(seen) == ids and len(seen) == len(set(seen))
        dates = [sim.library.episodes[i].air_date or 0 for i in seen]
        assert dates == sorted(dates)
        desc = (
            await client.get(
                "/api/v3/wanted/missing",
                params={"pageSize": 1000, "sortKey": "airDateUtc", "sortDirection": "descending"},
            )
        ).json()
        assert [r["id"] for r in desc["records"]] == list(reversed(seen))
        default = (await client.get("/api/v3/wanted/missing")).json()
        assert default["page"] == 1 and default["pageSize"] == 10 and len(default["records"]) == 10


async def test_control_api_faults_requests_state_and_clock() -> None:
    sim = _sim()
    async with _client(sim) as client:
        created = await client.post(
            "/__sim/faults",
            json=[{"kind": "status", "status": 429, "retryAfter": 3, "times": 1}],
        )
        assert created.status_code == 201
        assert (await client.get("/__sim/faults")).json()[0]["retry_after"] == "3"
        limited = await client.get("/api/v3/series")
        assert limited.status_code == 429 and limited.headers["Retry-After"] == "3"
        assert (await client.get("/api/v3/series")).status_code == 200
        assert (await client.post("/__sim/faults", json={"kind": "nope"})).status_code == 400
        await client.post("/__sim/faults", json={"kind": "status", "status": 500})
        assert (await client.get("/api/v3/series")).status_code == 500
        assert (await client.delete("/__sim/faults")).status_code == 204
        assert (await client.get("/api/v3/series")).status_code == 200
        log = (await client.get("/__sim/requests")).json()
        assert log["counters"]["GET /api/v3/series"] == 4
        assert [r["status"] for r in log["requests"]] == [429, 200, 500, 200]
        assert all(r["api_key_header"] for r in log["requests"])
        await client.post("/api/v3/command", json={"name": "MissingEpisodeSearch"})
        before = (await client.get("/__sim/state")).json()
        assert before["commands"] == {"1": "queued"}
        await client.post("/__sim/clock", json={"advance": 30})
        after = (await client.get("/__sim/state")).json()
        assert after["commands"] == {"1": "completed"}
        assert after["missing"] < before["missing"]
        assert (await client.delete("/__sim/requests")).status_code == 204
        assert sim.requests == []


async def test_faults_from_python_with_path_and_count() -> None:
    sim = _sim()
    sim.faults.add(Fault(kind="status", status=404, path="/episode", times=2))
    async with _client(sim) as client:
        assert (await client.get("/api/v3/series")).status_code == 200
        statuses = [
            (await client.get("/api/v3/episode", params={"seriesId": 1})).status_code
            for _ in range(3)
        ]
    assert statuses == [404, 404, 200]
    assert sim.faults.list() == []


async def test_unknown_paths_commands_and_bad_input() -> None:
    sim = _sim()
    async with _client(sim) as client:
        assert (await client.get("/api/v3/movie")).status_code == 404
        assert (await client.get("/api/v1/indexer")).status_code == 404
        bad = await client.post("/api/v3/command", json={"name": "Explode"})
        assert bad.status_code == 400 and "Unknown command" in bad.json()["message"]
        no_series = await client.get("/api/v3/episode")
        assert no_series.status_code == 400
        assert (await client.get("/api/v3/command/77")).status_code == 404
        assert (await client.get("/api/v3/series/999")).status_code == 404
        # The real apps also take the key from the query string; the client never does.
        assert (await client.get("/api/v3/series", params={"apikey": KEY})).status_code == 200


async def test_json_is_camel_case_without_nulls() -> None:
    sim = _sim(Flavor.RADARR_V3, movies=30)
    async with _client(sim) as client:
        raw = (await client.get("/api/v3/movie")).content

    def walk(node: object) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                assert value is not None, key
                assert "_" not in key, key
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(orjson.loads(raw))


def test_cli_entry_points_are_registered() -> None:
    tools = {ep.name: ep.value for ep in metadata.entry_points(group="comradarr.cli")}
    assert tools["arr"] == "comradarr_arr._cli:main"
    assert tools["arrsim"] == "comradarr_arrsim._cli:main"


def test_flavor_versions_are_what_detection_expects() -> None:
    from comradarr_arr import resolve_api
    from comradarr_arrsim import FLAVORS

    for flavor, info in FLAVORS.items():
        api = resolve_api(app_name=info.app_name, version=info.version)
        assert api.api_base == info.api_base, flavor
        assert api.shape.value == info.shape, flavor


async def test_cached_episode_lists_follow_imports() -> None:
    sim = _sim(series=2, missing_share=0.5, airing_seasons=0)
    sim.prewarm()
    target = sim.wanted_ids(kind="missing")[0]
    series_id = sim.library.episodes[target].series_id
    params = {"seriesId": series_id, "includeEpisodeFile": "true"}
    async with _client(sim) as client:
        before = {e["id"]: e for e in (await client.get("/api/v3/episode", params=params)).json()}
        assert before[target]["hasFile"] is False
        await client.post("/api/v3/command", json={"name": "EpisodeSearch", "episodeIds": [target]})
        sim.behaviour.find_probability = 1.0
        assert isinstance(sim.clock, ManualClock)
        sim.clock.advance(60)
        after = {e["id"]: e for e in (await client.get("/api/v3/episode", params=params)).json()}
    assert after[target]["hasFile"] is True
    assert after[target]["episodeFile"]["qualityCutoffNotMet"] is False
    assert "lastSearchTime" in after[target]


def test_by_hand_the_simulators_keep_the_host_clock() -> None:
    from comradarr_arrsim._cli import build

    before = time.time()
    sim, _ = build(["--type", "sonarr", "--api-key", KEY, "--series", "30"])
    assert before - 1 <= sim.clock.now() <= time.time() + 1
    assert before - 1 <= sim.spec.reference_time <= time.time() + 1
    # What the host counts as aired and missing is what the simulator's wanted list says.
    lib = sim.library
    host_missing = [
        e
        for e in lib.episodes.values()
        if e.file_id is None
        and e.air_date is not None
        and e.air_date <= time.time()
        and e.monitored
        and lib.series[e.series_id].monitored
    ]
    assert len(host_missing) == len(sim.wanted_ids(kind="missing")) > 0
    prowlarr, _ = build(["--type", "prowlarr", "--api-key", KEY])
    assert prowlarr._blocked(), "a disabledTill an hour from now is in the future"
    # A fixed reference stays available for tests that ask for one.
    fixed, _ = build(["--type", "sonarr", "--api-key", KEY, "--reference-time", "fixed"])
    assert fixed.spec.reference_time == DEFAULT_REFERENCE
    dated, _ = build(["--type", "radarr", "--api-key", KEY, "--reference-time", "2024-03-01"])
    assert dated.spec.reference_time == datetime(2024, 3, 1, tzinfo=UTC).timestamp()
    with pytest.raises(SystemExit):
        build(["--type", "sonarr", "--api-key", KEY, "--reference-time", "yesterday"])


async def test_prowlarr_indexer_states_and_statistics() -> None:
    sim = _sim(Flavor.PROWLARR_V1, indexers=4)
    assert isinstance(sim.clock, ManualClock)
    async with _client(sim) as client:
        listed = {s["indexerId"] for s in (await client.get("/api/v1/indexerstatus")).json()}
        assert listed == {3}
        # A disable that ran out: gone from indexerstatus, still on the indexer.
        changed = await client.post("/__sim/indexers/1", json={"disabledFor": -60})
        assert changed.status_code == 200 and changed.json()["status"]["disabledTill"]
        assert {s["indexerId"] for s in (await client.get("/api/v1/indexerstatus")).json()} == {3}
        await client.post("/__sim/indexers/2", json={"disabledFor": 900, "message": "429"})
        await client.post("/__sim/indexers/4", json={"enable": False})
        listed = {s["indexerId"] for s in (await client.get("/api/v1/indexerstatus")).json()}
        assert listed == {2, 3}
        health = (await client.get("/api/v1/health")).json()
        assert health[0]["message"].endswith("DrunkenSlug, 1337x")
        indexers = {i["id"]: i for i in (await client.get("/api/v1/indexer")).json()}
        assert indexers[2]["message"] == {"message": "429", "type": "error"}
        assert indexers[4]["enable"] is False
        sim.clock.advance(3601)  # indexer 3's hour is over, indexer 2's 15 minutes too
        assert (await client.get("/api/v1/indexerstatus")).json() == []
        await client.post("/__sim/indexers/2", json={"healthy": True, "message": ""})
        indexers = {i["id"]: i for i in (await client.get("/api/v1/indexer")).json()}
        assert "status" not in indexers[2] and "message" not in indexers[2]
        stats = (await client.get("/api/v1/indexerstats")).json()["indexers"]
        assert [s["indexerId"] for s in stats] == [1, 2, 3, 4]
        assert all(s["numberOfQueries"] >= s["numberOfGrabs"] for s in stats)
        assert (await client.post("/__sim/indexers/9", json={})).status_code == 404
        bad = await client.post("/__sim/indexers/1", json={"disabledFor": "soon"})
        assert bad.status_code == 400


async def test_download_queue_counts_grabs_until_imported() -> None:
    sim = _sim(series=2, missing_share=0.5, airing_seasons=0)
    sim.behaviour.find_probability = 1.0
    assert isinstance(sim.clock, ManualClock)
    wanted = sim.wanted_ids(kind="missing")[:3]
    async with _client(sim) as client:
        assert (await client.get("/api/v3/queue/status")).json()["totalCount"] == 0
        await client.post("/api/v3/command", json={"name": "EpisodeSearch", "episodeIds": wanted})
        sim.clock.advance(0.7)  # ended, grabbed, not imported yet
        assert (await client.get("/api/v3/queue/status")).json()["totalCount"] == 3
        set_extra = await client.post("/__sim/queue", json={"totalCount": 20})
        assert set_extra.json() == {"totalCount": 23}
        sim.clock.advance(5)
        assert (await client.get("/api/v3/queue/status")).json()["totalCount"] == 20
        assert (await client.post("/__sim/queue", json={"totalCount": -1})).status_code == 400


async def test_format_scores_make_upgrades_of_their_own_kind() -> None:
    sim = _sim(Flavor.RADARR_V3, movies=200, cutoff_share=0.2, format_share=0.3)
    assert isinstance(sim.clock, ManualClock)
    lib = sim.library
    files = list(lib.files.values())
    candidates = [f for f in files if lib.format_upgradable(f)]
    assert candidates and all(not f.cutoff_not_met for f in candidates)
    assert all(f.format_score < 100 for f in candidates)
    # Quality cutoff alone misses them: wanted/cutoff does not list them.
    assert not {f.owner_id for f in candidates} & set(sim.wanted_ids(kind="cutoff"))
    target = candidates[0]
    sim.behaviour.find_probability = 1.0
    async with _client(sim) as client:
        movie = (await client.get(f"/api/v3/movie/{target.owner_id}")).json()
        assert movie["movieFile"]["customFormatScore"] == target.format_score
        assert {cf["name"] for cf in movie["movieFile"]["customFormats"]} >= {"x265"}
        body = {"name": "MoviesSearch", "movieIds": [target.owner_id]}
        await client.post("/api/v3/command", json=body)
        sim.clock.advance(10)
        after = (await client.get(f"/api/v3/movie/{target.owner_id}")).json()
    assert after["movieFile"]["customFormatScore"] >= 100
    new_file = lib.file_of(target.owner_id)
    assert new_file is not None and not lib.format_upgradable(new_file)
