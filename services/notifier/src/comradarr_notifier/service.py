"""Notifier: routes noteworthy events to the user's channels (via Apprise).

Each event is turned into notices (texts.py) and recorded as one delivery per interested
channel in the same transaction that marks the event done, so a redelivered event is
routed, and sent, once. The sender (sender.py) sends what is due on its own loop.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import structlog
from comradarr_bus import Delivery, Subscription
from comradarr_channels import list_channels
from comradarr_proto import Event
from comradarr_runtime import ServiceContext, ServiceDefinition

from . import deliveries, upkeep
from .config import NotifierConfig
from .names import PUBLIC_URL_KEY, setting
from .sender import Sender
from .texts import RENDERERS, render

log = structlog.get_logger(__name__)


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class NotifierService:
    """The event handler, the sender and the pruning loop of one replica."""

    ctx: ServiceContext
    config: NotifierConfig = field(default_factory=NotifierConfig)
    # Tests inject a clock to drive digest windows and quiet hours.
    clock: Callable[[], datetime] = _utcnow
    sender: Sender = field(init=False)

    def __post_init__(self) -> None:
        self.sender = Sender(
            pool=self.ctx.pool,
            secret_key=self.ctx.secret_key,
            box=self.ctx.box,
            config=self.config,
            clock=lambda: self.clock(),
        )

    async def route(self, event: Event, delivery: Delivery) -> None:
        """Record one delivery per channel that wants this event's notices."""
        async with self.ctx.pool.acquire() as conn:
            notices = await render(event, conn)
        if not notices:
            return
        added = 0
        async with delivery.once() as conn:
            channels = await list_channels(conn, enabled_only=True)
            if channels:
                public_url = str(await setting(conn, PUBLIC_URL_KEY, ""))
                added = await deliveries.enqueue(
                    conn,
                    channels=channels,
                    notices=notices,
                    message_id=delivery.message_id,
                    now=self.clock(),
                    public_url=public_url,
                )
        if added:
            log.debug("notices routed", type=type(event).__name__, deliveries=added)
            self.sender.wake()

    async def prune_loop(self) -> None:
        """Prune the delivery log to its retention, every prune interval."""
        while await self.ctx.sleep(self.config.prune_interval_seconds):
            try:
                async with self.ctx.pool.acquire() as conn:
                    removed = await deliveries.prune_deliveries(conn, now=self.clock())
            except Exception as exc:  # the next round tries again
                log.warning("delivery log pruning failed", error=repr(exc))
                continue
            if removed:
                log.info("delivery log pruned", rows=removed)


_services: dict[int, NotifierService] = {}


def _service(ctx: ServiceContext) -> NotifierService:
    # subscriptions and loops are built separately from one context: share one instance.
    key = id(ctx)
    if key not in _services:
        _services[key] = NotifierService(ctx=ctx)
    return _services[key]


def subscriptions(service: NotifierService) -> list[Subscription[Any]]:
    """One durable consumer per event type that makes notices."""
    return [
        Subscription(model, durable=f"notifier-{model.__name__}", handler=service.route)
        for model in RENDERERS
    ]


def _subscriptions(ctx: ServiceContext) -> list[Subscription[Any]]:
    return subscriptions(_service(ctx))


def _loops(ctx: ServiceContext) -> list[Coroutine[Any, Any, None]]:
    service = _service(ctx)
    return [service.sender.run(ctx.stopping), service.prune_loop()]


definition = ServiceDefinition(
    name="notifier",
    description="sends notifications for noteworthy events through Apprise",
    subscriptions=_subscriptions,
    loops=_loops,
    maintenance=upkeep.prune,
)
