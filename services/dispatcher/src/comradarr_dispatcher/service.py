"""Dispatcher: sends searches to the *arr apps by priority, within throttle limits."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

import structlog
from comradarr_arr import request_stats_loop
from comradarr_bus import Delivery, Subscription
from comradarr_db import AlreadyProcessed
from comradarr_proto import (
    ArrWebhookReceived,
    ControlQueue,
    ItemsQueued,
    SearchFound,
    SettingsChanged,
)
from comradarr_runtime import ServiceContext, ServiceDefinition

from .config import DispatcherConfig
from .engine import Dispatcher
from .queue import ALL_CONNECTORS, clear_queue, set_paused
from .upkeep import prune
from .webhooks import found_before, record_found

log = structlog.get_logger(__name__)

__all__ = ["ALL_CONNECTORS", "DispatcherService", "definition"]


class DispatcherService:
    """The message handlers and the dispatch loop of one replica."""

    def __init__(self, ctx: ServiceContext, *, engine: Dispatcher | None = None) -> None:
        self.ctx = ctx
        self.engine = engine or Dispatcher(
            pool=ctx.pool,
            bus=ctx.bus,
            secret_key=ctx.secret_key,
            box=ctx.box,
            config=DispatcherConfig(),
        )

    async def handle_items_queued(self, msg: ItemsQueued, delivery: Delivery) -> None:
        """Note the wake-up and look at the queue now instead of at the next tick."""
        async with delivery.once() as conn:
            await conn.execute(
                "INSERT INTO dispatcher_wakeups (connector_id, item_count, message_id,"
                " correlation_id) VALUES ($1, $2, $3, $4)",
                msg.connector_id,
                msg.count,
                delivery.message_id,
                msg.correlation_id,
            )
        log.info("items queued noted", connector_id=msg.connector_id, count=msg.count)
        self.engine.wake()

    async def handle_queue_control(self, msg: ControlQueue, delivery: Delivery) -> None:
        """Pause, resume or clear the queue for one connector or all."""
        async with delivery.once() as conn:
            if msg.action == "clear":
                removed = await clear_queue(conn, connector_id=msg.connector_id)
                log.info("queue cleared", connector_id=msg.connector_id, removed=removed)
            else:
                await set_paused(
                    conn,
                    paused=msg.action == "pause",
                    connector_id=msg.connector_id,
                    changed_by=msg.requested_by,
                )
                log.info("queue state changed", action=msg.action, connector_id=msg.connector_id)
        self.engine.wake()

    async def handle_arr_webhook(self, msg: ArrWebhookReceived, delivery: Delivery) -> None:
        """A grab or import the app reported: the searches it answers are found now."""
        if msg.event_type not in ("grab", "download"):
            return
        try:
            async with delivery.once() as conn:
                found = await record_found(
                    conn, msg=msg, message_id=delivery.message_id, now=self.engine.clock()
                )
        except AlreadyProcessed:
            # Committed before, maybe without the event going out: announce it again.
            async with self.ctx.pool.acquire() as conn:
                found = await found_before(conn, message_id=delivery.message_id)
        if not found:
            return
        log.info("searches found by webhook", connector_id=msg.connector_id, entries=len(found))
        await self.ctx.bus.publish(
            SearchFound(
                message_id=f"search.found:webhook:{delivery.message_id}",
                correlation_id=msg.correlation_id,
                connector_id=msg.connector_id,
                registry_ids=found,
                source="webhook",
            )
        )

    async def run(self) -> None:
        """Dispatch until the service stops."""

        async def on_settings(msg: SettingsChanged) -> None:
            self.engine.settings_changed(msg.keys)

        # Every replica applies a change (a broadcast, not a shared durable consumer).
        await self.ctx.bus.listen(SettingsChanged, on_settings)
        loop = asyncio.create_task(self.engine.run())
        await self.ctx.stopping.wait()
        await self.engine.stop(timeout=self.ctx.settings.shutdown_timeout_seconds / 2)
        await loop


_services: dict[int, DispatcherService] = {}


def _service(ctx: ServiceContext) -> DispatcherService:
    # subscriptions and loops are built separately from one context: share one instance.
    key = id(ctx)
    if key not in _services:
        _services[key] = DispatcherService(ctx)
    return _services[key]


def _subscriptions(ctx: ServiceContext) -> list[Subscription[Any]]:
    service = _service(ctx)
    return [
        Subscription(
            ItemsQueued, durable="dispatcher-items-queued", handler=service.handle_items_queued
        ),
        Subscription(
            ControlQueue, durable="dispatcher-queue-control", handler=service.handle_queue_control
        ),
        Subscription(
            ArrWebhookReceived, durable="dispatcher-arr-webhook", handler=service.handle_arr_webhook
        ),
    ]


def _loops(ctx: ServiceContext) -> list[Coroutine[Any, Any, None]]:
    return [_service(ctx).run(), request_stats_loop(ctx)]


definition = ServiceDefinition(
    name="dispatcher",
    description="dispatches prioritized, throttled searches to the *arr apps",
    subscriptions=_subscriptions,
    loops=_loops,
    maintenance=prune,
)
