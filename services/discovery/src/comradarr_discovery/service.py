"""Discovery: after each sync, finds gaps and upgrade candidates and queues them."""

from __future__ import annotations

import structlog
from comradarr_bus import Delivery, Subscription
from comradarr_db import AlreadyProcessed
from comradarr_proto import DiscoveryCompleted, ItemsQueued, SyncCompleted
from comradarr_runtime import ServiceContext, ServiceDefinition

log = structlog.get_logger(__name__)


async def handle_sync_completed(
    ctx: ServiceContext, msg: SyncCompleted, delivery: Delivery
) -> None:
    """Record the discovery pass (gap and upgrade queries arrive with the discovery issue)."""
    if msg.outcome != "success":
        return
    try:
        async with delivery.once() as conn:
            row = await conn.fetchrow(
                "INSERT INTO discovery_runs (connector_id, sync_run_id, message_id, correlation_id)"
                " VALUES ($1, $2, $3, $4) RETURNING gaps_found, upgrades_found, entries_created,"
                " entries_removed",
                msg.connector_id,
                msg.sync_run_id,
                delivery.message_id,
                msg.correlation_id,
            )
    except AlreadyProcessed:
        row = await ctx.pool.fetchrow(
            "SELECT gaps_found, upgrades_found, entries_created, entries_removed"
            " FROM discovery_runs WHERE message_id = $1",
            delivery.message_id,
        )
    assert row is not None
    log.info("discovery recorded", connector_id=msg.connector_id, **dict(row))
    await ctx.bus.publish(
        DiscoveryCompleted(
            message_id=f"discovery.completed:{delivery.message_id}",
            correlation_id=msg.correlation_id,
            connector_id=msg.connector_id,
            **dict(row),
        )
    )
    await ctx.bus.publish(
        ItemsQueued(
            message_id=f"items.queued:{delivery.message_id}",
            correlation_id=msg.correlation_id,
            connector_id=msg.connector_id,
            count=row["entries_created"],
        )
    )


def _subscriptions(ctx: ServiceContext) -> list[Subscription[SyncCompleted]]:
    async def handler(msg: SyncCompleted, delivery: Delivery) -> None:
        await handle_sync_completed(ctx, msg, delivery)

    return [Subscription(SyncCompleted, durable="discovery-sync-completed", handler=handler)]


definition = ServiceDefinition(
    name="discovery",
    description="finds content gaps and upgrade candidates after each sync",
    subscriptions=_subscriptions,
)
