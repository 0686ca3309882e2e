"""Discovery: after each sync, finds gaps and upgrade candidates and queues them."""

from __future__ import annotations

import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import structlog
from comradarr_bus import Delivery, Subscription
from comradarr_db import AlreadyProcessed
from comradarr_mirror import cleanup_orphans
from comradarr_proto import DiscoveryCompleted, ItemsQueued, SyncCompleted
from comradarr_runtime import ServiceContext, ServiceDefinition

from . import upkeep
from .config import DiscoveryConfig
from .discover import run_discovery

log = structlog.get_logger(__name__)

# An upgrade sweep takes both kinds of upgrade: quality and format score.
_TYPES = {
    "gaps": ("gap",),
    "upgrades": ("upgrade", "format"),
    "both": ("gap", "upgrade", "format"),
}
_RUN_COLUMNS = (
    "id, gaps_found, upgrades_found, entries_created, entries_removed, gaps_new, gaps_removed,"
    " upgrades_new, upgrades_removed, type_changed, formats_found, formats_new, formats_removed"
)


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class DiscoveryService:
    """The SyncCompleted handler with its configuration and clock."""

    ctx: ServiceContext
    config: DiscoveryConfig = field(default_factory=DiscoveryConfig)
    # Tests set the clock to a simulator's time so "aired" means the same on both sides.
    clock: Callable[[], datetime] = _utcnow

    async def handle(self, msg: SyncCompleted, delivery: Delivery) -> None:
        """Reconcile the connector's registry with its freshly synced mirror."""
        if msg.outcome != "success":
            return
        started = time.perf_counter()
        try:
            async with delivery.once() as conn:
                counts = await run_discovery(
                    conn,
                    connector_id=msg.connector_id,
                    now=self.clock(),
                    config=self.config,
                    search_types=_TYPES[msg.sweep_type],
                )
                row = await conn.fetchrow(
                    "INSERT INTO discovery_runs (connector_id, sync_run_id, message_id,"  # noqa: S608
                    " correlation_id, gaps_found, upgrades_found, entries_created,"
                    " entries_removed, gaps_new, gaps_removed, upgrades_new, upgrades_removed,"
                    " type_changed, duration_ms, formats_found, formats_new, formats_removed)"
                    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15,"
                    f" $16, $17) RETURNING {_RUN_COLUMNS}",
                    msg.connector_id,
                    msg.sync_run_id,
                    delivery.message_id,
                    msg.correlation_id,
                    counts.gaps_found,
                    counts.upgrades_found,
                    counts.entries_created,
                    counts.entries_removed,
                    counts.gaps_new,
                    counts.gaps_removed,
                    counts.upgrades_new,
                    counts.upgrades_removed,
                    counts.type_changed,
                    int((time.perf_counter() - started) * 1000),
                    counts.formats_found,
                    counts.formats_new,
                    counts.formats_removed,
                )
        except AlreadyProcessed:
            # Committed before, maybe without the events going out: publish them again.
            row = await self.ctx.pool.fetchrow(
                f"SELECT {_RUN_COLUMNS} FROM discovery_runs WHERE message_id = $1",  # noqa: S608
                delivery.message_id,
            )
        assert row is not None
        values = dict(row)
        values.pop("id")
        log.info("discovery finished", connector_id=msg.connector_id, **values)
        await self.ctx.bus.publish(
            DiscoveryCompleted(
                message_id=f"discovery.completed:{delivery.message_id}",
                correlation_id=msg.correlation_id,
                connector_id=msg.connector_id,
                **values,
            )
        )
        queued = values["entries_created"] + values["type_changed"]
        await self.ctx.bus.publish(
            ItemsQueued(
                message_id=f"items.queued:{delivery.message_id}",
                correlation_id=msg.correlation_id,
                connector_id=msg.connector_id,
                count=queued,
            )
        )

    async def cleanup_loop(self) -> None:
        """Remove registry entries whose content is gone, every cleanup interval."""
        while await self.ctx.sleep(self.config.cleanup_interval_seconds):
            try:
                async with self.ctx.pool.acquire() as conn:
                    removed = await cleanup_orphans(conn)
            except Exception as exc:  # the next round tries again
                log.warning("orphan cleanup failed", error=repr(exc))
                continue
            if removed:
                log.info("orphan registry entries removed", count=removed)


_services: dict[int, DiscoveryService] = {}


def _service(ctx: ServiceContext) -> DiscoveryService:
    # subscriptions and loops are built separately from one context: share one instance.
    key = id(ctx)
    if key not in _services:
        _services[key] = DiscoveryService(ctx=ctx, config=DiscoveryConfig())
    return _services[key]


def _subscriptions(ctx: ServiceContext) -> list[Subscription[SyncCompleted]]:
    service = _service(ctx)
    return [Subscription(SyncCompleted, durable="discovery-sync-completed", handler=service.handle)]


def _loops(ctx: ServiceContext) -> list[Coroutine[Any, Any, None]]:
    return [_service(ctx).cleanup_loop()]


definition = ServiceDefinition(
    name="discovery",
    description="finds content gaps and upgrade candidates after each sync",
    subscriptions=_subscriptions,
    loops=_loops,
    maintenance=upkeep.prune,
)
