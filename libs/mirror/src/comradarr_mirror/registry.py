"""Reading the search registry (discovery and the dispatcher write it)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from comradarr_db import Connection

from .priority import set_user_priority_sql
from .search_settings import USER_WEIGHT_SQL

CONTENT_TYPES = ("episode", "movie")
SEARCH_TYPES = ("gap", "upgrade", "format")
STATES = ("pending", "queued", "searching", "cooldown", "exhausted")

_COLUMNS = """
    r.id, r.connector_id, r.content_type, r.episode_id, r.movie_id, r.search_type, r.state,
    r.attempts, r.created_at, r.updated_at, r.last_searched_at, r.next_eligible_at,
    r.priority, r.priority_parts, r.user_priority, r.last_error,
    coalesce(e.arr_id, m.arr_id) AS arr_id,
    coalesce(s.title || ' ' || 'S' || lpad(e.season_number::text, 2, '0')
             || 'E' || lpad(coalesce(e.episode_number, 0)::text, 2, '0'), m.title) AS title
"""
_FROM = """
    FROM search_registry r
    LEFT JOIN episodes e ON e.id = r.episode_id
    LEFT JOIN series s ON s.connector_id = e.connector_id AND s.arr_id = e.series_arr_id
    LEFT JOIN movies m ON m.id = r.movie_id
"""


@dataclass(frozen=True, slots=True, kw_only=True)
class RegistryEntry:
    """One registry entry with the *arr id and a display title of its content."""

    id: int
    connector_id: int
    content_type: str
    episode_id: int | None
    movie_id: int | None
    search_type: str
    state: str
    attempts: int
    created_at: datetime
    updated_at: datetime
    last_searched_at: datetime | None
    next_eligible_at: datetime
    priority: float
    priority_parts: dict[str, Any]
    user_priority: int | None
    last_error: str | None
    arr_id: int | None
    title: str | None


def _entry(record: Any) -> RegistryEntry:
    return RegistryEntry(**dict(record))


async def get_entry(conn: Connection, *, entry_id: int) -> RegistryEntry | None:
    """One entry by id, or None."""
    query = f"SELECT {_COLUMNS} {_FROM} WHERE r.id = $1"
    record = await conn.fetchrow(query, entry_id)
    return None if record is None else _entry(record)


async def list_entries(
    conn: Connection,
    *,
    connector_id: int | None = None,
    state: str | None = None,
    search_type: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[RegistryEntry]:
    """Entries by priority (highest first), optionally filtered."""
    query = (
        f"SELECT {_COLUMNS} {_FROM}"
        " WHERE ($1::int IS NULL OR r.connector_id = $1)"
        " AND ($2::text IS NULL OR r.state = $2)"
        " AND ($3::text IS NULL OR r.search_type = $3)"
        " ORDER BY r.priority DESC, r.id LIMIT $4 OFFSET $5"
    )
    records = await conn.fetch(query, connector_id, state, search_type, limit, offset)
    return [_entry(r) for r in records]


async def count_by_state(
    conn: Connection, *, connector_id: int | None = None
) -> dict[tuple[str, str], int]:
    """Number of entries per (search_type, state)."""
    records = await conn.fetch(
        "SELECT search_type, state, count(*) AS n FROM search_registry"
        " WHERE ($1::int IS NULL OR connector_id = $1) GROUP BY search_type, state",
        connector_id,
    )
    return {(r["search_type"], r["state"]): int(r["n"]) for r in records}


async def set_user_priority(conn: Connection, *, entry_id: int, user_priority: int | None) -> bool:
    """Set or clear a user's priority nudge, re-ranking the entry at once (with the user
    weight of Settings → Search as stored now)."""
    sets = set_user_priority_sql(value="$2::integer", weight=f"({USER_WEIGHT_SQL})")
    status = await conn.execute(
        f"UPDATE search_registry SET {sets}, updated_at = now() WHERE id = $1",  # noqa: S608
        entry_id,
        user_priority,
    )
    return bool(status != "UPDATE 0")


async def cleanup_orphans(conn: Connection) -> int:
    """Delete entries whose content row is gone; returns how many."""
    # The foreign keys cascade already; this catches rows left by a bulk path that bypassed
    # them (e.g. restored from an older backup), so it is cheap and usually deletes nothing.
    status = await conn.execute(
        "DELETE FROM search_registry r WHERE"
        " (r.content_type = 'episode'"
        "  AND NOT EXISTS (SELECT 1 FROM episodes e WHERE e.id = r.episode_id))"
        " OR (r.content_type = 'movie'"
        "  AND NOT EXISTS (SELECT 1 FROM movies m WHERE m.id = r.movie_id))"
    )
    return int(status.split()[-1])
