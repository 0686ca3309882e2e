"""Sync: turns sweep commands into an up-to-date library mirror, then says so."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import structlog
from comradarr_arr import (
    ArrAuthenticationError,
    ArrClient,
    ArrError,
    ConnectorConfig,
    default_transport,
    request_stats_loop,
)
from comradarr_bus import Delivery, Subscription
from comradarr_connectors import (
    Connector,
    ConnectorNotFoundError,
    get_api_key,
    get_connector,
    record_health,
    sweep_refusal,
)
from comradarr_db import AlreadyProcessed, Connection
from comradarr_proto import ConnectorHealthChanged, RequestSweep, SyncCompleted, SyncProgressed
from comradarr_runtime import ServiceContext, ServiceDefinition

from . import upkeep
from .config import SyncConfig
from .engine import RequestCounter, SyncResult, run_sync
from .writer import MirrorWriter

log = structlog.get_logger(__name__)

# Advisory-lock class for "a sync of connector N is running"; the key is (class, N).
SYNC_LOCK_CLASS = 0x53594E43 & 0x7FFFFFFF  # "SYNC"

# Builds the *arr client for a connector; tests inject one that talks to a simulator.
ClientFactory = Callable[[Connector, str, RequestCounter], ArrClient]


def default_client_factory(
    connector: Connector, api_key: str, counter: RequestCounter
) -> ArrClient:
    """An ArrClient over real HTTP, counting its requests."""
    return ArrClient(
        ConnectorConfig(
            name=f"connector-{connector.id}",
            url=connector.url,
            api_key=api_key,
            connector_id=connector.id,
            verify_tls=connector.verify_ssl,
            timeout=connector.timeout_seconds,
        ),
        transport=counter,
    )


def http_counter(connector: Connector) -> RequestCounter:
    """The client's own HTTP transport honouring the connector's TLS setting, counting."""
    return RequestCounter(default_transport(verify_tls=connector.verify_ssl))


@dataclass
class SyncService:
    """The sweep handler with its configuration and client factory."""

    ctx: ServiceContext
    config: SyncConfig = field(default_factory=SyncConfig)
    client_factory: ClientFactory = default_client_factory
    counter_factory: Callable[[Connector], RequestCounter] = http_counter

    async def handle(self, msg: RequestSweep, delivery: Delivery) -> None:
        """Run (or skip) the sync for one sweep command and publish the outcome."""
        pool = self.ctx.pool
        run = await pool.fetchrow(
            "INSERT INTO sync_runs (connector_id, mode, sweep_type, message_id, correlation_id)"
            " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (message_id) DO UPDATE"
            " SET attempts = sync_runs.attempts + 1 RETURNING *",
            msg.connector_id,
            msg.sync_mode,
            msg.sweep_type,
            delivery.message_id,
            msg.correlation_id,
        )
        assert run is not None
        if run["outcome"] != "running":
            # Finished before (the event may not have gone out): say it again; JetStream
            # drops the copy when the first one did reach the stream.
            await self._publish_completed(msg, delivery, run)
            return
        run_id: int = run["id"]
        reason = await self._skip_reason(msg)
        if reason is not None:
            await self._finish(msg, delivery, run_id, "skipped", skip_reason=reason)
            return
        async with pool.acquire() as conn:
            locked = await conn.fetchval(
                "SELECT pg_try_advisory_lock($1, $2)", SYNC_LOCK_CLASS, msg.connector_id
            )
            if not locked:
                await self._finish(
                    msg, delivery, run_id, "skipped", skip_reason="another sync is running"
                )
                return
            try:
                result = await self._sync(conn, msg, run_id)
            except (ArrError, OSError, TimeoutError) as exc:
                await self._failed(msg, delivery, run_id, exc)
                return
            finally:
                # A broken connection loses its session locks anyway.
                with contextlib.suppress(Exception):
                    await conn.execute(
                        "SELECT pg_advisory_unlock($1, $2)", SYNC_LOCK_CLASS, msg.connector_id
                    )
        await self._succeeded(msg, delivery, run_id, result)

    async def _skip_reason(self, msg: RequestSweep) -> str | None:
        async with self.ctx.pool.acquire() as conn:
            return await sweep_refusal(
                conn, connector_id=msg.connector_id, scheduled=msg.requested_by == "scheduler"
            )

    async def _sync(self, conn: Connection, msg: RequestSweep, run_id: int) -> SyncResult:
        connector = await get_connector(conn, connector_id=msg.connector_id)
        box = self.ctx.box
        api_key = await get_api_key(conn, box=box, connector_id=connector.id)
        counter = self.counter_factory(connector)
        client = self.client_factory(connector, api_key, counter)

        async def progress(done: int, total: int | None) -> None:
            try:
                await self.ctx.pool.execute(
                    "UPDATE sync_runs SET progress_fetched = $2, progress_total = $3 WHERE id = $1",
                    run_id,
                    done,
                    total,
                )
                await self.ctx.bus.publish(
                    SyncProgressed(
                        correlation_id=msg.correlation_id,
                        connector_id=msg.connector_id,
                        sync_run_id=run_id,
                        fetched=done,
                        total=total,
                    )
                )
            except Exception as exc:  # progress is best effort; the sync goes on
                log.debug("progress not published", error=repr(exc))

        writer = MirrorWriter(conn, connector_id=connector.id)
        try:
            async with contextlib.AsyncExitStack() as stack:
                # Batches are disjoint, so more connections can merge them side by side.
                more = [
                    MirrorWriter(
                        await stack.enter_async_context(self.ctx.pool.acquire()),
                        connector_id=connector.id,
                    )
                    for _ in range(self.config.write_connections - 1)
                ]
                result = await run_sync(
                    client=client,
                    writer=writer,
                    full=msg.sync_mode == "full",
                    batch_rows=self.config.batch_rows,
                    fetch_concurrency=self.config.episode_fetch_concurrency,
                    progress=progress,
                    progress_interval=self.config.progress_interval_seconds,
                    more_writers=more,
                    series_ids=msg.series_arr_ids,
                    movie_ids=msg.movie_arr_ids,
                )
        finally:
            await client.aclose()
        result.requests_made = counter.total
        result.episode_requests = counter.episode
        log.info(
            "sync finished",
            connector_id=connector.id,
            mode=msg.sync_mode,
            scope=(msg.series_arr_ids or msg.movie_arr_ids) or "library",
            fetched=result.fetched,
            inserted=result.inserted,
            updated=result.updated,
            deleted=result.deleted,
            requests=result.requests_made,
        )
        return result

    async def _finish(
        self,
        msg: RequestSweep,
        delivery: Delivery,
        run_id: int,
        outcome: str,
        *,
        result: SyncResult | None = None,
        error: str | None = None,
        skip_reason: str | None = None,
    ) -> None:
        r = result or SyncResult()
        try:
            async with delivery.once() as conn:
                row = await conn.fetchrow(
                    "UPDATE sync_runs SET outcome = $2, ended_at = now(), fetched = $3,"
                    " inserted = $4, updated = $5, deleted = $6, skipped_malformed = $7,"
                    " requests_made = $8, episode_requests = $9, series_refetched = $10,"
                    " error = $11, skip_reason = $12, series_skipped = $13"
                    " WHERE id = $1 RETURNING *",
                    run_id,
                    outcome,
                    r.fetched,
                    r.inserted,
                    r.updated,
                    r.deleted,
                    r.skipped_malformed,
                    r.requests_made,
                    r.episode_requests,
                    r.series_refetched,
                    error,
                    skip_reason,
                    r.series_skipped,
                )
        except AlreadyProcessed:
            row = await self.ctx.pool.fetchrow("SELECT * FROM sync_runs WHERE id = $1", run_id)
        assert row is not None
        await self._publish_completed(msg, delivery, row)

    async def _publish_completed(self, msg: RequestSweep, delivery: Delivery, run: Any) -> None:
        await self.ctx.bus.publish(
            SyncCompleted(
                message_id=f"sync.completed:{delivery.message_id}",
                correlation_id=msg.correlation_id,
                connector_id=msg.connector_id,
                sync_run_id=run["id"],
                schedule_id=msg.schedule_id,
                sync_mode=msg.sync_mode,
                sweep_type=msg.sweep_type,
                outcome=run["outcome"],
                fetched=run["fetched"],
                inserted=run["inserted"],
                updated=run["updated"],
                deleted=run["deleted"],
                error=run["error"] or run["skip_reason"],
            )
        )

    async def _succeeded(
        self, msg: RequestSweep, delivery: Delivery, run_id: int, result: SyncResult
    ) -> None:
        was_unhealthy = await self.ctx.pool.fetchval(
            "SELECT coalesce((SELECT marked_unhealthy FROM sync_connector_state"
            "   WHERE connector_id = $1), false)"
            " OR EXISTS (SELECT 1 FROM connectors WHERE id = $1"
            "   AND health_status = 'auth_failed')",
            msg.connector_id,
        )
        await self.ctx.pool.execute(
            "INSERT INTO sync_connector_state (connector_id, last_success_at)"
            " VALUES ($1, now()) ON CONFLICT (connector_id) DO UPDATE SET"
            " consecutive_failures = 0, last_success_at = now(), paused_until = NULL,"
            " marked_unhealthy = false",
            msg.connector_id,
        )
        if was_unhealthy:
            await self._health(msg, "healthy", [])
        await self._finish(msg, delivery, run_id, "success", result=result)

    async def _failed(
        self, msg: RequestSweep, delivery: Delivery, run_id: int, exc: BaseException
    ) -> None:
        error = str(exc) or repr(exc)
        state = await self.ctx.pool.fetchrow(
            "INSERT INTO sync_connector_state AS s (connector_id, consecutive_failures,"
            " last_error, last_failure_at) VALUES ($1, 1, $2, now())"
            " ON CONFLICT (connector_id) DO UPDATE SET"
            " consecutive_failures = s.consecutive_failures + 1, last_error = $2,"
            " last_failure_at = now() RETURNING consecutive_failures, marked_unhealthy",
            msg.connector_id,
            error[:2000],
        )
        assert state is not None
        await self.ctx.pool.execute(
            "UPDATE sync_runs SET error = $2 WHERE id = $1", run_id, error[:2000]
        )
        log.warning(
            "sync failed",
            connector_id=msg.connector_id,
            attempt=delivery.attempt,
            consecutive_failures=state["consecutive_failures"],
            error=error,
        )
        if isinstance(exc, ArrAuthenticationError):
            # The key was refused: its own status (the UI asks to re-enter the key, the
            # notifier says so), and no retry, which would only be refused again.
            await self._health(msg, "auth_failed", [f"the app refused the API key: {error}"])
            await self._finish(msg, delivery, run_id, "failed", error=error)
            return
        if (
            state["consecutive_failures"] >= self.config.failure_threshold
            and not state["marked_unhealthy"]
        ):
            await self.ctx.pool.execute(
                "UPDATE sync_connector_state SET marked_unhealthy = true,"
                " paused_until = now() + make_interval(secs => $2) WHERE connector_id = $1",
                msg.connector_id,
                self.config.pause_minutes * 60,
            )
            await self._health(
                msg,
                "unhealthy",
                [f"{state['consecutive_failures']} sync attempts failed in a row: {error}"],
            )
        if delivery.attempt < self.config.max_attempts:
            # Let the bus redeliver after its backoff; the run row is reused by message id.
            raise exc
        await self._finish(msg, delivery, run_id, "failed", error=error)

    async def _health(self, msg: RequestSweep, status: str, messages: list[str]) -> None:
        try:
            async with self.ctx.pool.acquire() as conn:
                previous = await record_health(
                    conn,
                    connector_id=msg.connector_id,
                    status=status,  # type: ignore[arg-type]
                    messages=messages,
                )
        except ConnectorNotFoundError:
            return
        if previous == status:
            return
        await self.ctx.bus.publish(
            ConnectorHealthChanged(
                correlation_id=msg.correlation_id,
                connector_id=msg.connector_id,
                previous=None if previous == "unknown" else previous,  # type: ignore[arg-type]
                current=status,  # type: ignore[arg-type]
                messages=messages,
            )
        )


def _subscriptions(ctx: ServiceContext) -> list[Subscription[RequestSweep]]:
    config = SyncConfig()
    service = SyncService(ctx=ctx, config=config)
    return [subscription(service)]


def subscription(service: SyncService) -> Subscription[RequestSweep]:
    """The durable consumer of sweep commands for a configured service."""
    config = service.config
    # Syncs can take minutes: the bus heartbeats in-progress while the handler runs.
    return Subscription(
        RequestSweep,
        durable="sync-sweep",
        handler=service.handle,
        concurrency=config.max_concurrent_connectors,
        max_attempts=config.max_attempts,
        backoff=config.retry_backoff_seconds,
        batch=config.max_concurrent_connectors,
    )


definition = ServiceDefinition(
    name="sync",
    description="mirrors *arr libraries into PostgreSQL on sweep commands",
    subscriptions=_subscriptions,
    loops=lambda ctx: [request_stats_loop(ctx)],
    maintenance=upkeep.prune,
)

__all__ = ["SyncService", "default_client_factory", "definition", "subscription"]
