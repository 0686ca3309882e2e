"""Gatherarr against the Sonarr/Radarr simulators: searches, faults, state, metrics, health."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from gatherarr import App, TargetType
from gatherarr_sim_support import (
    API_KEY,
    Fault,
    Flavor,
    ManualClock,
    ServedApp,
    Simulator,
    make_app,
    make_sim,
    sim_clock,
    sim_config,
    with_key,
)
from prometheus_client.parser import text_string_to_metric_families

pytestmark = pytest.mark.integration

RADARR = TargetType.RADARR
SONARR = TargetType.SONARR
REPO = Path(__file__).resolve().parents[3]


def commands(sim: Simulator) -> list[dict[str, object]]:
    """Bodies of every command POSTed to the simulator."""
    return [
        json.loads(r.body or "{}")
        for r in sim.requests
        if r.method == "POST" and r.path.endswith("/command")
    ]


def value(app: App, name: str, **labels: str) -> float:
    result = app.metrics.registry.get_sample_value(name, labels)
    return 0.0 if result is None else result


def wanted_movies(sim: Simulator) -> set[int]:
    return set(sim.wanted_ids(kind="missing")) | set(sim.wanted_ids(kind="cutoff"))


def wanted_seasons(sim: Simulator) -> set[tuple[int, int]]:
    episodes = sim.library.episodes
    ids = set(sim.wanted_ids(kind="missing")) | set(sim.wanted_ids(kind="cutoff"))
    return {(episodes[i].series_id, episodes[i].season_number) for i in ids}


async def test_radarr_one_movies_search_per_wanted_movie(tmp_path: Path) -> None:
    sim = make_sim(Flavor.RADARR_V3)
    app = make_app(
        sim_config(tmp_path, targets={"movies": (RADARR, "http://radarr")}), sims={"movies": sim}
    )
    outcomes = await app.worker.run_once()
    assert outcomes["movies"].status == "success"
    sent = commands(sim)
    assert sent and all(c["name"] == "MoviesSearch" and len(c["movieIds"]) == 1 for c in sent)  # type: ignore[arg-type]
    searched = [c["movieIds"][0] for c in sent]  # type: ignore[index]
    assert sorted(searched) == sorted(wanted_movies(sim))
    assert all(r.api_key_header for r in sim.requests)
    assert all(API_KEY not in r.query for r in sim.requests)
    state = json.loads((tmp_path / "state.json").read_text())
    assert state["targets"]["movies"]["last_status"] == "success"
    assert len(state["targets"]["movies"]["items"]) == len(searched)
    labels = {"target": "movies", "type": "radarr"}
    assert value(app, "gatherarr_searches_total", **labels) == len(searched)
    assert value(app, "gatherarr_requests_total", **labels) == len(sim.requests)
    await app.targets[0].client.aclose()


@pytest.mark.parametrize("flavor", [Flavor.SONARR_V3, Flavor.SONARR_V5])
async def test_sonarr_season_searches_only(tmp_path: Path, flavor: Flavor) -> None:
    sim = make_sim(flavor)
    app = make_app(
        sim_config(tmp_path, targets={"tv": (SONARR, "http://sonarr")}), sims={"tv": sim}
    )
    outcomes = await app.worker.run_once()
    assert outcomes["tv"].status == "success"
    names = {c["name"] for c in commands(sim)}
    assert names == {"SeasonSearch"}
    assert "SeriesSearch" not in names and "EpisodeSearch" not in names
    seasons = [(c["seriesId"], c["seasonNumber"]) for c in commands(sim)]
    assert len(seasons) == len(set(seasons))
    assert set(seasons) == wanted_seasons(sim)
    assert all(set(c) == {"name", "seriesId", "seasonNumber"} for c in commands(sim))
    await app.targets[0].client.aclose()


async def test_limits_and_research_interval_across_runs(tmp_path: Path) -> None:
    sim = make_sim(Flavor.RADARR_V3)
    config = sim_config(tmp_path, targets={"movies": (RADARR, "http://r")}, limit=3)
    app = make_app(config, sims={"movies": sim})
    await app.worker.run_once()
    await app.worker.run_once()
    first, second = commands(sim)[:3], commands(sim)[3:]
    assert len(first) == 3 and len(second) == 3
    assert not {c["movieIds"][0] for c in first} & {c["movieIds"][0] for c in second}  # type: ignore[index]
    assert value(app, "gatherarr_skips_total", target="movies", type="radarr") == 3
    await app.targets[0].client.aclose()


async def test_wrong_api_key_fails_fast_without_searching(tmp_path: Path) -> None:
    sim = make_sim(Flavor.RADARR_V3)
    config = with_key(sim_config(tmp_path, targets={"movies": (RADARR, "http://r")}), "wrong")
    app = make_app(config, sims={"movies": sim})
    outcomes = await app.worker.run_once()
    assert outcomes["movies"].status == "failure"
    assert commands(sim) == []
    assert len(sim.requests) == 1 and sim.requests[0].status == 401  # no retry on 401
    state = json.loads((tmp_path / "state.json").read_text())["targets"]["movies"]
    assert state["last_error"].startswith("auth:") and state["consecutive_failures"] == 1
    assert value(app, "gatherarr_run_total", target="movies", type="radarr", status="failure") == 1
    await app.targets[0].client.aclose()


async def test_application_4xx_on_one_search_is_recorded_and_others_go_on(tmp_path: Path) -> None:
    sim = make_sim(Flavor.RADARR_V3)
    sim.add_fault(
        Fault(kind="status", status=400, body='{"message":"bad"}', path="command", times=1)
    )
    app = make_app(
        sim_config(tmp_path, targets={"movies": (RADARR, "http://r")}), sims={"movies": sim}
    )
    outcomes = await app.worker.run_once()
    assert outcomes["movies"].status == "partial"
    assert len(outcomes["movies"].failed) == 1
    assert len(commands(sim)) == len(wanted_movies(sim))  # the 400 was not retried
    items = json.loads((tmp_path / "state.json").read_text())["targets"]["movies"]["items"]
    assert sum(1 for i in items.values() if i["last_result"].startswith("client:")) == 1
    await app.targets[0].client.aclose()


async def test_5xx_and_429_are_retried(tmp_path: Path) -> None:
    sim = make_sim(Flavor.RADARR_V3)
    sim.add_fault(Fault(kind="status", status=500, path="wanted/missing", times=2))
    sim.add_fault(Fault(kind="status", status=429, retry_after="0", path="command", times=1))
    app = make_app(
        sim_config(tmp_path, targets={"movies": (RADARR, "http://r")}), sims={"movies": sim}
    )
    outcomes = await app.worker.run_once()
    assert outcomes["movies"].status == "success"
    labels = {"target": "movies", "type": "radarr"}
    assert value(app, "gatherarr_request_errors_total", **labels) == 3
    assert value(app, "gatherarr_searches_total", **labels) == len(wanted_movies(sim))
    await app.targets[0].client.aclose()


async def test_persistent_5xx_fails_after_bounded_attempts(tmp_path: Path) -> None:
    sim = make_sim(Flavor.RADARR_V3)
    sim.add_fault(Fault(kind="status", status=503, path="wanted"))
    config = sim_config(tmp_path, targets={"movies": (RADARR, "http://r")}, attempts=3)
    app = make_app(config, sims={"movies": sim})
    outcomes = await app.worker.run_once()
    assert outcomes["movies"].status == "failure"
    assert outcomes["movies"].error is not None and outcomes["movies"].error.startswith(
        "transient:"
    )
    assert sum(1 for r in sim.requests if "wanted" in r.path) == 3
    await app.targets[0].client.aclose()


async def test_timeouts_over_real_http_are_retried_then_fail(tmp_path: Path) -> None:
    sim = make_sim(Flavor.RADARR_V3)
    with ServedApp(sim.app) as served:
        config = sim_config(
            tmp_path, targets={"movies": (RADARR, served.url)}, timeout=0.3, attempts=2
        )
        sim.add_fault(Fault(kind="slow", delay=1.0, path="wanted/missing", times=1))
        app = make_app(config)
        outcomes = await app.worker.run_once()
        assert outcomes["movies"].status == "success"
        labels = {"target": "movies", "type": "radarr"}
        assert value(app, "gatherarr_request_errors_total", **labels) == 1
        sim.add_fault(Fault(kind="slow", delay=1.0, path="system/status", times=2))
        outcomes = await app.worker.run_once()
        assert outcomes["movies"].status == "failure"
        assert "within 0.3s" in (outcomes["movies"].error or "")
        await app.targets[0].client.aclose()


async def test_grabs_after_searches_are_counted(tmp_path: Path) -> None:
    sim = make_sim(Flavor.RADARR_V3, clock=ManualClock(start=1_750_000_000.0))
    config = sim_config(tmp_path, targets={"movies": (RADARR, "http://r")})
    app = make_app(config, sims={"movies": sim}, clock=sim_clock(sim))
    await app.worker.run_once()
    searched = len(commands(sim))
    sim.clock.advance(5.0)  # commands start, end and grab (find_probability=1)
    sim.tick()
    sim.clock.advance(60.0)
    await app.worker.run_once()
    grabs = value(app, "gatherarr_grabs_total", target="movies", type="radarr")
    assert grabs == searched
    items = json.loads((tmp_path / "state.json").read_text())["targets"]["movies"]["items"]
    assert sum(1 for i in items.values() if i["grab_seen"]) == searched
    await app.targets[0].client.aclose()


async def test_sonarr_grabs_map_episodes_to_seasons_after_restart(tmp_path: Path) -> None:
    sim = make_sim(Flavor.SONARR_V3, clock=ManualClock(start=1_750_000_000.0))
    config = sim_config(tmp_path, targets={"tv": (SONARR, "http://s")})
    first = make_app(config, sims={"tv": sim}, clock=sim_clock(sim))
    await first.worker.run_once()
    await first.targets[0].client.aclose()
    seasons = len(commands(sim))
    sim.clock.advance(5.0)
    sim.tick()
    sim.clock.advance(60.0)
    # A new process knows no episode→season mapping yet: it must list the series' episodes.
    second = make_app(config, sims={"tv": sim}, clock=sim_clock(sim))
    await second.worker.run_once()
    assert value(second, "gatherarr_grabs_total", target="tv", type="sonarr") == seasons
    assert {c["name"] for c in commands(sim)} == {"SeasonSearch"}
    await second.targets[0].client.aclose()


async def test_state_recovered_from_previous_file(tmp_path: Path) -> None:
    sim = make_sim(Flavor.RADARR_V3)
    config = sim_config(tmp_path, targets={"movies": (RADARR, "http://r")}, limit=5)
    first = make_app(config, sims={"movies": sim})
    await first.worker.run_once()
    await first.targets[0].client.aclose()
    before = {c["movieIds"][0] for c in commands(sim)}  # type: ignore[index]
    sim.clear_requests()
    second = make_app(config, sims={"movies": sim})
    assert second.state.total_runs == 1
    await second.worker.run_once()
    after = {c["movieIds"][0] for c in commands(sim)}  # type: ignore[index]
    assert not before & after
    assert value(second, "gatherarr_skips_total", target="movies", type="radarr") == 5
    assert json.loads((tmp_path / "state.json").read_text())["total_runs"] == 2
    await second.targets[0].client.aclose()


async def test_corrupt_state_is_moved_aside_and_work_continues(tmp_path: Path) -> None:
    (tmp_path / "state.json").write_text('{"version": 1, "targets": {"movies": 42}}')
    sim = make_sim(Flavor.RADARR_V3)
    app = make_app(
        sim_config(tmp_path, targets={"movies": (RADARR, "http://r")}), sims={"movies": sim}
    )
    assert len(list(tmp_path.glob("state.json.corrupt.*"))) == 1
    outcomes = await app.worker.run_once()
    assert outcomes["movies"].status == "success"
    assert json.loads((tmp_path / "state.json").read_text())["total_runs"] == 1
    await app.targets[0].client.aclose()


async def test_metrics_and_health_over_http(tmp_path: Path) -> None:
    movies = make_sim(Flavor.RADARR_V3)
    tv = make_sim(Flavor.SONARR_V3)
    config = sim_config(
        tmp_path, targets={"movies": (RADARR, "http://r"), "tv": (SONARR, "http://s")}
    )
    app = make_app(config, sims={"movies": movies, "tv": tv})
    # Before readiness: the server answers but the scheduler has not started.
    await app.server.start(host="127.0.0.1", port=0)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{app.server.port}") as http:
        health = await http.get("/health")
        assert (health.status_code, health.text) == (503, "NOT READY")
    await app.server.close()

    task = asyncio.create_task(app.run())
    for _ in range(500):
        if app.state.total_runs >= 1 and app.scheduler.runs >= 1:
            break
        await asyncio.sleep(0.01)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{app.server.port}") as http:
        health = await http.get("/health")
        assert (health.status_code, health.text) == (200, "OK")
        scraped = (await http.get("/metrics")).text
    families = {f.name: f for f in text_string_to_metric_families(scraped)}
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for f in families.values()
        for s in f.samples
    }
    for name in (
        "gatherarr_run",
        "gatherarr_requests",
        "gatherarr_grabs",
        "gatherarr_skips",
        "gatherarr_request_errors",
        "gatherarr_request_duration_seconds",
        "gatherarr_last_success_timestamp_seconds",
        "gatherarr_state_write_failures",
    ):
        assert name in families, name
    for target, kind, sim in (("movies", "radarr", movies), ("tv", "sonarr", tv)):
        labels = (("target", target), ("type", kind))
        run_key = tuple(sorted((*labels, ("status", "success"))))
        assert samples[("gatherarr_run_total", run_key)] == 1
        assert samples[("gatherarr_requests_total", labels)] == len(sim.requests)
        assert samples[("gatherarr_request_errors_total", labels)] == 0
        assert samples[("gatherarr_request_duration_seconds_count", labels)] == len(sim.requests)
        assert samples[("gatherarr_grabs_total", labels)] == 0
        assert samples[("gatherarr_last_success_timestamp_seconds", labels)] > 1e9
    assert samples[("gatherarr_state_write_failures_total", ())] == 0
    app.request_stop()
    assert await asyncio.wait_for(task, timeout=10) == 0


async def test_dockerfile_healthcheck_command_against_a_live_server(tmp_path: Path) -> None:
    dockerfile = (REPO / "deploy" / "gatherarr" / "Dockerfile").read_text().replace("\\\n", " ")
    line = next(x for x in dockerfile.splitlines() if x.startswith("HEALTHCHECK"))
    argv = json.loads(line.split("CMD", 1)[1])
    ready = {"value": False}
    from gatherarr._http import StatusServer
    from gatherarr._metrics import Metrics

    server = StatusServer(metrics=Metrics(), ready=lambda: ready["value"])
    await server.start(host="127.0.0.1", port=0)
    env = {"GATHERARR_LISTEN": f"0.0.0.0:{server.port}", "PATH": "/usr/bin:/bin"}
    try:
        for expected, is_ready in ((1, False), (0, True)):
            ready["value"] = is_ready
            proc = await asyncio.create_subprocess_exec(
                sys.executable, *argv[1:], env=env,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
            assert await asyncio.wait_for(proc.wait(), timeout=20) == expected
    finally:
        await server.close()
