"""The backup schedule: fire RequestBackup at its cron times (in its time zone).

The gateway writes the schedule and does the backup (its folder is where the API lists and
serves backups); the scheduler only keeps time, as it does for sweeps: the row is locked
while due, the next run advanced, and the message id is the fire time, so two replicas or a
retried tick publish it once.
"""

from __future__ import annotations

from datetime import datetime

import structlog
from comradarr_db import Connection
from comradarr_proto import RequestBackup
from comradarr_runtime import ServiceContext

from ._cron import next_fire

log = structlog.get_logger(__name__)

_ROW = (
    "SELECT enabled, cron, timezone, next_run_at FROM backup_schedule"
    " WHERE enabled FOR UPDATE SKIP LOCKED"
)


async def _advance(conn: Connection, cron: str, tz: str, now: datetime) -> None:
    await conn.execute(
        "UPDATE backup_schedule SET next_run_at = $1", next_fire(cron, tz=tz, after=now)
    )


async def fire_backup_if_due(ctx: ServiceContext, *, now: datetime) -> bool:
    """Publish a backup request when the schedule is due; True when one was published."""
    async with ctx.pool.acquire() as conn, conn.transaction():
        row = await conn.fetchrow(_ROW)
        if row is None:
            return False
        if row["next_run_at"] is None:
            # Just enabled or changed: the first run is the next cron time from now.
            await _advance(conn, row["cron"], row["timezone"], now)
            return False
        if row["next_run_at"] > now:
            return False
        fire_time: datetime = row["next_run_at"]
        await ctx.bus.publish(RequestBackup.scheduled(fire_time=fire_time))
        await _advance(conn, row["cron"], row["timezone"], now)
        await conn.execute("UPDATE backup_schedule SET last_fired_at = $1", now)
    log.info("backup fired", fire_time=fire_time.isoformat())
    return True
