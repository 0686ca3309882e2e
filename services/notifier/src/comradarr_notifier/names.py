"""Names for texts: connectors and items as a person knows them, never bare ids.

Items are named by ``comradarr_mirror.names``, the same words the dashboard's feed uses.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from comradarr_db import Connection
from comradarr_mirror.names import episode_label, movie_label, season_label

DEFAULT_RETENTION_DAYS = 30
RETENTION_KEY = "notifications.delivery_log_retention_days"
PUBLIC_URL_KEY = "notifications.public_url"


@dataclass(frozen=True, slots=True)
class Item:
    """A registry entry's item: its label and the UI page that shows it."""

    label: str
    path: str | None


def item_label(row: Any) -> str:
    """The item's name as the dashboard writes it (libs/mirror's names), from a joined row."""
    if row["content_type"] == "movie":
        return movie_label(row["movie_title"], row["year"])
    if row["episode_number"] is None:
        return season_label(row["series_title"], row["season_number"])
    return episode_label(row["series_title"], row["season_number"], row["episode_number"])


_ITEMS = """
SELECT r.id, r.content_type, s.id AS series_id, s.title AS series_title, e.season_number,
       e.episode_number, m.id AS movie_id, m.arr_id AS movie_arr_id, m.title AS movie_title,
       m.year
FROM search_registry r
LEFT JOIN episodes e ON e.id = r.episode_id
LEFT JOIN series s ON s.connector_id = e.connector_id AND s.arr_id = e.series_arr_id
LEFT JOIN movies m ON m.id = r.movie_id
WHERE r.id = ANY ($1::bigint[])
"""


async def items(conn: Connection, registry_ids: Sequence[int]) -> dict[int, Item]:
    """The items behind registry entries (entries gone since are left out)."""
    rows = await conn.fetch(_ITEMS, list(registry_ids))
    found: dict[int, Item] = {}
    for r in rows:
        if r["content_type"] == "movie":
            path = f"/content/movie?id={r['movie_id']}" if r["movie_id"] else None
        else:
            path = f"/content/series?id={r['series_id']}" if r["series_id"] else None
        found[r["id"]] = Item(item_label(r), path)
    return found


async def connector_name(conn: Connection, connector_id: int) -> str:
    """The connector's name ("connector 7" once it was deleted)."""
    name = await conn.fetchval("SELECT name FROM connectors WHERE id = $1", connector_id)
    return str(name) if name else f"connector {connector_id}"


async def setting(conn: Connection, key: str, default: Any) -> Any:
    """One application setting as stored by the gateway (its default when never changed)."""
    value = await conn.fetchval("SELECT value FROM settings WHERE key = $1", key)
    return default if value is None else value
