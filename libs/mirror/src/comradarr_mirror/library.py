"""What counts as monitored and out, in one place: discovery's wanted items and the
library completion that analytics samples are both built on these fragments."""

from __future__ import annotations

from datetime import datetime

from comradarr_db import Connection

# An episode with its series (s) and season (se): monitored means the item, its season and
# its series (the apps' own rule; a season the mirror does not know is monitored).
EPISODE_JOINS = """
JOIN series s ON s.connector_id = e.connector_id AND s.arr_id = e.series_arr_id
LEFT JOIN seasons se ON se.connector_id = e.connector_id
    AND se.series_arr_id = e.series_arr_id AND se.season_number = e.season_number"""
EPISODE_MONITORED = "e.monitored AND s.monitored AND coalesce(se.monitored, true)"
# A movie's release: the first of the dates the app knows (Whisparr scenes have one).
MOVIE_RELEASED = "coalesce(m.release_date, m.in_cinemas, m.digital_release, m.physical_release)"

# Per connector: monitored items that are out (aired or released by $1, or already have a
# file), and those with a file.
_COMPLETION = f"""
SELECT connector_id, sum(monitored)::bigint AS monitored, sum(with_file)::bigint AS with_file
FROM (
    SELECT e.connector_id, count(*) AS monitored, count(*) FILTER (WHERE e.has_file) AS with_file
    FROM episodes e {EPISODE_JOINS}
    WHERE {EPISODE_MONITORED} AND (e.has_file OR e.air_date_utc <= $1)
    GROUP BY e.connector_id
    UNION ALL
    SELECT m.connector_id, count(*), count(*) FILTER (WHERE m.has_file)
    FROM movies m
    WHERE m.monitored
      AND (m.has_file OR (m.is_available AND coalesce({MOVIE_RELEASED}, '-infinity') <= $1))
    GROUP BY m.connector_id
) x GROUP BY connector_id
"""  # noqa: S608 (constant fragments)


async def completion_counts(conn: Connection, *, now: datetime) -> dict[int, tuple[int, int]]:
    """(monitored items that are out, of them with a file) per connector with any."""
    rows = await conn.fetch(_COMPLETION, now)
    return {r["connector_id"]: (int(r["monitored"]), int(r["with_file"])) for r in rows}


async def queue_depths(conn: Connection) -> dict[tuple[int, str], int]:
    """Registry entries per (connector, state)."""
    rows = await conn.fetch(
        "SELECT connector_id, state, count(*) AS n FROM search_registry GROUP BY 1, 2"
    )
    return {(r["connector_id"], r["state"]): int(r["n"]) for r in rows}
