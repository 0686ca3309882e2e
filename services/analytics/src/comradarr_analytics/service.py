"""Analytics: folds events into hourly counters per connector."""

from __future__ import annotations

from typing import Any

from comradarr_bus import Delivery, Subscription
from comradarr_proto import (
    DiscoveryCompleted,
    Event,
    SearchCompleted,
    SearchDispatched,
    SearchExhausted,
    SearchFailed,
    SyncCompleted,
)
from comradarr_runtime import ServiceContext, ServiceDefinition


def metrics_of(msg: Event) -> dict[str, int]:
    """The counters one event adds to."""
    if isinstance(msg, SyncCompleted):
        return {f"sync_{msg.outcome}": 1, "items_synced": msg.fetched}
    if isinstance(msg, DiscoveryCompleted):
        return {"gaps_found": msg.gaps_found, "upgrades_found": msg.upgrades_found}
    if isinstance(msg, SearchDispatched):
        return {"searches_dispatched": 1, "items_searched": len(msg.registry_ids)}
    if isinstance(msg, SearchCompleted):
        return {"searches_completed": 1, "items_found": msg.found}
    if isinstance(msg, SearchFailed):
        return {"searches_failed": 1}
    if isinstance(msg, SearchExhausted):
        return {"items_exhausted": len(msg.registry_ids)}
    return {}


async def fold(msg: Any, delivery: Delivery) -> None:
    """Add the event's counts to its hour bucket, once per message."""
    counts = metrics_of(msg)
    async with delivery.once() as conn:
        await conn.executemany(
            "INSERT INTO analytics_hourly (bucket, connector_id, metric, value)"
            " VALUES (date_trunc('hour', $1::timestamptz), $2, $3, $4)"
            " ON CONFLICT (bucket, connector_id, metric)"
            " DO UPDATE SET value = analytics_hourly.value + EXCLUDED.value",
            [(msg.occurred_at, msg.connector_id, k, v) for k, v in counts.items()],
        )


FOLDED: tuple[type[Event], ...] = (
    SyncCompleted,
    DiscoveryCompleted,
    SearchDispatched,
    SearchCompleted,
    SearchFailed,
    SearchExhausted,
)


def _subscriptions(ctx: ServiceContext) -> list[Subscription[Any]]:
    return [Subscription(m, durable=f"analytics-{m.__name__}", handler=fold) for m in FOLDED]


definition = ServiceDefinition(
    name="analytics",
    description="folds events into time buckets for statistics",
    subscriptions=_subscriptions,
)
