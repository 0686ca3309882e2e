"""A service's part of a maintenance run: prune its own tables, then report what went.

The scheduler publishes one ``RunMaintenance`` per service; each service that declares
``ServiceDefinition.maintenance`` gets a durable consumer for its own subject. Cutoffs are
computed from the command's time, so a redelivered command removes nothing more than the
first delivery would have, and the report carries a fixed message id (JetStream keeps one).
"""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

import structlog
from comradarr_bus import Delivery, Subscription
from comradarr_db import Connection
from comradarr_proto import MaintenanceStepCompleted, RunMaintenance
from comradarr_settings import MAINTENANCE_PREFIX, MaintenanceSettings, maintenance_from_rows

from ._service import ServiceContext

log = structlog.get_logger(__name__)

# What a service prunes: its context, the settings as they are now, the run's time;
# returns rows removed per table.
Prune = Callable[[ServiceContext, MaintenanceSettings, datetime], Awaitable[dict[str, int]]]

# Rows deleted per statement: short transactions, so a prune never holds locks that the
# service's own hot path waits on for long.
DELETE_BATCH = 5000
_IDENT = re.compile(r"^[a-z_][a-z0-9_]*$")


async def read_maintenance_settings(conn: Connection) -> MaintenanceSettings:
    """The maintenance settings as stored by the gateway (defaults where unset)."""
    rows = await conn.fetch(
        "SELECT key, value FROM settings WHERE key LIKE $1", MAINTENANCE_PREFIX + "%"
    )
    return maintenance_from_rows({r["key"]: r["value"] for r in rows})


def cutoff(now: datetime, days: int) -> datetime:
    """The moment before which rows are older than days."""
    return now - timedelta(days=days)


async def delete_in_batches(
    ctx: ServiceContext, *, table: str, where: str, args: tuple[object, ...] = ()
) -> int:
    """Delete the rows of table matching where (SQL written in code, values as $1..) in
    batches of DELETE_BATCH; returns how many went."""
    if not _IDENT.fullmatch(table):
        raise ValueError(f"invalid table name {table!r}")
    sql = (
        f"DELETE FROM {table} WHERE ctid = ANY (ARRAY("  # noqa: S608 - table checked above
        f"SELECT ctid FROM {table} WHERE {where} LIMIT {DELETE_BATCH}))"
    )
    total = 0
    while True:
        status = await ctx.pool.execute(sql, *args)
        removed = int(status.split()[-1])
        total += removed
        if removed < DELETE_BATCH or ctx.stopping.is_set():
            return total


async def prune_history_table(
    ctx: ServiceContext, *, table: str, at: str, before: datetime, where: str = "true"
) -> int:
    """Delete rows of a per-connector history table whose time column `at` is before
    `before` (and match where), keeping each connector's latest row; returns how many."""
    if not _IDENT.fullmatch(at):
        raise ValueError(f"invalid column name {at!r}")
    return await delete_in_batches(
        ctx,
        table=table,
        # Identifiers checked above and in delete_in_batches; values stay parameters.
        where=f"{at} < $1 AND ({where})"  # noqa: S608
        f" AND id NOT IN (SELECT max(id) FROM {table} GROUP BY connector_id)",
        args=(before,),
    )


async def delete_orphans(ctx: ServiceContext, *, table: str) -> int:
    """Delete the rows of table whose connector is gone (tables without a foreign key to it:
    run history outlives nothing it describes)."""
    return await delete_in_batches(
        ctx,
        table=table,
        # The name is checked by delete_in_batches before any SQL runs.
        where=f"NOT EXISTS (SELECT 1 FROM connectors c WHERE c.id = {table}.connector_id)",  # noqa: S608
    )


def maintenance_subscription(ctx: ServiceContext, prune: Prune) -> Subscription[RunMaintenance]:
    """The durable consumer of this service's maintenance commands."""

    async def handle(msg: RunMaintenance, delivery: Delivery) -> None:
        started = time.perf_counter()
        async with ctx.pool.acquire() as conn:
            settings = await read_maintenance_settings(conn)
        error: str | None = None
        removed: dict[str, int] = {}
        try:
            removed = await prune(ctx, settings, msg.occurred_at)
        except Exception as exc:
            if delivery.attempt < 3:
                raise  # the bus redelivers after a pause (database briefly away, ...)
            log.exception("maintenance step failed", service=ctx.name, run_id=msg.run_id)
            error = repr(exc)[:2000]
        seconds = round(time.perf_counter() - started, 3)
        log.info(
            "maintenance step done", service=ctx.name, run_id=msg.run_id, seconds=seconds, **removed
        )
        await ctx.bus.publish(
            MaintenanceStepCompleted(
                message_id=f"maintenance.step:{msg.run_id}:{ctx.name}",
                correlation_id=msg.correlation_id,
                run_id=msg.run_id,
                service=ctx.name,
                removed=removed,
                seconds=seconds,
                error=error,
            )
        )

    return Subscription(
        RunMaintenance,
        durable=f"{ctx.name}-maintenance",
        handler=handle,
        subject=f"{ctx.bus.prefix}.cmd.maintenance.step.{ctx.name}",
        ack_wait=120.0,
        batch=1,
    )
