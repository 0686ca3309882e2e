"""Maintenance runs: the cron that starts them, the fan-out to every service, the reports
gathered into one run, and the VACUUM (ANALYZE) of the busy tables that ends it.

Only the scheduler writes maintenance_runs and maintenance_schedule. Each service prunes
its own tables (comradarr_runtime.maintenance); this module is the scheduler's own part too
(sweep runs, processed-message markers, dead letters, old maintenance runs).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from comradarr_bus import Delivery
from comradarr_db import Connection
from comradarr_proto import (
    MAINTENANCE_SERVICES,
    MaintenanceCompleted,
    MaintenanceStepCompleted,
    RequestMaintenance,
    RunMaintenance,
)
from comradarr_runtime import (
    ServiceContext,
    cutoff,
    delete_in_batches,
    delete_orphans,
    read_maintenance_settings,
)
from comradarr_settings import MaintenanceSettings

from ._cron import is_valid, next_fire

log = structlog.get_logger(__name__)

# Tables that churn: vacuumed and analysed at the end of every run (those that exist).
BUSY_TABLES = (
    "search_registry",
    "search_history",
    "search_history_daily",
    "dispatch_commands",
    "queue_state",
    "throttle_state",
    "episodes",
    "seasons",
    "series",
    "movies",
    "sync_runs",
    "discovery_runs",
    "sweep_runs",
    "connector_health_history",
    "api_key_usage",
    "sessions",
    "login_failures",
    "processed_messages",
    "dead_letters",
    "webhook_found",
    "notification_deliveries",
    "analytics_hourly",
    "analytics_daily",
    "analytics_latency_hourly",
    "analytics_latency_daily",
)
# A service that has not reported by then is taken as down: the run ends "partial".
STEP_TIMEOUT = timedelta(minutes=15)
# A run left 'vacuuming' this long (its scheduler died mid-way) is closed as partial.
VACUUM_TIMEOUT = timedelta(hours=2)
# Old runs beyond the run-history age go, but the latest ones always stay.
KEEP_RUNS = 20


def _utcnow() -> datetime:
    return datetime.now(UTC)


async def prune(ctx: ServiceContext, s: MaintenanceSettings, now: datetime) -> dict[str, int]:
    """The scheduler's own tables and the shared message bookkeeping; rows removed."""
    runs = cutoff(now, s.run_history_days)
    return {
        "sweep_runs": await delete_in_batches(
            ctx, table="sweep_runs", where="status <> 'fired' AND fired_at < $1", args=(runs,)
        )
        + await delete_orphans(ctx, table="sweep_runs"),
        "processed_messages": await delete_in_batches(
            ctx,
            table="processed_messages",
            where="processed_at < $1",
            args=(cutoff(now, s.processed_messages_days),),
        ),
        "dead_letters": await delete_in_batches(
            ctx,
            table="dead_letters",
            where="created_at < $1",
            args=(cutoff(now, s.dead_letters_days),),
        ),
        "maintenance_runs": await delete_in_batches(
            ctx,
            table="maintenance_runs",
            where="started_at < $1 AND status IN ('completed', 'partial') AND id NOT IN"
            " (SELECT id FROM maintenance_runs ORDER BY id DESC LIMIT $2)",
            args=(runs, KEEP_RUNS),
        ),
        # A rotation's handed-over key, once a process started with the old key may no
        # longer switch with it.
        "secret_key_handoffs": await delete_in_batches(
            ctx, table="secret_key_handoffs", where="expires_at < $1", args=(now,)
        ),
    }


async def general_timezone(conn: Connection) -> str:
    """The time zone the user set (general.timezone), UTC when unset."""
    value = await conn.fetchval("SELECT value FROM settings WHERE key = 'general.timezone'")
    return str(value) if value else "UTC"


@dataclass
class Upkeep:
    """Starts maintenance runs and closes them."""

    ctx: ServiceContext
    clock: Callable[[], datetime] = _utcnow
    services: tuple[str, ...] = field(default=MAINTENANCE_SERVICES)

    # --- starting -----------------------------------------------------------------------

    async def tick(self) -> int | None:
        """Start the scheduled run when its cron came due; returns its id if one started."""
        now = self.clock()
        async with self.ctx.pool.acquire() as conn, conn.transaction():
            settings = await read_maintenance_settings(conn)
            tz = await general_timezone(conn)
            row = await conn.fetchrow("SELECT * FROM maintenance_schedule FOR UPDATE")
            if not settings.enabled or not is_valid(settings.cron):
                await conn.execute("DELETE FROM maintenance_schedule")
                return None
            if row is None or row["cron"] != settings.cron or row["timezone"] != tz:
                await conn.execute(
                    "INSERT INTO maintenance_schedule (cron, timezone, next_run_at)"
                    " VALUES ($1, $2, $3) ON CONFLICT (singleton) DO UPDATE"
                    " SET cron = $1, timezone = $2, next_run_at = $3",
                    settings.cron,
                    tz,
                    next_fire(settings.cron, tz=tz, after=now),
                )
                return None
            if row["next_run_at"] > now:
                return None
            fire_time: datetime = row["next_run_at"]
            await conn.execute(
                "UPDATE maintenance_schedule SET next_run_at = $1",
                next_fire(settings.cron, tz=tz, after=now),
            )
            return await self.start(
                conn,
                trigger="schedule",
                requested_by="scheduler",
                request_id=f"schedule:{fire_time.isoformat()}",
            )

    async def start(
        self, conn: Connection, *, trigger: str, requested_by: str, request_id: str
    ) -> int | None:
        """Record a run and ask every service for its part (inside the caller's
        transaction: a failed commit republishes with the same ids, which JetStream drops)."""
        run_id = await conn.fetchval(
            "INSERT INTO maintenance_runs (trigger, requested_by, request_id, started_at)"
            " VALUES ($1, $2, $3, $4) ON CONFLICT (request_id) DO NOTHING RETURNING id",
            trigger,
            requested_by,
            request_id,
            self.clock(),
        )
        if run_id is None:
            return None
        for service in self.services:
            await self.ctx.bus.publish(
                RunMaintenance(
                    message_id=f"maintenance:{run_id}:{service}",
                    correlation_id=f"maintenance-{run_id}",
                    run_id=run_id,
                    service=service,  # type: ignore[arg-type]
                    occurred_at=self.clock(),
                )
            )
        log.info("maintenance run started", run_id=run_id, trigger=trigger)
        return int(run_id)

    async def on_request(self, msg: RequestMaintenance, delivery: Delivery) -> None:
        """Run now (from the gateway or the CLI), unless a run is still going."""
        async with self.ctx.pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext('comradarr-maintenance'))")
            running = await conn.fetchval(
                "SELECT id FROM maintenance_runs WHERE status IN ('running', 'vacuuming')"
            )
            if running is not None:
                log.info("maintenance already running", run_id=running)
                return
            await self.start(
                conn,
                trigger="manual",
                requested_by=msg.requested_by,
                request_id=f"manual:{delivery.message_id}",
            )

    # --- gathering reports ----------------------------------------------------------------

    async def on_step(self, msg: MaintenanceStepCompleted, delivery: Delivery) -> None:
        """Add a service's report to its run (once), and close the run when all are in."""
        step = {"removed": msg.removed, "seconds": msg.seconds, "error": msg.error}
        async with self.ctx.pool.acquire() as conn:
            await conn.execute(
                "UPDATE maintenance_runs"
                " SET steps = steps || jsonb_build_object($2::text, $3::jsonb),"
                " removed = removed + $4 WHERE id = $1 AND NOT steps ? $2",
                msg.run_id,
                msg.service,
                step,
                sum(msg.removed.values()),
            )
        await self.finish(msg.run_id)

    async def finish(self, run_id: int, *, force: bool = False) -> bool:
        """VACUUM (ANALYZE) and close the run once every service reported (or force, after
        the wait ran out); one replica claims it. Returns whether this call closed it."""
        async with self.ctx.pool.acquire() as conn:
            row = await conn.fetchrow(
                "UPDATE maintenance_runs SET status = 'vacuuming' WHERE id = $1"
                " AND status = 'running'"
                " AND ($2 OR (SELECT count(*) FROM jsonb_object_keys(steps)) >= $3)"
                " RETURNING started_at, steps, removed",
                run_id,
                force,
                len(self.services),
            )
        if row is None:
            return False
        steps: dict[str, Any] = row["steps"]
        missing = [s for s in self.services if s not in steps]
        failed = [s for s, v in steps.items() if v.get("error")]
        started = time.perf_counter()
        vacuumed, error = await self.vacuum()
        vacuum_seconds = round(time.perf_counter() - started, 3)
        status = "partial" if missing or failed or error else "completed"
        problems = [f"no report from {', '.join(missing)}"] if missing else []
        problems += [f"{s} failed: {steps[s]['error']}" for s in failed]
        problems += [error] if error else []
        finished_at = self.clock()
        async with self.ctx.pool.acquire() as conn:
            await conn.execute(
                "UPDATE maintenance_runs SET status = $2, finished_at = $3, vacuumed = $4,"
                " vacuum_seconds = $5, error = $6 WHERE id = $1",
                run_id,
                status,
                finished_at,
                vacuumed,
                vacuum_seconds,
                "; ".join(problems)[:2000] or None,
            )
        seconds = max((finished_at - row["started_at"]).total_seconds(), 0.0)
        log.info(
            "maintenance run finished",
            run_id=run_id,
            status=status,
            removed=row["removed"],
            seconds=round(seconds, 3),
            vacuum_seconds=vacuum_seconds,
        )
        await self.ctx.bus.publish(
            MaintenanceCompleted(
                message_id=f"maintenance.completed:{run_id}",
                correlation_id=f"maintenance-{run_id}",
                run_id=run_id,
                status=status,  # type: ignore[arg-type]
                removed=row["removed"],
                seconds=round(seconds, 3),
                missing=missing,
            )
        )
        return True

    async def vacuum(self) -> tuple[list[str], str | None]:
        """VACUUM (ANALYZE) each busy table that exists; (tables done, first error)."""
        done: list[str] = []
        error = None
        async with self.ctx.pool.acquire() as conn:
            for table in BUSY_TABLES:
                if self.ctx.stopping.is_set():
                    return done, "stopped before the vacuum finished"
                if await conn.fetchval("SELECT to_regclass($1)", table) is None:
                    continue
                try:
                    # Outside any transaction (VACUUM refuses one); names are constants.
                    await conn.execute(f"VACUUM (ANALYZE) {table}")
                except Exception as exc:  # one table (locked, no privilege) must not stop the rest
                    error = error or f"VACUUM {table}: {exc}"
                    continue
                done.append(table)
        return done, error

    async def close_overdue(self) -> int:
        """Close runs whose services did not all report in time; returns how many."""
        now = self.clock()
        async with self.ctx.pool.acquire() as conn:
            ids = await conn.fetch(
                "SELECT id FROM maintenance_runs WHERE status = 'running' AND started_at < $1",
                now - STEP_TIMEOUT,
            )
            await conn.execute(
                "UPDATE maintenance_runs SET status = 'partial', finished_at = $1,"
                " error = coalesce(error, 'the vacuum did not finish (scheduler stopped?)')"
                " WHERE status = 'vacuuming' AND started_at < $2",
                now,
                now - VACUUM_TIMEOUT,
            )
        closed = 0
        for row in ids:
            closed += await self.finish(row["id"], force=True)
        return closed

    async def loop(self, tick_seconds: float = 10.0) -> None:
        """Fire the maintenance cron and close overdue runs until the service stops."""
        while True:
            try:
                await self.tick()
                await self.close_overdue()
            except Exception:
                log.warning("maintenance tick failed", exc_info=True)
            if not await self.ctx.sleep(tick_seconds):
                return
