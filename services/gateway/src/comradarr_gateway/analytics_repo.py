"""Content insights: most searched items, hardest to find, the library's quality mix.

Read from the search history, the registry and the mirror (the analytics buckets hold
counts, not items). Titles come from the queue view's expressions.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from comradarr_db import Connection
from comradarr_mirror.library import completion_counts

from .queue_repo import _JOINS, _TITLE

# Entries searched most often in [$1, $2), with how often a search found something.
_MOST_SEARCHED = f"""
WITH top AS (
    SELECT h.registry_id, count(*) AS searches,
           count(*) FILTER (WHERE h.outcome = 'found') AS found,
           max(h.started_at) AS last_searched_at
    FROM search_history h
    WHERE h.started_at >= $1 AND h.started_at < $2 AND ($3::int IS NULL OR h.connector_id = $3)
    GROUP BY h.registry_id
    ORDER BY searches DESC, last_searched_at DESC
    LIMIT $4
)
SELECT t.registry_id, t.searches, t.found, t.last_searched_at, r.connector_id, r.content_type,
       r.search_type, r.state, r.attempts, r.last_error, {_TITLE}
FROM top t JOIN search_registry r ON r.id = t.registry_id {_JOINS}
ORDER BY t.searches DESC, t.last_searched_at DESC
"""  # noqa: S608 (constant fragments)

# Entries with the most attempts and no find ever: exhausted ones first.
_HARDEST = f"""
SELECT r.id AS registry_id, r.connector_id, r.content_type, r.search_type, r.state, r.attempts,
       r.last_searched_at, r.last_error, r.created_at, {_TITLE}
FROM search_registry r {_JOINS}
WHERE r.attempts > 0 AND ($1::int IS NULL OR r.connector_id = $1)
  AND NOT EXISTS (SELECT 1 FROM search_history h
                  WHERE h.registry_id = r.id AND h.outcome = 'found')
ORDER BY (r.state = 'exhausted') DESC, r.attempts DESC, r.created_at, r.id
LIMIT $2
"""  # noqa: S608 (constant fragments)

# Files by quality name (the app's own name for the quality, e.g. "Bluray-1080p").
_QUALITY = """
SELECT coalesce(q.model #>> '{quality,name}', 'Unknown') AS quality, count(*) AS items
FROM (
    SELECT quality_id FROM episodes WHERE has_file AND ($1::int IS NULL OR connector_id = $1)
    UNION ALL
    SELECT quality_id FROM movies WHERE has_file AND ($1::int IS NULL OR connector_id = $1)
) f LEFT JOIN qualities q ON q.id = f.quality_id
GROUP BY 1 ORDER BY 2 DESC, 1
"""


async def most_searched(
    conn: Connection, *, start: datetime, end: datetime, connector_id: int | None, limit: int
) -> list[dict[str, Any]]:
    """Items searched most often in [start, end)."""
    rows = await conn.fetch(_MOST_SEARCHED, start, end, connector_id, limit)
    return [dict(r) for r in rows]


async def hardest_to_find(
    conn: Connection, *, connector_id: int | None, limit: int
) -> list[dict[str, Any]]:
    """Items with the most attempts and never a find (exhausted first)."""
    rows = await conn.fetch(_HARDEST, connector_id, limit)
    return [dict(r) for r in rows]


async def quality_mix(
    conn: Connection, *, connector_id: int | None, now: datetime
) -> tuple[list[tuple[str, int]], int]:
    """Files per quality, and the monitored items that are out without a file."""
    rows = await conn.fetch(_QUALITY, connector_id)
    counts = await completion_counts(conn, now=now)
    missing = sum(
        monitored - with_file
        for cid, (monitored, with_file) in counts.items()
        if connector_id is None or cid == connector_id
    )
    return [(r["quality"], int(r["items"])) for r in rows], missing
