"""Dispatcher: sends searches to the *arr apps by priority, within throttle limits."""

from __future__ import annotations

import structlog
from comradarr_bus import Delivery, Subscription
from comradarr_proto import ControlQueue, ItemsQueued
from comradarr_runtime import ServiceContext, ServiceDefinition

log = structlog.get_logger(__name__)

ALL_CONNECTORS = 0


async def handle_items_queued(msg: ItemsQueued, delivery: Delivery) -> None:
    """Record the wake-up (batching and sending arrive with the dispatcher issue)."""
    async with delivery.once() as conn:
        await conn.execute(
            "INSERT INTO dispatcher_wakeups (connector_id, item_count, message_id, correlation_id)"
            " VALUES ($1, $2, $3, $4)",
            msg.connector_id,
            msg.count,
            delivery.message_id,
            msg.correlation_id,
        )
    log.info("items queued noted", connector_id=msg.connector_id, count=msg.count)


async def handle_queue_control(msg: ControlQueue, delivery: Delivery) -> None:
    """Pause or resume the queue for one connector or all (clear comes with the queue)."""
    if msg.action == "clear":
        log.info("queue clear requested", connector_id=msg.connector_id)
        return
    async with delivery.once() as conn:
        await conn.execute(
            "INSERT INTO queue_state (connector_id, paused, changed_by) VALUES ($1, $2, $3)"
            " ON CONFLICT (connector_id) DO UPDATE SET paused = EXCLUDED.paused,"
            " changed_by = EXCLUDED.changed_by, changed_at = now()",
            msg.connector_id or ALL_CONNECTORS,
            msg.action == "pause",
            msg.requested_by,
        )
    log.info("queue state changed", action=msg.action, connector_id=msg.connector_id)


def _subscriptions(
    ctx: ServiceContext,
) -> list[Subscription[ItemsQueued] | Subscription[ControlQueue]]:
    return [
        Subscription(ItemsQueued, durable="dispatcher-items-queued", handler=handle_items_queued),
        Subscription(
            ControlQueue, durable="dispatcher-queue-control", handler=handle_queue_control
        ),
    ]


definition = ServiceDefinition(
    name="dispatcher",
    description="dispatches prioritized, throttled searches to the *arr apps",
    subscriptions=_subscriptions,
)
