"""The delivery log (notification_deliveries): routing rows in, claiming them, pruning them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from comradarr_channels import BY_KEY, Channel, wants
from comradarr_db import Connection

from .names import DEFAULT_RETENTION_DAYS, RETENTION_KEY, setting
from .texts import Notice

# A digest joins the open one of its channel and kind: its due time, or a new window.
_ENQUEUE = """
INSERT INTO notification_deliveries (channel_id, channel_name, event_kind, message_id,
    connector_id, title, body, immediate, due_at, created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8::boolean,
    CASE WHEN $8::boolean THEN $9::timestamptz ELSE coalesce(
        (SELECT min(due_at) FROM notification_deliveries
         WHERE channel_id = $1 AND event_kind = $3 AND status = 'pending' AND NOT immediate
           AND attempts = 0),
        $9::timestamptz + make_interval(mins => $10::int)) END,
    $9::timestamptz)
ON CONFLICT (message_id, channel_id) DO NOTHING
"""


def _body(notice: Notice, public_url: str) -> str:
    if notice.path and public_url:
        return f"{notice.body}\n{public_url.rstrip('/')}{notice.path}"
    return notice.body


async def enqueue(
    conn: Connection,
    *,
    channels: Sequence[Channel],
    notices: Sequence[Notice],
    message_id: str,
    now: datetime,
    public_url: str = "",
) -> int:
    """Route notices to the channels that want their kind; returns the rows added."""
    added = 0
    for channel in channels:
        for n in notices:
            if not wants(channel.events, n.kind):
                continue
            immediate = BY_KEY[n.kind].immediate or channel.digest_minutes == 0
            status = await conn.execute(
                _ENQUEUE,
                channel.id,
                channel.name,
                n.kind,
                message_id + n.part,
                n.connector_id,
                n.title,
                _body(n, public_url),
                immediate,
                now,
                channel.digest_minutes,
            )
            added += status == "INSERT 0 1"
    return added


async def due_channels(conn: Connection, *, now: datetime) -> list[int | None]:
    """Channels with deliveries due (None: rows whose channel was deleted)."""
    rows = await conn.fetch(
        "SELECT DISTINCT channel_id FROM notification_deliveries"
        " WHERE status IN ('pending', 'held') AND due_at <= $1",
        now,
    )
    return [r["channel_id"] for r in rows]


async def drop(conn: Connection, *, channel_id: int | None, reason: str) -> int:
    """Give up the waiting deliveries of a deleted or disabled channel."""
    status = await conn.execute(
        "UPDATE notification_deliveries SET status = 'dropped', error = $2"
        " WHERE channel_id IS NOT DISTINCT FROM $1 AND status IN ('pending', 'held')",
        channel_id,
        reason,
    )
    return int(status.split()[-1])


async def hold(conn: Connection, *, channel_id: int, now: datetime, until: datetime) -> int:
    """Keep due deliveries back until quiet hours end (they go out as one summary)."""
    status = await conn.execute(
        "UPDATE notification_deliveries SET status = 'held', due_at = $3"
        " WHERE channel_id = $1 AND status IN ('pending', 'held') AND due_at <= $2",
        channel_id,
        now,
        until,
    )
    return int(status.split()[-1])


async def claim(
    conn: Connection, *, channel_id: int, now: datetime, lease: timedelta, limit: int = 500
) -> list[Any]:
    """Take a channel's due deliveries for one send (due again after the lease if we die)."""
    rows = list(
        await conn.fetch(
            "UPDATE notification_deliveries d SET due_at = $3, attempts = d.attempts + 1"
            " WHERE d.id IN (SELECT id FROM notification_deliveries"
            "   WHERE channel_id = $1 AND status IN ('pending', 'held') AND due_at <= $2"
            "   ORDER BY id LIMIT $4 FOR UPDATE SKIP LOCKED)"
            " RETURNING d.id, d.event_kind, d.message_id, d.title, d.body, d.immediate, d.status,"
            " d.attempts",
            channel_id,
            now,
            now + lease,
            limit,
        )
    )
    return sorted(rows, key=lambda r: r["id"])


async def mark_sent(conn: Connection, *, ids: list[int], now: datetime) -> None:
    """Record a successful send of these deliveries (one message of len(ids) events)."""
    await conn.execute(
        "UPDATE notification_deliveries SET status = 'sent', sent_at = $2, batch_size = $3,"
        " error = NULL WHERE id = ANY ($1::bigint[])",
        ids,
        now,
        len(ids),
    )


async def mark_failed_attempt(
    conn: Connection,
    *,
    ids: list[int],
    now: datetime,
    error: str,
    max_attempts: int,
    backoff: Sequence[float],
) -> int:
    """Retry later with backoff, or mark failed after the last attempt; returns the failed."""
    rows = await conn.fetch(
        "UPDATE notification_deliveries SET error = $3,"
        " status = CASE WHEN attempts >= $4 THEN 'failed' ELSE status END,"
        " due_at = CASE WHEN attempts >= $4 THEN due_at"
        "   ELSE $2::timestamptz"
        " + make_interval(secs => ($5::float8[])[least(attempts, cardinality($5::float8[]))])"
        " END WHERE id = ANY ($1::bigint[]) RETURNING status",
        ids,
        now,
        error[:1000],
        max_attempts,
        list(backoff),
    )
    return sum(1 for r in rows if r["status"] == "failed")


async def record_channel_result(
    conn: Connection, *, channel_id: int, ok: bool, now: datetime, error: str | None = None
) -> None:
    """Count consecutive failures per channel (reset by a success)."""
    if ok:
        await conn.execute(
            "INSERT INTO notification_channel_health (channel_id, last_success_at)"
            " VALUES ($1, $2) ON CONFLICT (channel_id) DO UPDATE SET consecutive_failures = 0,"
            " last_success_at = $2",
            channel_id,
            now,
        )
    else:
        await conn.execute(
            "INSERT INTO notification_channel_health (channel_id, consecutive_failures,"
            " last_error, last_failure_at) VALUES ($1, 1, $3, $2)"
            " ON CONFLICT (channel_id) DO UPDATE SET consecutive_failures ="
            " notification_channel_health.consecutive_failures + 1, last_error = $3,"
            " last_failure_at = $2",
            channel_id,
            now,
            (error or "")[:1000],
        )


async def prune_deliveries(
    conn: Connection, *, now: datetime, retention_days: int | None = None
) -> int:
    """Delete finished deliveries older than the retention (the setting's, when not given).

    Waiting deliveries are never pruned. Returns how many rows went.
    """
    if retention_days is None:
        retention_days = int(await setting(conn, RETENTION_KEY, DEFAULT_RETENTION_DAYS))
    status = await conn.execute(
        "DELETE FROM notification_deliveries WHERE created_at < $1"
        " AND status IN ('sent', 'failed', 'dropped')",
        now - timedelta(days=retention_days),
    )
    return int(status.split()[-1])
