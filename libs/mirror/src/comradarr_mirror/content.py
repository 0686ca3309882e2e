"""Reading the content mirror for the content browser."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from comradarr_db import Connection


@dataclass(frozen=True, slots=True, kw_only=True)
class ContentPage:
    """A page of series or movies and the total matching."""

    total: int
    items: list[dict[str, Any]]


def _like_prefix(text: str) -> str:
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"


async def search_content(
    conn: Connection,
    *,
    kind: str,
    connector_id: int | None = None,
    title_prefix: str | None = None,
    status: str | None = None,
    monitored: bool | None = None,
    limit: int = 50,
    offset: int = 0,
) -> ContentPage:
    """Series (kind="series") or movies (kind="movies") by title prefix and filters."""
    if kind not in ("series", "movies"):
        raise ValueError("kind must be 'series' or 'movies'")
    where = (
        " WHERE ($1::int IS NULL OR connector_id = $1)"
        " AND ($2::text IS NULL OR lower(title) LIKE $2)"
        " AND ($3::text IS NULL OR status = $3)"
        " AND ($4::bool IS NULL OR monitored = $4)"
    )
    pattern = _like_prefix(title_prefix) if title_prefix else None
    args = (connector_id, pattern, status, monitored)
    # kind is one of two table names checked above; values are parameters.
    total = await conn.fetchval(f"SELECT count(*) FROM {kind}{where}", *args)  # noqa: S608
    records = await conn.fetch(
        f"SELECT * FROM {kind}{where} ORDER BY lower(title), id LIMIT $5 OFFSET $6",  # noqa: S608
        *args,
        limit,
        offset,
    )
    return ContentPage(total=int(total or 0), items=[dict(r) for r in records])
