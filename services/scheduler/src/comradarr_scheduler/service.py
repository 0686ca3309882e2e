"""Scheduler: fires sweep commands when schedules come due, in their time zone."""

from __future__ import annotations

from datetime import UTC, datetime

import structlog
from comradarr_proto import RequestSweep
from comradarr_runtime import ServiceContext, ServiceDefinition

from ._cron import next_fire

log = structlog.get_logger(__name__)

TICK_SECONDS = 2.0
_DUE = """
SELECT id, connector_id, sweep_type, sync_mode, cron, timezone, next_run_at
FROM schedules
WHERE enabled AND (next_run_at IS NULL OR next_run_at <= $1)
ORDER BY next_run_at NULLS FIRST
LIMIT 100
FOR UPDATE SKIP LOCKED
"""


async def fire_due(ctx: ServiceContext, *, now: datetime | None = None) -> int:
    """Publish a sweep per due schedule and advance its next run; returns how many fired.

    The publish happens inside the row-locking transaction: if the commit fails the next
    tick publishes again with the same message id, which JetStream drops as a duplicate.
    """
    now = now or datetime.now(UTC)
    fired = 0
    async with ctx.pool.acquire() as conn, conn.transaction():
        for row in await conn.fetch(_DUE, now):
            nxt = next_fire(row["cron"], tz=row["timezone"], after=now)
            if row["next_run_at"] is not None:
                await ctx.bus.publish(
                    RequestSweep.from_schedule(
                        schedule_id=row["id"],
                        fire_time=row["next_run_at"],
                        connector_id=row["connector_id"],
                        sweep_type=row["sweep_type"],
                        sync_mode=row["sync_mode"],
                    )
                )
                fired += 1
                log.info("sweep fired", schedule_id=row["id"], connector_id=row["connector_id"])
            await conn.execute(
                "UPDATE schedules SET next_run_at = $2,"
                " last_fired_at = CASE WHEN next_run_at IS NULL THEN last_fired_at ELSE $3 END"
                " WHERE id = $1",
                row["id"],
                nxt,
                now,
            )
    return fired


async def run_loop(ctx: ServiceContext) -> None:
    """Check for due schedules every tick until the service stops."""
    while True:
        try:
            await fire_due(ctx)
        except Exception:
            # Database or NATS briefly away: log and try again next tick.
            log.warning("schedule tick failed", exc_info=True)
        if not await ctx.sleep(TICK_SECONDS):
            return


definition = ServiceDefinition(
    name="scheduler",
    description="fires sweeps on cron schedules in their time zone",
    loops=lambda ctx: [run_loop(ctx)],
)
