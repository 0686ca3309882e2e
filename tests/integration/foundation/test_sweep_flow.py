"""One sweep followed from scheduler through sync and discovery to dispatcher, over real NATS."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from comradarr_runtime import Runner, available_services, load_service
from comradarr_settings import CoreSettings, load_settings

from tests.support import wait_for

pytestmark = pytest.mark.integration


def settings_for(prefix: str, tmp_path: object) -> CoreSettings:
    return load_settings(
        CoreSettings,
        COMRADARR_BUS_PREFIX=prefix,
        COMRADARR_DATA_DIR=str(tmp_path),
        COMRADARR_DB_POOL_MIN=1,
        COMRADARR_DB_POOL_MAX=5,
        COMRADARR_SHUTDOWN_TIMEOUT=5,
    )


async def test_scheduled_sweep_reaches_the_dispatcher(
    database_url: str, nats_url: str, bus_prefix: str, pool: asyncpg.Pool, tmp_path: object
) -> None:
    names = sorted(available_services())
    runner = Runner(
        [load_service(n) for n in names],
        settings=settings_for(bus_prefix, tmp_path),
        database_url=database_url,
        nats_url=nats_url,
        http_port=None,
        client_name="flow-test",
    )
    await runner.start()
    try:
        due = datetime.now(UTC) - timedelta(seconds=1)
        schedule_id = await pool.fetchval(
            "INSERT INTO schedules (connector_id, cron, timezone, next_run_at, sync_mode)"
            " VALUES (7, '0 3 * * *', 'Europe/Berlin', $1, 'full') RETURNING id",
            due,
        )
        await wait_for(lambda: pool.fetchval("SELECT count(*) FROM dispatcher_wakeups"), timeout=20)
        run = await pool.fetchrow("SELECT * FROM sync_runs")
        assert run is not None
        assert (run["connector_id"], run["mode"], run["outcome"]) == (7, "full", "success")
        assert run["message_id"].startswith(f"sweep:{schedule_id}:")
        discovery = await pool.fetchrow("SELECT * FROM discovery_runs")
        assert discovery is not None and discovery["sync_run_id"] == run["id"]
        # The correlation id travels with the work from the first command to the last event.
        wake = await pool.fetchrow("SELECT * FROM dispatcher_wakeups")
        assert wake is not None
        assert run["correlation_id"] == discovery["correlation_id"] == wake["correlation_id"]
        schedule = await pool.fetchrow("SELECT * FROM schedules WHERE id = $1", schedule_id)
        assert schedule is not None and schedule["next_run_at"] > datetime.now(UTC)
        await wait_for(
            lambda: pool.fetchval(
                "SELECT count(*) FROM analytics_hourly WHERE metric = 'sync_success'"
            )
        )
        # The next tick must not fire the same schedule again.
        await asyncio.sleep(2.5)
        assert await pool.fetchval("SELECT count(*) FROM sync_runs") == 1
    finally:
        await runner.stop()


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
