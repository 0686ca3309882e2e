"""Notifier: routes noteworthy events to the user's channels."""

from __future__ import annotations

from typing import Any

import structlog
from comradarr_bus import Delivery, Subscription
from comradarr_proto import (
    ConnectorHealthChanged,
    Event,
    MessageDeadLettered,
    RateLimited,
    SearchExhausted,
    SearchFailed,
)
from comradarr_runtime import ServiceContext, ServiceDefinition

log = structlog.get_logger(__name__)

NOTEWORTHY: tuple[type[Event], ...] = (
    ConnectorHealthChanged,
    RateLimited,
    SearchFailed,
    SearchExhausted,
    MessageDeadLettered,
)


async def record(msg: Event, delivery: Delivery) -> None:
    """Log the event for delivery (channels and digests arrive with the notifier issue)."""
    async with delivery.once() as conn:
        await conn.execute(
            "INSERT INTO notification_log (event_type, message_id, payload) VALUES ($1, $2, $3)",
            type(msg).__name__,
            delivery.message_id,
            msg.model_dump(mode="json"),
        )


def _subscriptions(ctx: ServiceContext) -> list[Subscription[Any]]:
    return [
        Subscription(model, durable=f"notifier-{model.__name__}", handler=record)
        for model in NOTEWORTHY
    ]


definition = ServiceDefinition(
    name="notifier",
    description="sends notifications for noteworthy events",
    subscriptions=_subscriptions,
)
