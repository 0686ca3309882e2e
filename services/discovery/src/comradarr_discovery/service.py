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
from comradarr_mirror import SearchSettings, cleanup_orphans, load_search_settings
from comradarr_proto import DiscoveryCompleted, ItemsQueued, SettingsChanged, SyncCompleted
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
    # Settings → Search as stored (read on each pass) unless a test fixes them here.
    search: SearchSettings | None = None

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
                    search=self.search,
                    correlation_id=msg.correlation_id,
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

    async def handle_settings_changed(self, msg: SettingsChanged, delivery: Delivery) -> None:
        """New priority weights re-rank every queue now, not at each connector's next sync."""
        if not any(k.startswith("search.priority_weights.") for k in msg.keys):
            return
        started = time.perf_counter()
        async with delivery.once() as conn:
            search = await load_search_settings(conn)
            ids = await conn.fetch("SELECT id FROM connectors WHERE type <> 'prowlarr' ORDER BY id")
            for row in ids:
                # A pass that creates nothing: entries re-scored with the new weights.
                await run_discovery(
                    conn,
                    connector_id=row["id"],
                    now=self.clock(),
                    config=self.config,
                    search_types=(),
                    search=search,
                )
        log.info(
            "queues re-ranked with the new priority weights",
            connectors=len(ids),
            seconds=round(time.perf_counter() - started, 3),
            correlation_id=msg.correlation_id,
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


def _subscriptions(ctx: ServiceContext) -> list[Subscription[Any]]:
    service = _service(ctx)
    return [
        Subscription(SyncCompleted, durable="discovery-sync-completed", handler=service.handle),
        Subscription(
            SettingsChanged,
            durable="discovery-settings-changed",
            handler=service.handle_settings_changed,
        ),
    ]


def _loops(ctx: ServiceContext) -> list[Coroutine[Any, Any, None]]:
    return [_service(ctx).cleanup_loop()]


definition = ServiceDefinition(
    name="discovery",
    description="finds content gaps and upgrade candidates after each sync",
    subscriptions=_subscriptions,
    loops=_loops,
    maintenance=upkeep.prune,
)
