"""One sweep followed from scheduler through sync and discovery to dispatcher, over real NATS."""

from __future__ import annotations

import asyncio
import gc
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from comradarr_arrsim import Flavor, LibrarySpec, Simulator, serve_in_thread
from comradarr_connectors import create_connector
from comradarr_crypto import SecretBox
from comradarr_runtime import Runner, available_services, load_service
from comradarr_settings import CoreSettings, load_settings

from tests.support import wait_for

pytestmark = pytest.mark.integration


API_KEY = "flow-test-api-key-000000000000000000"


def settings_for(prefix: str, tmp_path: object) -> CoreSettings:
    return load_settings(
        CoreSettings,
        COMRADARR_BUS_PREFIX=prefix,
        COMRADARR_DATA_DIR=str(tmp_path),
        COMRADARR_DB_POOL_MIN=1,
        COMRADARR_DB_POOL_MAX=5,
        COMRADARR_SHUTDOWN_TIMEOUT=5,
        SECRET_KEY="flow-test-secret-key-0123456789abcdef0123",
    )


async def test_scheduled_sweep_reaches_the_arr_app(
    database_url: str, nats_url: str, bus_prefix: str, pool: asyncpg.Pool, tmp_path: object
) -> None:
    """Schedule (Berlin time) -> sync -> discovery -> dispatcher -> a search at the app."""
    sim = Simulator(
        flavor=Flavor.SONARR_V3,
        api_key=API_KEY,
        spec=LibrarySpec(series=6, seasons=2, episodes_per_season=6, movies=0),
    )
    server = serve_in_thread(sim)
    settings = settings_for(bus_prefix, tmp_path)
    runner = Runner(
        [load_service(n) for n in sorted(available_services())],
        settings=settings,
        database_url=database_url,
        nats_url=nats_url,
        http_port=None,
        client_name="flow-test",
    )
    try:
        async with pool.acquire() as conn:
            connector = await create_connector(
                conn,
                box=SecretBox(settings.resolved_secret_key()),
                type="sonarr",
                name="Sim TV",
                url=server.url,
                api_key=API_KEY,
            )
        await runner.start()
        assert gc.get_freeze_count() > 0  # what the start left alive is out of the collector's way
        schedule_id = await pool.fetchval(
            "INSERT INTO schedules (connector_id, cron, timezone, next_run_at, sync_mode)"
            " VALUES ($1, '0 3 * * *', 'Europe/Berlin', $2, 'full') RETURNING id",
            connector.id,
            datetime.now(UTC) - timedelta(seconds=1),
        )

        def searched() -> bool:
            return any(r.method == "POST" and r.path.endswith("/command") for r in sim.requests)

        await wait_for(searched, timeout=60)
        run = await pool.fetchrow("SELECT * FROM sync_runs WHERE connector_id = $1", connector.id)
        assert run is not None
        assert (run["mode"], run["outcome"]) == ("full", "success")
        assert run["message_id"].startswith(f"sweep:{schedule_id}:")
        discovery = await pool.fetchrow("SELECT * FROM discovery_runs")
        assert discovery is not None
        # The correlation id travels with the work from the command to the last event.
        assert discovery["correlation_id"] == run["correlation_id"]
        assert await pool.fetchval("SELECT count(*) FROM search_registry") > 0
        # Recorded once the app has answered the command (just after the request above).
        await wait_for(lambda: pool.fetchval("SELECT count(*) > 0 FROM search_history"), timeout=10)
        # Nothing was sent with the key in the URL, and every call carried it as a header.
        assert all(API_KEY not in r.query for r in sim.requests)
        assert all(r.api_key_header for r in sim.requests if r.path != "/ping")
        schedule = await pool.fetchrow("SELECT * FROM schedules WHERE id = $1", schedule_id)
        assert schedule is not None and schedule["next_run_at"] > datetime.now(UTC)
    finally:
        await runner.stop()
        server.stop()
    assert gc.get_freeze_count() == 0


async def test_two_scheduler_replicas_fire_once(
    database_url: str, nats_url: str, bus_prefix: str, pool: asyncpg.Pool, tmp_path: object
) -> None:
    settings = settings_for(bus_prefix, tmp_path)
    replicas = [
        Runner(
            [load_service(n)],
            settings=settings,
            database_url=database_url,
            nats_url=nats_url,
            http_port=None,
            client_name=f"replica-{i}-{n}",
        )
        for i in range(2)
        for n in ("scheduler", "sync")
    ]
    for r in replicas:
        await r.start()
    try:
        # Connectors that do not exist in reality: each sync fails or skips, once.
        await pool.executemany(
            "INSERT INTO connectors (id, type, name, url) OVERRIDING SYSTEM VALUE"
            " VALUES ($1::int, 'sonarr', 'TV ' || $1::text, 'http://127.0.0.1:9')",
            [(c,) for c in range(1, 11)],
        )
        await pool.executemany(
            "INSERT INTO schedules (connector_id, cron, next_run_at) VALUES ($1, '* * * * *', $2)",
            [(c, datetime.now(UTC) - timedelta(seconds=5)) for c in range(1, 11)],
        )
        await wait_for(lambda: pool.fetchval("SELECT count(*) = 10 FROM sync_runs"), timeout=20)
        await asyncio.sleep(1.0)
        assert await pool.fetchval("SELECT count(*) FROM sync_runs") == 10
    finally:
        for r in replicas:
            await r.stop()
