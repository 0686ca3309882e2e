"""A maintenance run over real NATS and PostgreSQL: every service prunes its own tables by
the retention settings, the scheduler gathers the reports and vacuums."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest
from comradarr_bus import Bus
from comradarr_crypto import SecretBox
from comradarr_proto import MAINTENANCE_SERVICES, MaintenanceStepCompleted, RequestMaintenance
from comradarr_runtime import Runner, ServiceContext, available_services, load_service
from comradarr_scheduler.upkeep import Upkeep
from comradarr_settings import CoreSettings, load_settings

from tests.support import wait_for

from .seed import ORPHAN, seed

pytestmark = pytest.mark.integration

SECRET = "maintenance-test-secret-key-0123456789abcdef"


def _settings(prefix: str, tmp: Path) -> CoreSettings:
    return load_settings(
        CoreSettings,
        COMRADARR_BUS_PREFIX=prefix,
        COMRADARR_DATA_DIR=str(tmp),
        COMRADARR_DB_POOL_MIN=1,
        COMRADARR_DB_POOL_MAX=6,
        COMRADARR_SHUTDOWN_TIMEOUT=5,
        SECRET_KEY=SECRET,
    )


async def _count(pool: asyncpg.Pool, table: str) -> int:
    return int(await pool.fetchval(f"SELECT count(*) FROM {table}"))  # noqa: S608


async def _finished(pool: asyncpg.Pool) -> asyncpg.Record | None:
    return await pool.fetchrow(
        "SELECT * FROM maintenance_runs WHERE status IN ('completed', 'partial')"
    )


async def test_run_now_prunes_every_table_by_the_settings(
    database_url: str, nats_url: str, bus_prefix: str, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    now = datetime.now(UTC)
    await pool.execute(
        "INSERT INTO users (username, password_hash) VALUES ('admin', '$argon2id$x')"
    )
    await seed(pool, box=SecretBox(SECRET), now=now)
    # A setting the user changed applies: history kept 30 days instead of 90.
    await pool.execute(
        "INSERT INTO settings (key, value) VALUES ('maintenance.search_history_days', '30')"
    )
    await pool.execute(
        "INSERT INTO search_history (registry_id, connector_id, search_type, outcome, started_at)"
        " SELECT max(id), 1, 'gap', 'not_found', $1 FROM search_registry",
        now - timedelta(days=45),
    )
    runner = Runner(
        [load_service(n) for n in sorted(available_services())],
        settings=_settings(bus_prefix, tmp_path),
        database_url=database_url,
        nats_url=nats_url,
        http_port=None,
        client_name="maintenance-test",
    )
    await runner.start()
    try:
        await runner.contexts[0].bus.publish(RequestMaintenance(requested_by="test"))

        async def done() -> bool:
            return await _finished(pool) is not None

        await wait_for(done, timeout=60)
    finally:
        await runner.stop()
    run = await _finished(pool)
    assert run is not None
    assert run["status"] == "completed", run["error"]
    assert run["trigger"] == "manual" and run["requested_by"] == "test"
    assert set(run["steps"]) == set(MAINTENANCE_SERVICES)
    assert "search_history" in run["vacuumed"] and run["vacuum_seconds"] >= 0
    steps = run["steps"]
    # History: three 400-day rows and the 45-day one (the 30-day setting applies).
    assert steps["dispatcher"]["removed"]["search_history"] == 4
    assert steps["dispatcher"]["removed"]["search_registry"] == 1
    assert not await pool.fetchval(
        "SELECT count(*) FROM search_history WHERE started_at < $1", now - timedelta(days=2)
    )
    assert await pool.fetchval(
        "SELECT count(*) FROM search_history WHERE started_at = $1", now - timedelta(days=1)
    )
    folded = await pool.fetchval("SELECT sum(count) FROM search_history_daily")
    assert folded == 4  # every removed history row is counted in its day
    assert (
        await pool.fetchval("SELECT count FROM search_history_daily WHERE outcome = 'found'") == 1
    )
    # The recently exhausted entry and the pending ones stay.
    assert await _count(pool, "search_registry") == 3
    # Each table: nothing 400 days old is left, the day-old row stays.
    columns = {
        "api_key_usage": "used_at",
        "connector_health_history": "checked_at",
        "sync_runs": "started_at",
        "discovery_runs": "created_at",
        "sweep_runs": "fired_at",
        "processed_messages": "processed_at",
        "dead_letters": "created_at",
        "webhook_found": "received_at",
        "sessions": "created_at",
    }
    for table, column in columns.items():
        ages = await pool.fetch(f"SELECT {column} AS at FROM {table}")  # noqa: S608
        assert all(r["at"] > now - timedelta(days=2) for r in ages), table
        assert any(r["at"] == now - timedelta(days=1) for r in ages), table
    for table in ("sync_runs", "discovery_runs", "sweep_runs", "webhook_found"):
        orphans = await pool.fetchval(
            f"SELECT count(*) FROM {table} WHERE connector_id = $1",  # noqa: S608
            ORPHAN,
        )
        assert orphans == 0, table
    assert run["removed"] == sum(sum(s["removed"].values()) for s in steps.values())


@asynccontextmanager
async def _context(
    nats_url: str, prefix: str, pool: asyncpg.Pool, tmp: Path
) -> AsyncIterator[ServiceContext]:
    """A scheduler's context without its loops (the test drives the clock)."""
    bus = Bus(url=nats_url, prefix=prefix, client_name="maintenance-test", pool=pool)
    await bus.connect(retry_for=5)
    try:
        yield ServiceContext(
            name="scheduler",
            settings=_settings(prefix, tmp),
            pool=pool,
            bus=bus,
            secret_key=SECRET,
        )
    finally:
        await bus.stop(timeout=1)


async def test_a_report_delivered_twice_counts_once(
    nats_url: str, bus_prefix: str, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    async with _context(nats_url, bus_prefix, pool, tmp_path) as ctx:
        upkeep = Upkeep(ctx=ctx, services=("sync", "notifier"))
        async with pool.acquire() as conn, conn.transaction():
            run_id = await upkeep.start(
                conn, trigger="manual", requested_by="t", request_id="manual:twice"
            )
            again = await upkeep.start(
                conn, trigger="manual", requested_by="t", request_id="manual:twice"
            )
        assert run_id is not None and again is None
        step = MaintenanceStepCompleted(
            run_id=run_id, service="sync", removed={"sync_runs": 5}, seconds=0.1
        )
        for _ in range(2):  # a redelivery (or a second replica's report)
            await upkeep.on_step(step, delivery=None)  # type: ignore[arg-type]
        row = await pool.fetchrow("SELECT * FROM maintenance_runs WHERE id = $1", run_id)
        assert row["removed"] == 5 and row["status"] == "running"
        # The notifier never reports: after the wait the run closes as partial, vacuumed.
        assert await upkeep.finish(run_id, force=True)
        assert not await upkeep.finish(run_id, force=True)  # closed once
        row = await pool.fetchrow("SELECT * FROM maintenance_runs WHERE id = $1", run_id)
        assert row["status"] == "partial"
        assert "no report from notifier" in row["error"]
        assert row["vacuumed"]


async def test_the_cron_fires_once_in_the_user_time_zone(
    nats_url: str, bus_prefix: str, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    clock = [datetime(2026, 3, 1, 2, 0, tzinfo=UTC)]
    async with _context(nats_url, bus_prefix, pool, tmp_path) as ctx:
        await pool.execute(
            "INSERT INTO settings (key, value) VALUES ('general.timezone', '\"Europe/Berlin\"'),"
            " ('maintenance.cron', '\"30 3 * * *\"')"
        )
        upkeep = Upkeep(ctx=ctx, clock=lambda: clock[0], services=("sync",))
        assert await upkeep.tick() is None  # first tick: computes the next run
        nxt = await pool.fetchval("SELECT next_run_at FROM maintenance_schedule")
        assert nxt == datetime(2026, 3, 1, 2, 30, tzinfo=UTC)  # 03:30 in Berlin (CET)
        clock[0] = nxt + timedelta(seconds=1)
        first = await upkeep.tick()
        assert first is not None
        assert await upkeep.tick() is None  # not twice
        assert await pool.fetchval("SELECT next_run_at FROM maintenance_schedule") == datetime(
            2026, 3, 2, 2, 30, tzinfo=UTC
        )
        # Turned off: no schedule, nothing fires.
        await pool.execute(
            "INSERT INTO settings (key, value) VALUES ('maintenance.enabled', 'false')"
        )
        clock[0] += timedelta(days=3)
        assert await upkeep.tick() is None
        assert await pool.fetchval("SELECT count(*) FROM maintenance_schedule") == 0


async def test_a_large_history_is_pruned_in_batches(
    database_url: str, nats_url: str, bus_prefix: str, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    """200,000 history rows past retention: folded and deleted; the time is printed."""
    now = datetime.now(UTC)
    await seed(pool, box=SecretBox(SECRET), now=now)
    await pool.execute(
        "INSERT INTO search_history (registry_id, connector_id, search_type, outcome, started_at)"
        " SELECT (SELECT max(id) FROM search_registry), 1, 'gap', 'not_found',"
        " $1::timestamptz - (g % 300) * interval '1 day' FROM generate_series(1, 200000) g",
        now - timedelta(days=100),
    )
    from comradarr_dispatcher.queue import prune_history

    started = time.perf_counter()
    async with pool.acquire() as conn:
        removed = await prune_history(conn, retention_days=90, now=now)
    seconds = time.perf_counter() - started
    print(f"pruned {removed} history rows in {seconds:.2f} s")
    assert removed >= 200000
    assert await pool.fetchval("SELECT sum(count) FROM search_history_daily") == removed


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "comradarr_runtime.cli", "maintenance", *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)


async def test_the_cli_starts_a_run_and_shows_it(
    database_url: str, nats_url: str, bus_prefix: str, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    runner = Runner(
        [load_service(n) for n in sorted(available_services())],
        settings=_settings(bus_prefix, tmp_path),
        database_url=database_url,
        nats_url=nats_url,
        http_port=None,
        client_name="maintenance-cli",
    )
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("TEST_")},
        "DATABASE_URL": database_url,
        "NATS_URL": nats_url,
        "COMRADARR_BUS_PREFIX": bus_prefix,
        "COMRADARR_DATA_DIR": str(tmp_path / "cli"),
    }
    await runner.start()
    try:
        await pool.execute(
            "INSERT INTO dead_letters (consumer, subject, deliveries, error, payload, created_at)"
            " VALUES ('t', 'x', 5, 'boom', '{}', now() - interval '400 days')"
        )
        done = await asyncio.to_thread(_cli, env, "run", "--wait")
    finally:
        await runner.stop()
    assert done.returncode == 0, done.stderr
    assert "manual completed" in done.stdout and "dead_letters 1" in done.stdout
    status = await asyncio.to_thread(_cli, env, "status")
    assert status.returncode == 0, status.stderr
    assert "database:" in status.stdout and "#1 " in status.stdout
