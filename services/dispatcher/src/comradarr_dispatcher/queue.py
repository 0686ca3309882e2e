"""Queue control for the gateway and the ControlQueue handler (keyword-only functions).

Kept free of service state: the gateway may import this module (or call the same SQL)
without starting a dispatcher. Every function takes a connection and runs in its caller's
transaction when there is one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from comradarr_connectors import BLOCKING_HEALTH
from comradarr_db import Connection
from comradarr_throttle import (
    connector_hold,
    estimate_dispatch_times,
    get_state,
    parse_windows,
    profile_for_connector,
    retry_words,
)

ALL_CONNECTORS = 0
ELIGIBLE_STATES = ("pending", "cooldown")


def _now() -> datetime:
    return datetime.now(UTC)


def _count(status: str) -> int:
    return int(status.split()[-1])


async def set_paused(
    conn: Connection, *, paused: bool, connector_id: int | None = None, changed_by: str = "gateway"
) -> None:
    """Pause or resume the whole queue (connector_id None) or one connector's queue."""
    await conn.execute(
        "INSERT INTO queue_state (connector_id, paused, changed_by) VALUES ($1, $2, $3)"
        " ON CONFLICT (connector_id) DO UPDATE SET paused = EXCLUDED.paused,"
        " changed_by = EXCLUDED.changed_by, changed_at = now()",
        connector_id or ALL_CONNECTORS,
        paused,
        changed_by,
    )


async def is_paused(conn: Connection, *, connector_id: int) -> bool:
    """Whether the whole queue or this connector's queue is paused."""
    return bool(
        await conn.fetchval(
            "SELECT coalesce(bool_or(paused), false) FROM queue_state"
            " WHERE connector_id IN (0, $1)",
            connector_id,
        )
    )


async def clear_queue(conn: Connection, *, connector_id: int | None = None) -> int:
    """Delete every waiting entry (in-flight ones stay); the next discovery recreates those
    still wanting. Returns how many were removed."""
    status = await conn.execute(
        "DELETE FROM search_registry WHERE ($1::int IS NULL OR connector_id = $1)"
        " AND state IN ('pending', 'cooldown', 'queued')"
        " AND NOT EXISTS (SELECT 1 FROM dispatch_commands d WHERE d.status IN"
        "   ('sending', 'searching') AND search_registry.id = ANY (d.registry_ids))",
        connector_id,
    )
    return _count(status)


async def set_priority(conn: Connection, *, entry_id: int, priority: float) -> bool:
    """Set an entry's priority outright (the next discovery pass may rescore it; use the
    mirror's set_user_priority for a lasting nudge)."""
    status = await conn.execute(
        "UPDATE search_registry SET priority = $2, updated_at = now() WHERE id = $1",
        entry_id,
        priority,
    )
    return status != "UPDATE 0"


async def remove_entry(conn: Connection, *, entry_id: int) -> bool:
    """Delete one entry (discovery recreates it if the item is still wanting)."""
    status = await conn.execute(
        "DELETE FROM search_registry WHERE id = $1 AND state <> 'searching'", entry_id
    )
    return status != "DELETE 0"


async def queue_now(
    conn: Connection, *, entry_ids: Sequence[int], priority_boost: float = 0.0
) -> int:
    """Queue entries by hand (bulk): eligible at once, exhausted ones included, optionally
    boosted; entries in flight are left alone. Returns how many changed."""
    status = await conn.execute(
        "UPDATE search_registry SET state = 'pending', next_eligible_at = now(),"
        " priority = priority + $2, updated_at = now()"
        " WHERE id = ANY ($1::bigint[]) AND state NOT IN ('queued', 'searching')",
        list(entry_ids),
        priority_boost,
    )
    return _count(status)


async def mark_exhausted(conn: Connection, *, entry_ids: Sequence[int]) -> int:
    """Stop searching these entries until a user resets them."""
    status = await conn.execute(
        "UPDATE search_registry SET state = 'exhausted', updated_at = now()"
        " WHERE id = ANY ($1::bigint[]) AND state NOT IN ('queued', 'searching')",
        list(entry_ids),
    )
    return _count(status)


async def reset_entries(conn: Connection, *, entry_ids: Sequence[int]) -> int:
    """Clear entries' search state: attempts 0, no error, pending now."""
    status = await conn.execute(
        "UPDATE search_registry SET state = 'pending', attempts = 0, last_error = NULL,"
        " next_eligible_at = now(), updated_at = now()"
        " WHERE id = ANY ($1::bigint[]) AND state NOT IN ('queued', 'searching')",
        list(entry_ids),
    )
    return _count(status)


# --- explainability ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Explanation:
    """Why an entry is next or waits, and when it is expected to go out."""

    entry_id: int
    connector_id: int
    state: str
    eligible: bool
    reasons: list[str]
    position: int | None  # 0 = next for its connector; None when not eligible now
    estimated_dispatch_at: datetime | None


async def explain_entry(
    conn: Connection, *, entry_id: int, now: datetime | None = None, batch_size: int | None = None
) -> Explanation | None:
    """Explain one entry: its state, what holds it back, its place and an estimated time."""
    now = now or _now()
    row = await conn.fetchrow(
        "SELECT r.id, r.connector_id, r.state, r.attempts, r.next_eligible_at, r.priority,"
        " r.last_error, c.enabled, c.health_status, c.paused_until AS connector_paused_until,"
        " c.queue_limit, c.search_windows, c.search_timezone, d.total_count, d.checked_at"
        " FROM search_registry r JOIN connectors c ON c.id = r.connector_id"
        " LEFT JOIN download_queue_readings d ON d.connector_id = c.id WHERE r.id = $1",
        entry_id,
    )
    if row is None:
        return None
    cid: int = row["connector_id"]
    profile = await profile_for_connector(conn, connector_id=cid)
    state = await get_state(conn, connector_id=cid)
    reasons: list[str] = []
    eligible_at: datetime = now
    if row["state"] == "exhausted":
        reasons.append(f"exhausted after {row['attempts']} attempts; reset it to search again")
    elif row["state"] in ("queued", "searching"):
        reasons.append(f"{row['state']}: a command for it is in flight")
    elif row["next_eligible_at"] > now:
        reasons.append(
            retry_words(
                row["next_eligible_at"],
                attempts=row["attempts"],
                max_attempts=profile.max_attempts,
                now=now,
                tz="UTC",
            )
            + " (UTC)"
        )
        eligible_at = row["next_eligible_at"]
    if not row["enabled"]:
        reasons.append("connector disabled")
    if row["health_status"] in BLOCKING_HEALTH:
        reasons.append(f"connector {row['health_status']}: dispatching paused until healthy")
    if row["connector_paused_until"] is not None and row["connector_paused_until"] > now:
        reasons.append(f"connector paused until {row['connector_paused_until'].isoformat()}")
        eligible_at = max(eligible_at, row["connector_paused_until"])
    windows, held = connector_hold(row, now=now)
    if held is not None:
        reasons.append(held.message)
    if await is_paused(conn, connector_id=cid):
        reasons.append("queue paused")
    if state.paused_until is not None and state.paused_until > now:
        reasons.append(
            f"{state.pause_reason or 'throttled'} until {state.paused_until.isoformat()}"
        )
    # Outside its windows an entry waits for the next one (the estimate counts it); a full
    # download queue says nothing about when it drains.
    blocked = (
        row["state"] not in ELIGIBLE_STATES
        or any(r.startswith(("connector", "queue paused")) for r in reasons)
        or (held is not None and held.code == "download_queue")
    )
    ahead = await conn.fetchval(
        "SELECT count(*) FROM search_registry WHERE connector_id = $1"
        " AND state IN ('pending', 'cooldown') AND next_eligible_at <= $2"
        " AND (priority > $3 OR (priority = $3 AND id < $4))",
        cid,
        max(now, eligible_at),
        row["priority"],
        entry_id,
    )
    per_command = max(1, batch_size or profile.batch_size)
    estimate: datetime | None = None
    if not blocked:
        estimate = estimate_dispatch_times(
            profile,
            state,
            now=max(now, eligible_at),
            batches_ahead=int(ahead) // per_command,
            windows=windows,
            window_timezone=row["search_timezone"],
        )
        if not reasons:
            reasons.append(
                "next for its connector"
                if ahead == 0
                else f"{ahead} higher-priority entries ahead (about {int(ahead) // per_command}"
                f" commands at {profile.requests_per_minute:g}/min, profile {profile.name})"
            )
    return Explanation(
        entry_id=entry_id,
        connector_id=cid,
        state=row["state"],
        eligible=not blocked and eligible_at <= now,
        reasons=reasons,
        position=None if blocked else int(ahead),
        estimated_dispatch_at=estimate,
    )


async def queue_estimates(
    conn: Connection, *, connector_id: int, limit: int = 50, now: datetime | None = None
) -> list[tuple[int, datetime]]:
    """The next `limit` eligible entries of a connector with an estimated dispatch time."""
    now = now or _now()
    profile = await profile_for_connector(conn, connector_id=connector_id)
    state = await get_state(conn, connector_id=connector_id)
    rules = await conn.fetchrow(
        "SELECT search_windows, search_timezone FROM connectors WHERE id = $1", connector_id
    )
    windows = parse_windows(rules["search_windows"]) if rules else ()
    timezone = rules["search_timezone"] if rules else "UTC"
    rows = await conn.fetch(
        "SELECT id FROM search_registry WHERE connector_id = $1"
        " AND state IN ('pending', 'cooldown') AND next_eligible_at <= $2"
        " ORDER BY priority DESC, id LIMIT $3",
        connector_id,
        now,
        limit,
    )
    return [
        (
            r["id"],
            estimate_dispatch_times(
                profile,
                state,
                now=now,
                batches_ahead=i // profile.batch_size,
                windows=windows,
                window_timezone=timezone,
            ),
        )
        for i, r in enumerate(rows)
    ]


# --- retention ------------------------------------------------------------------------------


# Deletes a batch of history rows ($1: the ids) and adds them to the daily counts in the
# same statement: a row is either still in the history or counted in its day, never both.
_FOLD = """
WITH gone AS (
    DELETE FROM search_history WHERE id = ANY ($1::bigint[])
    RETURNING started_at, connector_id, command_name, search_type, outcome
), folded AS (
    INSERT INTO search_history_daily AS d
        (day, connector_id, command_name, search_type, outcome, count)
    SELECT (started_at AT TIME ZONE 'UTC')::date, connector_id, coalesce(command_name, ''),
           search_type, outcome, count(*)
    FROM gone GROUP BY 1, 2, 3, 4, 5
    ON CONFLICT (day, connector_id, command_name, search_type, outcome)
    DO UPDATE SET count = d.count + EXCLUDED.count
)
SELECT count(*) FROM gone
"""
PRUNE_BATCH = 5000


async def prune_history(
    conn: Connection, *, retention_days: int, now: datetime | None = None
) -> int:
    """Fold history older than the retention period into daily counts and delete it (with
    finished dispatch commands of the same age), a batch per transaction. Returns the
    history rows removed."""
    cutoff = (now or _now()) - timedelta(days=retention_days)
    removed = 0
    while True:
        async with conn.transaction():
            ids = await conn.fetchval(
                "SELECT array(SELECT id FROM search_history WHERE started_at < $1"
                " ORDER BY started_at LIMIT $2)",
                cutoff,
                PRUNE_BATCH,
            )
            removed += await conn.fetchval(_FOLD, ids) if ids else 0
        if len(ids) < PRUNE_BATCH:
            break
    await conn.execute(
        "DELETE FROM dispatch_commands WHERE ended_at < $1"
        " AND status NOT IN ('sending', 'searching')",
        cutoff,
    )
    return removed


async def prune_exhausted(conn: Connection, *, retention_days: int, now: datetime) -> int:
    """Remove exhausted entries unchanged for retention_days; their search history outlives
    them until its own retention; an item still missing is queued afresh by the next discovery.
    Returns the entries removed (none when retention_days is 0)."""
    if retention_days <= 0:
        return 0
    cutoff = now - timedelta(days=retention_days)
    removed = 0
    while True:
        async with conn.transaction():
            entries = await conn.fetchval(
                "SELECT array(SELECT id FROM search_registry WHERE state = 'exhausted'"
                " AND updated_at < $1 ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED)",
                cutoff,
                PRUNE_BATCH,
            )
            if entries:
                # Their history stays (registry_id set to NULL): it goes by its own retention.
                status = await conn.execute(
                    "DELETE FROM search_registry WHERE id = ANY ($1::bigint[])", entries
                )
                removed += _count(status)
        if len(entries) < PRUNE_BATCH:
            return removed
