"""A scripted run of the whole system against two simulators (Sonarr, Radarr): every
service in one process over real NATS and PostgreSQL, a sweep of each connector, searches
until every queued item was searched once. The analytics totals must equal the
simulators' own request logs (commands sent, items per command, every request by kind)
and the search history's outcomes; dropping the run's hours keeps every total."""

from __future__ import annotations

import dataclasses
import functools
import json
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import asyncpg
import pytest
from comradarr_arrsim import (
    Behaviour,
    Fault,
    Flavor,
    LibrarySpec,
    RequestRecord,
    Simulator,
    serve_in_thread,
)
from comradarr_bus import Bus
from comradarr_connectors import create_connector
from comradarr_crypto import SecretBox
from comradarr_dispatcher import service as dispatcher_service
from comradarr_dispatcher.config import DispatcherConfig
from comradarr_proto import RequestSweep
from comradarr_runtime import Runner, available_services, load_service
from comradarr_settings import CoreSettings, load_settings
from comradarr_throttle import MODERATE, create_profile
from comradarr_timeseries import metric, per_connector, per_connector_dims, resolve, roll_up

from tests.support import wait_for

pytestmark = pytest.mark.integration

SONARR_KEY = "scripted-sonarr-key-00000000000000000"
RADARR_KEY = "scripted-radarr-key-00000000000000000"
QUICK = Behaviour(
    command_queue_delay=0.05, command_duration=0.1, import_delay=0.2, find_probability=0.5
)
UTC_ZONE = ZoneInfo("UTC")


@pytest.fixture
def simulators() -> Iterator[dict[str, tuple[Simulator, str]]]:
    sims = {
        "sonarr": Simulator(
            flavor=Flavor.SONARR_V3,
            api_key=SONARR_KEY,
            spec=LibrarySpec(
                series=6, seasons=2, episodes_per_season=6, movies=0, missing_share=0.3
            ),
            behaviour=dataclasses.replace(QUICK),
        ),
        "radarr": Simulator(
            flavor=Flavor.RADARR_V3,
            api_key=RADARR_KEY,
            spec=LibrarySpec(series=0, movies=30, missing_share=0.3),
            behaviour=dataclasses.replace(QUICK),
        ),
    }
    servers = {name: serve_in_thread(sim) for name, sim in sims.items()}
    try:
        yield {name: (sims[name], servers[name].url) for name in sims}
    finally:
        for server in servers.values():
            server.stop()


def posted(sim: Simulator) -> list[dict[str, object]]:
    """The search commands the app accepted (201), with their bodies."""
    return [
        json.loads(r.body or "{}")
        for r in sim.requests
        if r.method == "POST" and r.path.endswith("/command") and r.status == 201
    ]


def kind_of(r: RequestRecord) -> str:
    """What the client calls the request (comradarr_arr endpoint kinds)."""
    path = r.path
    if path.endswith("/command") and r.method == "POST":
        return "command"
    if "/command/" in path:
        return "command_status"
    if "/history" in path:
        return "history"
    if path.endswith(("/ping", "/system/status", "/health")):
        return "system"
    return "library"


async def test_analytics_totals_equal_the_simulators_and_the_history(
    database_url: str,
    nats_url: str,
    bus_prefix: str,
    pool: asyncpg.Pool,
    private_tmp: Path,
    simulators: dict[str, tuple[Simulator, str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Test-sized dispatcher timings (the service builds its config itself).
    monkeypatch.setattr(
        dispatcher_service,
        "DispatcherConfig",
        functools.partial(
            DispatcherConfig, tick_seconds=0.2, poll_interval_seconds=0.1, judge_wait_seconds=0.05
        ),
    )
    settings = load_settings(
        CoreSettings,
        COMRADARR_BUS_PREFIX=bus_prefix,
        COMRADARR_DATA_DIR=str(private_tmp),
        COMRADARR_DB_POOL_MIN=1,
        COMRADARR_DB_POOL_MAX=8,
        COMRADARR_SHUTDOWN_TIMEOUT=5,
        COMRADARR_ARR_STATS_INTERVAL=0.3,
        SECRET_KEY="scripted-run-secret-key-0123456789abcdef",
    )
    profile = dataclasses.replace(
        MODERATE,
        name="scripted",
        requests_per_minute=600,
        max_concurrent_per_connector=4,
        cooldown_base_seconds=3600,
        rate_limit_cooldown_seconds=1,
        budget_reset_time=time(0, 0),
        is_preset=False,
        is_default=False,
    )
    ids: dict[str, int] = {}
    async with pool.acquire() as conn:
        profile_id = (await create_profile(conn, profile=profile)).id
        for name, (sim, url) in simulators.items():
            created = await create_connector(
                conn,
                box=SecretBox(settings.resolved_secret_key()),
                type=name,  # type: ignore[arg-type]
                name=f"Sim {name}",
                url=url,
                api_key=sim.api_key,
                throttle_profile_id=profile_id,
            )
            ids[name] = created.id
    runner = Runner(
        [load_service(n) for n in sorted(available_services())],
        settings=settings,
        database_url=database_url,
        nats_url=nats_url,
        http_port=None,
        client_name="scripted-run",
    )
    bus = Bus(url=nats_url, prefix=bus_prefix, client_name="scripted-publisher", pool=pool)
    # Some requests fail: two polls of Sonarr's commands (503), Radarr's first search (429).
    simulators["sonarr"][0].add_fault(Fault(kind="status", status=503, path="/command/", times=2))
    simulators["radarr"][0].add_fault(
        Fault(kind="status", status=429, retry_after="1", path="/command", times=1)
    )
    await runner.start()
    await bus.connect()
    try:
        for cid in ids.values():
            await bus.publish(RequestSweep(connector_id=cid, sync_mode="full", requested_by="test"))

        async def searched_everything() -> bool:
            row = await pool.fetchrow(
                "SELECT count(*) AS entries,"
                " count(*) FILTER (WHERE attempts = 0 AND last_searched_at IS NULL) AS waiting,"
                " (SELECT count(*) FROM dispatch_commands WHERE status IN ('sending', 'searching'))"
                " AS busy, (SELECT count(DISTINCT connector_id) FROM discovery_runs) AS discovered"
                " FROM search_registry"
            )
            assert row is not None
            return bool(
                row["discovered"] == 2 and row["entries"] and not row["waiting"] and not row["busy"]
            )

        await wait_for(searched_everything, timeout=90)
        day = datetime.now(UTC).date()
        period = resolve(
            range_name="custom",
            now=datetime.now(UTC),
            tz=UTC_ZONE,
            hourly_since=datetime(2000, 1, 1, tzinfo=UTC),
            start=(day - timedelta(days=1)).isoformat(),
            end=(day + timedelta(days=1)).isoformat(),
            bucket="day",
        )
        totals_metrics = [
            metric(n)
            for n in (
                "searches",
                "items_searched",
                "searches_completed",
                "items_completed",
                "items_found",
                "searches_failed",
                "arr_requests",
                "arr_errors",
                "gaps_new",
                "success_rate",
                "rate_limited",
            )
        ]

        async def analytics_caught_up() -> bool:
            figures = await per_connector(pool, totals_metrics, period=period)  # type: ignore[arg-type]
            return all(
                figures.get(cid, {}).get("arr_requests") == len(simulators[name][0].requests)
                and figures[cid]["searches"] == len(posted(simulators[name][0]))
                and figures[cid]["searches_completed"] + figures[cid]["searches_failed"]
                == figures[cid]["searches"]
                for name, cid in ids.items()
            )

        await wait_for(analytics_caught_up, timeout=30)
        figures = await per_connector(pool, totals_metrics, period=period)  # type: ignore[arg-type]
        kinds = await per_connector_dims(pool, metric("arr_requests"), period=period)  # type: ignore[arg-type]
        commands = await per_connector_dims(pool, metric("searches"), period=period)  # type: ignore[arg-type]
        items = await per_connector_dims(pool, metric("items_searched"), period=period)  # type: ignore[arg-type]
        errors = await per_connector_dims(pool, metric("arr_errors"), period=period)  # type: ignore[arg-type]
        for name, cid in ids.items():
            sim = simulators[name][0]
            f = figures[cid]
            # Every request the simulator received, by what it was for, and those it failed.
            assert kinds[cid] == dict(Counter(kind_of(r) for r in sim.requests))
            failed = Counter(r.status for r in sim.requests if r.status >= 400)
            assert f["arr_errors"] == sum(failed.values())
            expected = {"server": 2} if name == "sonarr" else {"rate_limited": 1}
            assert errors[cid] == expected
            assert dict(failed) == ({503: 2} if name == "sonarr" else {429: 1})
            assert f["rate_limited"] == (1 if name == "radarr" else 0)
            latency_total = await pool.fetchval(
                "SELECT sum(n) FROM analytics_latency_daily, unnest(counts) AS n WHERE connector_id = $1 AND kind = ''",
                cid,
            )
            assert latency_total == len(sim.requests)
            # Commands by type, and the items each carried, as the simulator received them.
            bodies = posted(sim)
            assert commands[cid] == dict(Counter(str(b["name"]) for b in bodies))
            sent_items = Counter()
            for b in bodies:
                ids_sent = b.get("episodeIds") or b.get("movieIds")
                if isinstance(ids_sent, list):
                    sent_items[str(b["name"])] += len(ids_sent)
            history = await pool.fetch(
                "SELECT command_name, outcome, count(*) AS n FROM search_history"
                " WHERE connector_id = $1 GROUP BY 1, 2",
                cid,
            )
            by_command = Counter()
            for h in history:
                by_command[h["command_name"]] += h["n"]
            for command, n in items[cid].items():
                assert n == by_command[command]  # one history row per item searched
                if command != "SeasonSearch":  # a pack names its season, not its items
                    assert n == sent_items[command]
            # Outcomes: the history's finds and misses are the analytics' found/completed.
            outcomes = Counter()
            for h in history:
                outcomes[h["outcome"]] += h["n"]
            assert f["items_found"] == outcomes["found"] > 0
            assert f["items_completed"] == outcomes["found"] + outcomes["not_found"]
            assert f["success_rate"] == pytest.approx(outcomes["found"] / f["items_completed"])
            created = await pool.fetchval(
                "SELECT sum(gaps_new) FROM discovery_runs WHERE connector_id = $1", cid
            )
            assert f["gaps_new"] == created > 0
        # Queue depth and completion were sampled at start-up for both connectors.
        sampled = await pool.fetch(
            "SELECT DISTINCT connector_id, metric FROM analytics_daily WHERE samples > 0"
        )
        assert {(r["connector_id"], r["metric"]) for r in sampled} >= {
            (cid, "queue_depth") for cid in ids.values()
        }
    finally:
        await bus.stop()
        await runner.stop()
    # The hours of this run dropped as if 40 days had passed: the days keep every total.
    before = await per_connector(pool, totals_metrics, period=period)  # type: ignore[arg-type]
    async with pool.acquire() as conn:
        pruned = await roll_up(
            conn,
            now=datetime.now(UTC) + timedelta(days=40),
            tz=UTC_ZONE,
            hourly_days=30,
            daily_days=730,
        )
    assert pruned.hourly > 0
    assert await pool.fetchval("SELECT count(*) FROM analytics_hourly") == 0
    assert await per_connector(pool, totals_metrics, period=period) == before  # type: ignore[arg-type]
