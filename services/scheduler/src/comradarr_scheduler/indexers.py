"""Prowlarr indexer health: each Prowlarr connector's indexers read on an interval (like
connector health), their state kept in prowlarr_indexers, and a warning plus an event when
one turns rate limited or failing (and an event when it recovers).

Informational only: nothing in Comradarr waits on it. When Prowlarr cannot be reached the
last rows stay as they were and the poll row says since when (the API calls them stale).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog
from comradarr_arr import (
    ArrClient,
    ArrError,
    HealthCheck,
    Indexer,
    IndexerStatistics,
    IndexerStatus,
)
from comradarr_connectors import Connector, get_api_key, get_connector
from comradarr_db import Connection
from comradarr_proto import (
    Event,
    IndexerFailing,
    IndexerRateLimited,
    IndexerRecovered,
    IndexerState,
)
from comradarr_runtime import ServiceContext

log = structlog.get_logger(__name__)

DEFAULT_INTERVAL_SECONDS = 300.0
UNHEALTHY: frozenset[str] = frozenset({"rate_limited", "failing"})


def interval_from_env() -> float:
    """COMRADARR_INDEXER_INTERVAL (seconds between polls of one Prowlarr; default 300)."""
    raw = os.environ.get("COMRADARR_INDEXER_INTERVAL", str(DEFAULT_INTERVAL_SECONDS))
    try:
        value = float(raw)
    except ValueError:
        value = 0.0
    if not value >= 10:
        raise ValueError(
            f"COMRADARR_INDEXER_INTERVAL must be a number of seconds >= 10, not {raw!r}"
        )
    return value


@dataclass(frozen=True, slots=True, kw_only=True)
class IndexerReading:
    """One indexer as one poll saw it."""

    indexer_id: int
    name: str
    protocol: str | None
    privacy: str | None
    implementation: str | None
    enabled: bool
    state: IndexerState
    disabled_till: datetime | None
    most_recent_failure: datetime | None
    initial_failure: datetime | None
    message: str | None
    stats: IndexerStatistics | None


def _named_in(check: HealthCheck, name: str) -> bool:
    """Whether a Prowlarr health message names the indexer ("…: A, B") or all of them."""
    text = check.message or ""
    if check.type not in ("warning", "error") or "indexer" not in text.lower():
        return False
    if text.startswith("All indexers"):
        return True
    _, _, names = text.partition(": ")
    return name in (n.strip() for n in names.split(","))


def classify(
    indexer: Indexer,
    status: IndexerStatus | None,
    *,
    now: datetime,
    checks: Sequence[HealthCheck] = (),
) -> tuple[IndexerState, str | None]:
    """An indexer's state and the message that explains it (the rule, in one place).

    disabled: switched off in Prowlarr. rate_limited: Prowlarr disabled it until a time
    still ahead (after a 429 or failures). failing: a failure on record (the disable ran
    out and no success has cleared it) or an error message on the indexer. healthy: else.
    """
    own = indexer.message.message if indexer.message and indexer.message.message else None
    error = own if indexer.message is not None and indexer.message.type == "error" else None
    if not indexer.enable:
        return "disabled", own
    named = next((c.message for c in checks if _named_in(c, indexer.name or "")), None)
    if status is not None and status.disabled_till is not None and status.disabled_till > now:
        return "rate_limited", own or named
    if status is not None and status.most_recent_failure is not None:
        when = status.most_recent_failure.strftime("%Y-%m-%d %H:%M UTC")
        return "failing", own or named or f"last failed {when}"
    if error is not None:
        return "failing", error
    return "healthy", own


def readings(
    indexers: Sequence[Indexer],
    statuses: Sequence[IndexerStatus],
    stats: Sequence[IndexerStatistics] | None,
    checks: Sequence[HealthCheck],
    *,
    now: datetime,
) -> list[IndexerReading]:
    """What a poll found, indexer by indexer."""
    # indexerstatus lists the indexers disabled right now; an indexer's own status also
    # keeps a disable that ran out (a failure not cleared yet). The list wins where both say.
    by_id = {i.id: i.status for i in indexers if i.status is not None}
    by_id.update({s.indexer_id: s for s in statuses})
    counted = {s.indexer_id: s for s in stats or ()}
    out = []
    for indexer in indexers:
        status = by_id.get(indexer.id)
        state, message = classify(indexer, status, now=now, checks=checks)
        out.append(
            IndexerReading(
                indexer_id=indexer.id,
                name=indexer.name or f"indexer {indexer.id}",
                protocol=indexer.protocol,
                privacy=indexer.privacy,
                implementation=indexer.implementation,
                enabled=indexer.enable,
                state=state,
                disabled_till=status.disabled_till if status else None,
                most_recent_failure=status.most_recent_failure if status else None,
                initial_failure=status.initial_failure if status else None,
                message=message,
                stats=counted.get(indexer.id),
            )
        )
    return out


_UPSERT = """
INSERT INTO prowlarr_indexers AS t (connector_id, indexer_id, name, protocol, privacy,
    implementation, enabled, state, state_since, disabled_till, most_recent_failure,
    initial_failure, message, queries, grabs, failed_queries, failed_grabs, avg_response_ms,
    checked_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $9)
ON CONFLICT (connector_id, indexer_id) DO UPDATE SET name = EXCLUDED.name,
    protocol = EXCLUDED.protocol, privacy = EXCLUDED.privacy,
    implementation = EXCLUDED.implementation, enabled = EXCLUDED.enabled,
    state = EXCLUDED.state,
    state_since = CASE WHEN t.state = EXCLUDED.state THEN t.state_since
                       ELSE EXCLUDED.state_since END,
    disabled_till = EXCLUDED.disabled_till, most_recent_failure = EXCLUDED.most_recent_failure,
    initial_failure = EXCLUDED.initial_failure, message = EXCLUDED.message,
    queries = EXCLUDED.queries, grabs = EXCLUDED.grabs, failed_queries = EXCLUDED.failed_queries,
    failed_grabs = EXCLUDED.failed_grabs, avg_response_ms = EXCLUDED.avg_response_ms,
    checked_at = EXCLUDED.checked_at
"""


def _row(connector_id: int, r: IndexerReading, now: datetime) -> tuple[Any, ...]:
    """_UPSERT's parameters for one reading."""
    s = r.stats
    return (
        connector_id, r.indexer_id, r.name, r.protocol, r.privacy, r.implementation, r.enabled,
        r.state, now, r.disabled_till, r.most_recent_failure, r.initial_failure, r.message,
        s and s.number_of_queries, s and s.number_of_grabs, s and s.number_of_failed_queries,
        s and s.number_of_failed_grabs, s and s.average_response_time,
    )  # fmt: skip


async def record_poll(
    conn: Connection,
    *,
    connector_id: int,
    found: Sequence[IndexerReading],
    stats_served: bool,
    now: datetime,
) -> list[tuple[IndexerReading, str | None, datetime | None]]:
    """Store one poll's readings (vanished indexers deleted); returns each reading with the
    state it had before (None: new) and since when."""
    async with conn.transaction():
        rows = await conn.fetch(
            "SELECT indexer_id, state, state_since FROM prowlarr_indexers"
            " WHERE connector_id = $1 FOR UPDATE",
            connector_id,
        )
        before = {r["indexer_id"]: (r["state"], r["state_since"]) for r in rows}
        await conn.executemany(_UPSERT, [_row(connector_id, r, now) for r in found])
        await conn.execute(
            "DELETE FROM prowlarr_indexers WHERE connector_id = $1"
            " AND NOT (indexer_id = ANY ($2::int[]))",
            connector_id,
            [r.indexer_id for r in found],
        )
        await conn.execute(
            "UPDATE prowlarr_polls SET last_success_at = $2, last_error = NULL,"
            " stats_served = $3 WHERE connector_id = $1",
            connector_id,
            now,
            stats_served,
        )
    return [(r, *before.get(r.indexer_id, (None, None))) for r in found]


def transition_events(
    connector_id: int,
    reading: IndexerReading,
    previous: str | None,
    since: datetime | None,
    *,
    now: datetime,
) -> list[Event]:
    """The events (and warnings) a change of state makes; none while it stays the same."""
    state = reading.state
    if state == previous:
        return []
    # The same ids in every replica and on a retry: JetStream keeps one of each.
    key = f"{connector_id}:{reading.indexer_id}:{int(now.timestamp())}"
    if state == "rate_limited":
        log.warning(
            "indexer rate limited",
            connector_id=connector_id,
            indexer=reading.name,
            until=reading.disabled_till.isoformat() if reading.disabled_till else None,
            message=reading.message,
        )
        return [
            IndexerRateLimited(
                message_id=f"indexer.ratelimited:{key}",
                connector_id=connector_id,
                indexer_id=reading.indexer_id,
                name=reading.name,
                until=reading.disabled_till,
                message=reading.message,
            )
        ]
    if state == "failing":
        log.warning(
            "indexer failing",
            connector_id=connector_id,
            indexer=reading.name,
            message=reading.message,
        )
        if previous == "rate_limited":
            return []  # still the same trouble: its disable ran out, no success yet
        return [
            IndexerFailing(
                message_id=f"indexer.failing:{key}",
                connector_id=connector_id,
                indexer_id=reading.indexer_id,
                name=reading.name,
                message=reading.message,
            )
        ]
    if state == "healthy" and previous in UNHEALTHY:
        log.info("indexer recovered", connector_id=connector_id, indexer=reading.name)
        return [
            IndexerRecovered(
                message_id=f"indexer.recovered:{key}",
                connector_id=connector_id,
                indexer_id=reading.indexer_id,
                name=reading.name,
                previous=previous,  # type: ignore[arg-type]
                unhealthy_since=since,
            )
        ]
    return []


# Poll rows come due an interval after their last attempt; claiming one moves it.
_CLAIM = """
UPDATE prowlarr_polls p SET last_attempt_at = $1, interval_seconds = $3
WHERE p.connector_id IN (
    SELECT q.connector_id FROM prowlarr_polls q JOIN connectors c ON c.id = q.connector_id
    WHERE c.enabled AND c.type = 'prowlarr'
      AND (q.last_attempt_at IS NULL OR q.last_attempt_at <= $2)
    ORDER BY q.last_attempt_at NULLS FIRST LIMIT 20
    FOR UPDATE OF q SKIP LOCKED)
RETURNING p.connector_id
"""


@dataclass
class IndexerPoller:
    """Polls every enabled Prowlarr connector once per interval (replicas share the work:
    a poll is claimed by moving its last_attempt_at)."""

    ctx: ServiceContext
    client_factory: Callable[[Connector, str], ArrClient]
    clock: Callable[[], datetime]
    interval_seconds: float = DEFAULT_INTERVAL_SECONDS

    async def poll_due(self) -> int:
        """Poll every Prowlarr whose last poll is an interval old; returns how many."""
        now = self.clock()
        async with self.ctx.pool.acquire() as conn:
            # A connector added since the last round gets its poll row (first poll now).
            await conn.execute(
                "INSERT INTO prowlarr_polls (connector_id) SELECT id FROM connectors"
                " WHERE type = 'prowlarr' AND enabled ON CONFLICT (connector_id) DO NOTHING"
            )
            rows = await conn.fetch(
                _CLAIM,
                now,
                now - timedelta(seconds=self.interval_seconds),
                self.interval_seconds,
            )
        for row in rows:
            try:
                await self.poll_one(row["connector_id"])
            except Exception as exc:  # one bad connector must not stop the others
                log.warning(
                    "indexer poll failed", connector_id=row["connector_id"], error=repr(exc)
                )
        return len(rows)

    async def poll_one(self, connector_id: int) -> bool:
        """Read one Prowlarr's indexers and store them; False when Prowlarr did not answer
        (its last rows stay, marked by the poll row's error)."""
        async with self.ctx.pool.acquire() as conn:
            connector = await get_connector(conn, connector_id=connector_id)
            key = await get_api_key(conn, box=self.ctx.box, connector_id=connector_id)
        client = self.client_factory(connector, key)
        try:
            indexers = [i async for i in client.indexers()]
            statuses = [s async for s in client.indexer_statuses()]
            stats = await _optional(client.indexer_stats(), "indexerstats", connector_id)
            report = await _optional(client.health(), "health", connector_id)
        except (ArrError, OSError, TimeoutError) as exc:
            await self._unreachable(connector_id, exc)
            return False
        finally:
            await client.aclose()
        now = self.clock()
        found = readings(indexers, statuses, stats, report.checks if report else (), now=now)
        async with self.ctx.pool.acquire() as conn:
            changes = await record_poll(
                conn,
                connector_id=connector_id,
                found=found,
                stats_served=stats is not None,
                now=now,
            )
        for reading, previous, since in changes:
            for event in transition_events(connector_id, reading, previous, since, now=now):
                await self.ctx.bus.publish(event)
        return True

    async def _unreachable(self, connector_id: int, exc: BaseException) -> None:
        error = (getattr(exc, "message", None) or str(exc) or repr(exc))[:500]
        previous = await self.ctx.pool.fetchval(
            "UPDATE prowlarr_polls p SET last_error = $2 FROM prowlarr_polls old"
            " WHERE p.connector_id = $1 AND old.connector_id = p.connector_id"
            " RETURNING old.last_error",
            connector_id,
            error,
        )
        if previous is None:  # reachable until now: say it once, not every poll
            log.warning(
                "prowlarr unreachable: keeping its last indexer data (stale)",
                connector_id=connector_id,
                error=error,
            )


async def _optional(call: Any, what: str, connector_id: int) -> Any:
    """An extra read that must not fail the poll (statistics, health messages)."""
    try:
        return await call
    except ArrError as exc:
        log.info("prowlarr read skipped", what=what, connector_id=connector_id, error=exc.message)
        return None
