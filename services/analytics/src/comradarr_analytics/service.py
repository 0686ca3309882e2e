"""Analytics: folds events into hourly and daily buckets per connector, exactly once;
samples queue depth and library completion; drops hours past their retention age."""

from __future__ import annotations

import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import structlog
from comradarr_bus import Delivery, Subscription
from comradarr_db import AlreadyProcessed, once
from comradarr_mirror.library import completion_counts, queue_depths
from comradarr_proto import (
    ArrRequestsMeasured,
    DiscoveryCompleted,
    Event,
    RateLimited,
    SearchCompleted,
    SearchDispatched,
    SearchExhausted,
    SearchFailed,
    SyncCompleted,
)
from comradarr_runtime import ServiceContext, ServiceDefinition
from comradarr_timeseries import (
    QUEUE_STATES,
    Count,
    Pruned,
    StoreSettings,
    add_counts,
    add_latency,
    read_settings,
    roll_up,
)
from comradarr_timeseries import catalogue as m

from . import upkeep
from .config import AnalyticsConfig
from .fold import counts_of, request_counts

log = structlog.get_logger(__name__)

# Marks a sample slot taken (processed_messages), so replicas and restarts sample it once.
SAMPLER = "analytics-sampler"

FOLDED: tuple[type[Event], ...] = (
    SyncCompleted,
    DiscoveryCompleted,
    SearchDispatched,
    SearchCompleted,
    SearchFailed,
    SearchExhausted,
    RateLimited,
)


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class AnalyticsService:
    """The event handlers and loops of one analytics replica."""

    ctx: ServiceContext
    config: AnalyticsConfig = field(default_factory=AnalyticsConfig)
    # Tests move the clock across midnight and DST changes.
    clock: Callable[[], datetime] = _utcnow
    _settings: StoreSettings | None = None
    _settings_at: float = 0.0

    async def settings(self) -> StoreSettings:
        """The time zone and retention ages, re-read at most once per settings_ttl_seconds."""
        now = time.monotonic()
        if self._settings is None or now - self._settings_at >= self.config.settings_ttl_seconds:
            async with self.ctx.pool.acquire() as conn:
                self._settings = await read_settings(conn)
            self._settings_at = now
        return self._settings

    async def fold(self, msg: Event, delivery: Delivery) -> None:
        """Add an event's counts to its hour and day, once per message."""
        counts = counts_of(msg)
        tz = (await self.settings()).tz.key
        async with delivery.once() as conn:
            await add_counts(conn, counts, tz=tz)

    async def fold_requests(self, msg: ArrRequestsMeasured, delivery: Delivery) -> None:
        """Add a process's request counts and response-time histograms, once per message."""
        counts, latency = request_counts(msg)
        tz = (await self.settings()).tz.key
        async with delivery.once() as conn:
            await add_counts(conn, counts, tz=tz)
            await add_latency(conn, latency, tz=tz)

    # --- sampling ----------------------------------------------------------------------

    async def _sample(self, kind: str, interval: float, now: datetime) -> int:
        """Sample each connector not yet sampled in the slot `now` falls in, once across
        replicas; a connector added (or first synced) later in the slot is sampled at the
        next wake. Returns how many connectors were sampled."""
        slot = int(now.timestamp() // interval)

        def key(connector_id: int) -> str:
            return f"{kind}:{slot}:{connector_id}"

        pool = self.ctx.pool
        readings: dict[int, list[tuple[str, str, int]]] = {}
        async with pool.acquire() as conn:
            rows = await conn.fetch("SELECT id FROM connectors WHERE type <> 'prowlarr'")
            connectors = [r["id"] for r in rows]
            taken = {
                r["message_id"]
                for r in await conn.fetch(
                    "SELECT message_id FROM processed_messages"
                    " WHERE consumer = $1 AND message_id = ANY($2::text[])",
                    SAMPLER,
                    [key(c) for c in connectors],
                )
            }
            wanted = [c for c in connectors if key(c) not in taken]
            if not wanted:
                return 0
            if kind == "queue":
                depths = await queue_depths(conn)
                for c in wanted:
                    readings[c] = [
                        (m.QUEUE_DEPTH, state, depths.get((c, state), 0)) for state in QUEUE_STATES
                    ]
            else:  # a connector without a synced library yet has nothing to count
                counts = await completion_counts(conn, now=now)
                for c in wanted:
                    if c in counts:
                        monitored, with_file = counts[c]
                        readings[c] = [
                            (m.LIBRARY_MONITORED, "", monitored),
                            (m.LIBRARY_WITH_FILE, "", with_file),
                        ]
        tz = (await self.settings()).tz.key
        sampled = 0
        for connector_id, values in readings.items():
            try:
                async with once(pool, consumer=SAMPLER, message_id=key(connector_id)) as tx:
                    await add_counts(
                        tx,
                        [
                            Count(
                                at=now,
                                connector_id=connector_id,
                                metric=n,
                                dim=d,
                                value=v,
                                samples=1,
                            )
                            for n, d, v in values
                        ],
                        tz=tz,
                    )
            except AlreadyProcessed:  # another replica sampled it meanwhile
                continue
            sampled += 1
        return sampled

    async def sample_queue(self) -> int:
        """Queue depth per connector and state, once per connector and queue sample slot."""
        return await self._sample("queue", self.config.queue_sample_seconds, self.clock())

    async def sample_completion(self) -> int:
        """Monitored items and items with a file, once per connector and completion slot."""
        return await self._sample("completion", self.config.completion_sample_seconds, self.clock())

    async def roll_up(self) -> Pruned:
        """Drop hours past their retention age (their days keep them) and old days."""
        s = await self.settings()
        async with self.ctx.pool.acquire() as conn:
            pruned = await roll_up(
                conn,
                now=self.clock(),
                tz=s.tz,
                hourly_days=s.hourly_retention_days,
                daily_days=s.daily_retention_days,
            )
        if pruned.hourly or pruned.daily:
            log.info("analytics rolled up", hourly_rows=pruned.hourly, daily_rows=pruned.daily)
        return pruned

    async def _every(self, seconds: float, work: Callable[[], Coroutine[Any, Any, Any]]) -> None:
        """Run work now and then every `seconds` until the service stops."""
        while True:
            try:
                await work()
            except Exception as exc:  # the database may be away: the next round tries again
                log.warning("analytics job failed", job=work.__name__, error=repr(exc))
            if not await self.ctx.sleep(seconds):
                return

    def loops(self) -> list[Coroutine[Any, Any, None]]:
        """The sampling and roll-up loops."""
        # Woken a few times per slot: a slot is sampled once, soon after it starts.
        return [
            self._every(min(self.config.queue_sample_seconds / 4, 60.0), self.sample_queue),
            self._every(
                min(self.config.completion_sample_seconds / 4, 300.0), self.sample_completion
            ),
            self._every(self.config.rollup_interval_seconds, self.roll_up),
        ]


_services: dict[int, AnalyticsService] = {}


def _service(ctx: ServiceContext) -> AnalyticsService:
    # subscriptions and loops are built separately from one context: share one instance.
    key = id(ctx)
    if key not in _services:
        _services[key] = AnalyticsService(ctx=ctx, config=AnalyticsConfig())
    return _services[key]


def _subscriptions(ctx: ServiceContext) -> list[Subscription[Any]]:
    service = _service(ctx)
    subs: list[Subscription[Any]] = [
        Subscription(model, durable=f"analytics-{model.__name__}", handler=service.fold)
        for model in FOLDED
    ]
    subs.append(
        Subscription(
            ArrRequestsMeasured,
            durable="analytics-ArrRequestsMeasured",
            handler=service.fold_requests,
        )
    )
    return subs


definition = ServiceDefinition(
    name="analytics",
    description="folds events into hourly and daily buckets; samples queue and library",
    subscriptions=_subscriptions,
    loops=lambda ctx: _service(ctx).loops(),
    maintenance=upkeep.prune,
)
