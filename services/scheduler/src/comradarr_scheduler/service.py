"""Scheduler: fires sweeps when schedules come due (in their time zone), protects running
sweeps, summarises finished sweeps, and checks connector health on an interval."""

from __future__ import annotations

import os
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from comradarr_arr import (
    ArrClient,
    ConnectorConfig,
    HealthReport,
    RetryPolicy,
    request_stats_loop,
)
from comradarr_bus import Delivery, Subscription
from comradarr_connectors import (
    BLOCKING_HEALTH,
    Connector,
    get_api_key,
    get_connector,
    record_health,
    running_sweep,
)
from comradarr_db import AlreadyProcessed, Connection
from comradarr_proto import (
    ConnectorHealthChanged,
    DiscoveryCompleted,
    MaintenanceStepCompleted,
    RequestMaintenance,
    RequestSweep,
    SweepCompleted,
    SyncCompleted,
)
from comradarr_runtime import ServiceContext, ServiceDefinition

from ._cron import next_fire
from .backups import fire_backup_if_due
from .indexers import IndexerPoller, interval_from_env
from .upkeep import Upkeep, prune

log = structlog.get_logger(__name__)

TICK_SECONDS = 2.0
PAUSED_HEALTH = BLOCKING_HEALTH
_DUE = """
SELECT s.id, s.connector_id, s.sweep_type, s.sync_mode, s.cron, s.timezone, s.next_run_at,
       c.health_status
FROM schedules s
LEFT JOIN connectors c ON c.id = s.connector_id
WHERE s.enabled AND (s.next_run_at IS NULL OR s.next_run_at <= $1)
ORDER BY s.next_run_at NULLS FIRST
LIMIT 100
FOR UPDATE OF s SKIP LOCKED
"""


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, kw_only=True)
class SchedulerConfig:
    """Intervals of the scheduler's loops."""

    tick_seconds: float = TICK_SECONDS
    health_interval_seconds: float = float(os.environ.get("COMRADARR_HEALTH_INTERVAL", "300"))
    health_timeout_seconds: float = 15.0
    # Prowlarr indexer health (COMRADARR_INDEXER_INTERVAL, checked when the service starts).
    indexer_interval_seconds: float = field(default_factory=interval_from_env)


def default_health_client(connector: Connector, api_key: str) -> ArrClient:
    """A client for one health call: short timeout, one retry."""
    return ArrClient(
        ConnectorConfig(
            name=f"connector-{connector.id}",
            url=connector.url,
            api_key=api_key,
            connector_id=connector.id,
            verify_tls=connector.verify_ssl,
            timeout=min(connector.timeout_seconds, 15.0),
            retry=RetryPolicy(max_retries=1),
        )
    )


@dataclass
class Scheduler:
    """The scheduler's work on one context (loops and handlers share it)."""

    ctx: ServiceContext
    config: SchedulerConfig = field(default_factory=SchedulerConfig)
    clock: Callable[[], datetime] = _utcnow
    health_client: Callable[[Connector, str], ArrClient] = default_health_client

    # --- firing ------------------------------------------------------------------------

    async def fire_due(self, *, now: datetime | None = None) -> int:
        """Publish a sweep per due schedule and advance its next run; returns how many fired.

        The publish happens inside the row-locking transaction: if the commit fails the next
        tick publishes again with the same message id, which JetStream drops as a duplicate.
        A due schedule whose connector still sweeps, or is unhealthy/offline, is recorded as
        skipped instead ("protect").
        """
        now = now or self.clock()
        fired = 0
        async with self.ctx.pool.acquire() as conn, conn.transaction():
            for row in await conn.fetch(_DUE, now):
                nxt = next_fire(row["cron"], tz=row["timezone"], after=now)
                if row["next_run_at"] is not None:
                    fired += await self._fire_one(conn, row, now)
                await conn.execute(
                    "UPDATE schedules SET next_run_at = $2,"
                    " last_fired_at = CASE WHEN next_run_at IS NULL THEN last_fired_at ELSE $3 END"
                    " WHERE id = $1",
                    row["id"],
                    nxt,
                    now,
                )
        return fired

    async def _fire_one(self, conn: Connection, row: Any, now: datetime) -> int:
        fire_time: datetime = row["next_run_at"]
        msg = RequestSweep.from_schedule(
            schedule_id=row["id"],
            fire_time=fire_time,
            connector_id=row["connector_id"],
            sweep_type=row["sweep_type"],
            sync_mode=row["sync_mode"],
            # The same for every replica and retry: the summary joins on it.
            correlation_id=f"sweep-{row['id']}-{int(fire_time.timestamp())}",
        )
        reason = None
        if row["health_status"] in PAUSED_HEALTH:
            reason = f"connector {row['health_status']}: sweeps paused until healthy"
        else:
            reason = await running_sweep(conn, connector_id=row["connector_id"], now=now)
        if reason is not None:
            await conn.execute(
                "INSERT INTO sweep_runs (schedule_id, connector_id, fire_time, status, reason,"
                " message_id, fired_at) VALUES ($1, $2, $3, 'skipped', $4, $5, $6)"
                " ON CONFLICT (message_id) DO NOTHING",
                row["id"],
                row["connector_id"],
                fire_time,
                reason,
                msg.message_id,
                now,
            )
            log.info("sweep skipped", schedule_id=row["id"], reason=reason)
            return 0
        await conn.execute(
            "INSERT INTO sweep_runs (schedule_id, connector_id, fire_time, status, message_id,"
            " correlation_id, fired_at) VALUES ($1, $2, $3, 'fired', $4, $5, $6)"
            " ON CONFLICT (message_id) DO NOTHING",
            row["id"],
            row["connector_id"],
            fire_time,
            msg.message_id,
            msg.correlation_id,
            now,
        )
        await self.ctx.bus.publish(msg)
        log.info("sweep fired", schedule_id=row["id"], connector_id=row["connector_id"])
        return 1

    async def run_loop(self) -> None:
        """Check for due schedules every tick until the service stops."""
        while True:
            try:
                await self.fire_due()
                await fire_backup_if_due(self.ctx, now=self.clock())
            except Exception:
                # Database or NATS briefly away: log and try again next tick.
                log.warning("schedule tick failed", exc_info=True)
            if not await self.ctx.sleep(self.config.tick_seconds):
                return

    # --- sweep summaries ----------------------------------------------------------------

    async def on_sync_completed(self, msg: SyncCompleted, delivery: Delivery) -> None:
        """Record the sync half of a sweep's summary (a failed/skipped sync ends the sweep)."""
        try:
            async with delivery.once() as conn:
                await self._upsert(conn, msg.connector_id, msg.correlation_id, msg.schedule_id)
                await conn.execute(
                    "UPDATE sweep_runs SET sync_seen = true, sync_outcome = $2,"
                    " items_synced = $3, reason = coalesce(reason, $4) WHERE correlation_id = $1",
                    msg.correlation_id,
                    msg.outcome,
                    msg.fetched,
                    msg.error,
                )
        except AlreadyProcessed:
            pass
        await self._complete_if_ready(msg.correlation_id)

    async def on_discovery_completed(self, msg: DiscoveryCompleted, delivery: Delivery) -> None:
        """Record the discovery half of a sweep's summary."""
        try:
            async with delivery.once() as conn:
                await self._upsert(conn, msg.connector_id, msg.correlation_id)
                await conn.execute(
                    "UPDATE sweep_runs SET discovery_seen = true, gaps_found = $2,"
                    " upgrades_found = $3, gaps_new = $4, upgrades_new = $5, items_queued = $6"
                    " WHERE correlation_id = $1",
                    msg.correlation_id,
                    msg.gaps_found,
                    msg.upgrades_found,
                    msg.gaps_new,
                    msg.upgrades_new,
                    msg.entries_created + msg.type_changed,
                )
        except AlreadyProcessed:
            pass
        await self._complete_if_ready(msg.correlation_id)

    async def _upsert(
        self,
        conn: Connection,
        connector_id: int,
        correlation_id: str,
        schedule_id: int | None = None,
    ) -> None:
        # A manual sweep (sync now, a schedule's run-now) gets its row here; run-now names
        # its schedule, so it shows in that schedule's run history.
        await conn.execute(
            "INSERT INTO sweep_runs (schedule_id, connector_id, status, correlation_id)"
            " SELECT s.id, $1, 'fired', $2 FROM (SELECT $3::bigint AS want) w"
            " LEFT JOIN schedules s ON s.id = w.want"
            " ON CONFLICT (correlation_id) DO NOTHING",
            connector_id,
            correlation_id,
            schedule_id,
        )

    async def _complete_if_ready(self, correlation_id: str) -> None:
        async with self.ctx.pool.acquire() as conn:
            row = await conn.fetchrow(
                "UPDATE sweep_runs SET status = 'completed',"
                " completed_at = coalesce(completed_at, $2)"
                " WHERE correlation_id = $1 AND sync_seen"
                " AND (discovery_seen OR sync_outcome <> 'success') RETURNING *",
                correlation_id,
                self.clock(),
            )
        if row is None:
            return
        summary = {
            "items_synced": row["items_synced"],
            "gaps_found": row["gaps_found"],
            "upgrades_found": row["upgrades_found"],
            "gaps_new": row["gaps_new"],
            "upgrades_new": row["upgrades_new"],
            "items_queued": row["items_queued"],
        }
        log.info(
            "sweep completed",
            connector_id=row["connector_id"],
            schedule_id=row["schedule_id"],
            sync_outcome=row["sync_outcome"],
            **summary,
        )
        # Both halves may get here; the fixed message id lets JetStream keep one.
        await self.ctx.bus.publish(
            SweepCompleted(
                message_id=f"sweep.completed:{correlation_id}",
                correlation_id=correlation_id,
                connector_id=row["connector_id"],
                schedule_id=row["schedule_id"],
                sync_outcome=row["sync_outcome"],
                error=row["reason"] if row["sync_outcome"] != "success" else None,
                **summary,
            )
        )

    # --- health -------------------------------------------------------------------------

    async def check_health(self) -> int:
        """Check every connector whose last check is older than the interval; returns how
        many were checked. Claiming by bumping health_checked_at keeps replicas apart."""
        now = self.clock()
        interval = timedelta(seconds=self.config.health_interval_seconds)
        rows = await self.ctx.pool.fetch(
            "UPDATE connectors c SET health_checked_at = $1 WHERE c.id IN ("
            "  SELECT id FROM connectors WHERE enabled"
            "  AND (health_checked_at IS NULL OR health_checked_at <= $2)"
            "  ORDER BY health_checked_at NULLS FIRST LIMIT 20 FOR UPDATE SKIP LOCKED)"
            " RETURNING c.id",
            now,
            now - interval,
        )
        for row in rows:
            try:
                await self.check_one(row["id"])
            except Exception as exc:  # one bad connector must not stop the others
                log.warning("health check failed", connector_id=row["id"], error=repr(exc))
        return len(rows)

    async def check_one(self, connector_id: int) -> str:
        """Ask the app for its health, store it with history, announce a change."""
        async with self.ctx.pool.acquire() as conn:
            connector = await get_connector(conn, connector_id=connector_id)
            key = await get_api_key(conn, box=self.ctx.box, connector_id=connector_id)
        client = self.health_client(connector, key)
        try:
            report: HealthReport = await client.health()
        finally:
            await client.aclose()
        status = str(report.status)
        messages = [report.message] if report.message else []
        async with self.ctx.pool.acquire() as conn:
            previous = await record_health(
                conn,
                connector_id=connector_id,
                status=status,  # type: ignore[arg-type]
                messages=messages,
            )
        if previous != status:
            log.info("connector health changed", connector_id=connector_id, status=status)
            await self.ctx.bus.publish(
                ConnectorHealthChanged(
                    connector_id=connector_id,
                    previous=None if previous == "unknown" else previous,  # type: ignore[arg-type]
                    current=status,  # type: ignore[arg-type]
                    messages=messages,
                )
            )
        return status

    async def indexer_loop(self) -> None:
        """Poll each Prowlarr's indexers once per indexer interval until the service stops."""
        poller = IndexerPoller(
            ctx=self.ctx,
            client_factory=self.health_client,
            clock=self.clock,
            interval_seconds=self.config.indexer_interval_seconds,
        )
        while True:
            try:
                await poller.poll_due()
            except Exception:
                log.warning("indexer round failed", exc_info=True)
            if not await self.ctx.sleep(min(self.config.indexer_interval_seconds, 10.0)):
                return

    async def health_loop(self) -> None:
        """Check due connectors every few seconds until the service stops."""
        while True:
            try:
                await self.check_health()
            except Exception:
                log.warning("health round failed", exc_info=True)
            wait = min(self.config.health_interval_seconds, 10.0)
            if not await self.ctx.sleep(wait):
                return


async def fire_due(ctx: ServiceContext, *, now: datetime | None = None) -> int:
    """Fire due schedules once (kept for callers of the first version)."""
    return await Scheduler(ctx=ctx).fire_due(now=now)


_schedulers: dict[int, Scheduler] = {}


def _scheduler(ctx: ServiceContext) -> Scheduler:
    # subscriptions and loops are built separately from one context: share one instance.
    key = id(ctx)
    if key not in _schedulers:
        _schedulers[key] = Scheduler(ctx=ctx)
    return _schedulers[key]


_upkeeps: dict[int, Upkeep] = {}


def _upkeep(ctx: ServiceContext) -> Upkeep:
    key = id(ctx)
    if key not in _upkeeps:
        _upkeeps[key] = Upkeep(ctx=ctx)
    return _upkeeps[key]


def _subscriptions(ctx: ServiceContext) -> list[Subscription[Any]]:
    s = _scheduler(ctx)
    u = _upkeep(ctx)
    return [
        Subscription(
            RequestMaintenance,
            durable="scheduler-maintenance-request",
            handler=u.on_request,
            subject=RequestMaintenance.subject_filter(ctx.bus.prefix),
        ),
        Subscription(
            MaintenanceStepCompleted,
            durable="scheduler-maintenance-step",
            handler=u.on_step,
            # Closing a run vacuums the busy tables: minutes on a large library.
            ack_wait=300.0,
        ),
        Subscription(
            SyncCompleted, durable="scheduler-sync-completed", handler=s.on_sync_completed
        ),
        Subscription(
            DiscoveryCompleted,
            durable="scheduler-discovery-completed",
            handler=s.on_discovery_completed,
        ),
    ]


def _loops(ctx: ServiceContext) -> list[Coroutine[Any, Any, None]]:
    s = _scheduler(ctx)
    return [
        s.run_loop(),
        s.health_loop(),
        s.indexer_loop(),
        request_stats_loop(ctx),
        _upkeep(ctx).loop(),
    ]


definition = ServiceDefinition(
    name="scheduler",
    description="fires sweeps on cron schedules in their time zone; checks connector health"
    " and Prowlarr indexer health",
    subscriptions=_subscriptions,
    loops=_loops,
    maintenance=prune,
)
