"""Sync: turns sweep commands into an up-to-date library mirror, then says so."""

from __future__ import annotations

import structlog
from comradarr_bus import Delivery, Subscription
from comradarr_db import AlreadyProcessed
from comradarr_proto import RequestSweep, SyncCompleted
from comradarr_runtime import ServiceContext, ServiceDefinition

log = structlog.get_logger(__name__)


async def handle_sweep(ctx: ServiceContext, msg: RequestSweep, delivery: Delivery) -> None:
    """Record the sync run (the library pull itself arrives with the sync issue)."""
    try:
        async with delivery.once() as conn:
            run_id = await conn.fetchval(
                "INSERT INTO sync_runs (connector_id, mode, sweep_type, message_id,"
                " correlation_id, ended_at, outcome) VALUES ($1, $2, $3, $4, $5, now(), 'success')"
                " RETURNING id",
                msg.connector_id,
                msg.sync_mode,
                msg.sweep_type,
                delivery.message_id,
                msg.correlation_id,
            )
    except AlreadyProcessed:
        # Committed before, maybe without the event going out: publish it again; JetStream
        # drops the copy if the first one did reach the stream.
        run_id = await ctx.pool.fetchval(
            "SELECT id FROM sync_runs WHERE message_id = $1", delivery.message_id
        )
    log.info("sync run recorded", connector_id=msg.connector_id, sync_run_id=run_id)
    await ctx.bus.publish(
        SyncCompleted(
            message_id=f"sync.completed:{delivery.message_id}",
            correlation_id=msg.correlation_id,
            connector_id=msg.connector_id,
            sync_run_id=run_id,
            sync_mode=msg.sync_mode,
            sweep_type=msg.sweep_type,
            outcome="success",
        )
    )


def _subscriptions(ctx: ServiceContext) -> list[Subscription[RequestSweep]]:
    async def handler(msg: RequestSweep, delivery: Delivery) -> None:
        await handle_sweep(ctx, msg, delivery)

    return [Subscription(RequestSweep, durable="sync-sweep", handler=handler, concurrency=4)]


definition = ServiceDefinition(
    name="sync",
    description="mirrors *arr libraries into PostgreSQL on sweep commands",
    subscriptions=_subscriptions,
)
