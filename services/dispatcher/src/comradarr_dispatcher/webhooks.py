"""Searches found at once: an *arr app's Grab or Import webhook for an item Comradarr searched.

The gateway authenticates the call and publishes ArrWebhookReceived; this is the owner of
search history and registry state acting on it. A search counts as Comradarr's when the
item's latest search started within FOUND_WINDOW and is still running ('dispatched') or was
judged 'not_found' (the history poll missed a grab the app made later). It becomes 'found'
now; an entry judged not found gets its attempt back and the base cooldown instead of the
backoff. The command's own outcome later keeps it found (engine._FINISH).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from comradarr_db import Connection
from comradarr_proto import ArrWebhookReceived
from comradarr_throttle import profile_for_connector

FOUND_WINDOW = timedelta(hours=6)

# $1 connector, $2 episode arr ids, $3 movie arr id, $4 window start, $5 now,
# $6 base cooldown, $7 message.
_FOUND = """
WITH items AS (
    SELECT r.id FROM search_registry r JOIN episodes e ON e.id = r.episode_id
    WHERE r.connector_id = $1 AND e.connector_id = $1 AND e.arr_id = ANY ($2::int[])
    UNION
    SELECT r.id FROM search_registry r JOIN movies m ON m.id = r.movie_id
    WHERE r.connector_id = $1 AND m.connector_id = $1 AND m.arr_id = $3::int
), latest AS (
    SELECT DISTINCT ON (h.registry_id) h.id, h.registry_id, h.outcome
    FROM search_history h JOIN items i ON i.id = h.registry_id
    WHERE h.started_at >= $4
    ORDER BY h.registry_id, h.started_at DESC, h.id DESC
), hist AS (
    UPDATE search_history h SET outcome = 'found', ended_at = coalesce(h.ended_at, $5),
        message = $7
    FROM latest l
    WHERE h.id = l.id AND l.outcome IN ('dispatched', 'not_found')
    RETURNING h.registry_id, l.outcome AS was
), reg AS (
    UPDATE search_registry r SET state = 'cooldown', attempts = greatest(r.attempts - 1, 0),
        next_eligible_at = $5 + $6::interval, last_error = NULL, updated_at = $5
    FROM hist
    WHERE r.id = hist.registry_id AND hist.was = 'not_found'
      AND r.state IN ('cooldown', 'exhausted')
)
SELECT registry_id FROM hist ORDER BY registry_id
"""


async def record_found(
    conn: Connection, *, msg: ArrWebhookReceived, message_id: str, now: datetime
) -> list[int]:
    """Mark the searches a grab or import report answers as found; returns their entries."""
    if msg.event_type not in ("grab", "download"):
        return []
    if not msg.episode_arr_ids and msg.movie_arr_id is None:
        return []
    profile = await profile_for_connector(conn, connector_id=msg.connector_id)
    what = "grabbed" if msg.event_type == "grab" else "imported"
    rows = await conn.fetch(
        _FOUND,
        msg.connector_id,
        msg.episode_arr_ids,
        msg.movie_arr_id,
        now - FOUND_WINDOW,
        now,
        timedelta(seconds=profile.cooldown_base_seconds),
        f"{what} (reported by the app's webhook)",
    )
    found = [int(r["registry_id"]) for r in rows]
    await conn.execute(
        "INSERT INTO webhook_found (message_id, connector_id, registry_ids) VALUES ($1, $2, $3)",
        message_id,
        msg.connector_id,
        found,
    )
    return found


async def found_before(conn: Connection, *, message_id: str) -> list[int]:
    """What an already handled report marked found (for a redelivery to announce again)."""
    ids = await conn.fetchval(
        "SELECT registry_ids FROM webhook_found WHERE message_id = $1", message_id
    )
    return [int(i) for i in ids or []]
