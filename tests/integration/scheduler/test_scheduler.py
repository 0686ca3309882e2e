"""Scheduler: protect (skip while a sweep runs or the connector is unhealthy), summaries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from comradarr_bus import Bus, Delivery
from comradarr_proto import DiscoveryCompleted, SyncCompleted
from comradarr_runtime import ServiceContext
from comradarr_scheduler.service import Scheduler
from comradarr_settings import CoreSettings, load_settings

pytestmark = pytest.mark.integration
SECRET = "test-secret-key-that-is-long-enough-0123456789"


async def test_protect_and_summary(pool: asyncpg.Pool, nats_url: str, bus_prefix: str) -> None:
    bus = Bus(url=nats_url, prefix=bus_prefix, client_name="sched-test", pool=pool)
    await bus.connect()
    try:
        ctx = ServiceContext(
            name="scheduler",
            settings=load_settings(CoreSettings, COMRADARR_BUS_PREFIX=bus_prefix),
            pool=pool,
            bus=bus,
            secret_key=SECRET,
        )
        s = Scheduler(ctx=ctx)
        due = datetime.now(UTC) - timedelta(seconds=1)
        await pool.execute(
            "INSERT INTO connectors (id, type, name, url) OVERRIDING SYSTEM VALUE"
            " VALUES (3, 'sonarr', 'TV', 'http://127.0.0.1:9')"
        )
        sid = await pool.fetchval(
            "INSERT INTO schedules (connector_id, cron, timezone, next_run_at)"
            " VALUES (3, '*/5 * * * *', 'Asia/Tokyo', $1) RETURNING id",
            due,
        )
        assert await s.fire_due() == 1
        run = await pool.fetchrow("SELECT * FROM sweep_runs WHERE schedule_id = $1", sid)
        assert run["status"] == "fired" and run["correlation_id"].startswith(f"sweep-{sid}-")
        # Due again while the first sweep still runs: skipped and recorded.
        await pool.execute(
            "UPDATE schedules SET next_run_at = $2 WHERE id = $1", sid, due - timedelta(minutes=5)
        )
        assert await s.fire_due() == 0
        skipped = await pool.fetchrow("SELECT * FROM sweep_runs WHERE status = 'skipped'")
        assert skipped is not None and "still running" in skipped["reason"]
        nxt = await pool.fetchval("SELECT next_run_at FROM schedules WHERE id = $1", sid)
        assert nxt > datetime.now(UTC)
        # The summary: sync then discovery with the sweep's correlation id.
        corr = run["correlation_id"]

        def delivery(mid: str) -> Delivery:
            return Delivery(consumer="c", subject="s", message_id=mid, attempt=1, pool=pool)

        await s.on_discovery_completed(
            DiscoveryCompleted(
                correlation_id=corr,
                connector_id=3,
                gaps_found=7,
                upgrades_found=2,
                entries_created=5,
            ),
            delivery("d1"),
        )
        await s.on_sync_completed(
            SyncCompleted(
                correlation_id=corr,
                connector_id=3,
                sync_run_id=1,
                sync_mode="incremental",
                sweep_type="both",
                outcome="success",
                fetched=40,
            ),
            delivery("s1"),
        )
        done = await pool.fetchrow("SELECT * FROM sweep_runs WHERE correlation_id = $1", corr)
        assert done["status"] == "completed"
        assert (done["items_synced"], done["gaps_found"], done["items_queued"]) == (40, 7, 5)
    finally:
        await bus.stop()
