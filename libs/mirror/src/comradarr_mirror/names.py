"""How people read the names of things: "Quiet Crown S02E03", "Heat (1995)", "Sonarr · …".

One place for every text that names a connector's items (the dashboard's activity feed,
notifications), so they read the same wherever they appear.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from comradarr_db import Connection

SEPARATOR = " · "


def episode_label(series: str | None, season: int | None, episode: int | None) -> str:
    """'Quiet Crown S02E03' (the series title alone when the numbers are unknown)."""
    title = series or "Unknown series"
    if season is None:
        return title
    return f"{title} S{season:02d}E{episode or 0:02d}"


def season_label(series: str | None, season: int | None) -> str:
    """'Quiet Crown season 2'."""
    title = series or "Unknown series"
    return title if season is None else f"{title} season {season}"


def movie_label(title: str | None, year: int | None) -> str:
    """'Heat (1995)'."""
    name = title or "Unknown movie"
    return f"{name} ({year})" if year else name


def on_connector(connector: str | None, text: str) -> str:
    """'Sonarr · Quiet Crown S02E03 searched: found'."""
    return f"{connector or 'A deleted connector'}{SEPARATOR}{text}"


def items_phrase(names: Sequence[str]) -> str:
    """'Quiet Crown S02E03', '… and S02E04', '… and 8 more'."""
    if not names:
        return "items no longer in the library"
    if len(names) == 1:
        return names[0]
    if len(names) == 2:
        return f"{names[0]} and {names[1]}"
    return f"{names[0]} and {len(names) - 1} more"


def count(n: int, one: str, many: str | None = None) -> str:
    """'1 episode', '3 episodes', '1,234 items'."""
    return f"{n:,} {one if n == 1 else (many or one + 's')}"


@dataclass(frozen=True, slots=True)
class ArrKey:
    """An item as an *arr app knows it: its connector and its id there."""

    connector_id: int
    arr_id: int


async def episode_names(conn: Connection, keys: Iterable[ArrKey]) -> dict[ArrKey, str]:
    """Episode labels by (connector, episode arr id); episodes gone from the mirror are left
    out."""
    wanted = sorted({(k.connector_id, k.arr_id) for k in keys})
    if not wanted:
        return {}
    rows = await conn.fetch(
        "SELECT e.connector_id, e.arr_id, s.title, e.season_number, e.episode_number"
        " FROM unnest($1::int[], $2::int[]) AS k(connector_id, arr_id)"
        " JOIN episodes e ON e.connector_id = k.connector_id AND e.arr_id = k.arr_id"
        " LEFT JOIN series s ON s.connector_id = e.connector_id AND s.arr_id = e.series_arr_id",
        [c for c, _ in wanted],
        [a for _, a in wanted],
    )
    return {
        ArrKey(r["connector_id"], r["arr_id"]): episode_label(
            r["title"], r["season_number"], r["episode_number"]
        )
        for r in rows
    }


async def movie_names(conn: Connection, keys: Iterable[ArrKey]) -> dict[ArrKey, str]:
    """Movie labels by (connector, movie arr id)."""
    wanted = sorted({(k.connector_id, k.arr_id) for k in keys})
    if not wanted:
        return {}
    rows = await conn.fetch(
        "SELECT m.connector_id, m.arr_id, m.title, m.year"
        " FROM unnest($1::int[], $2::int[]) AS k(connector_id, arr_id)"
        " JOIN movies m ON m.connector_id = k.connector_id AND m.arr_id = k.arr_id",
        [c for c, _ in wanted],
        [a for _, a in wanted],
    )
    return {
        ArrKey(r["connector_id"], r["arr_id"]): movie_label(r["title"], r["year"]) for r in rows
    }


async def series_names(conn: Connection, keys: Iterable[ArrKey]) -> dict[ArrKey, str]:
    """Series titles by (connector, series arr id)."""
    wanted = sorted({(k.connector_id, k.arr_id) for k in keys})
    if not wanted:
        return {}
    rows = await conn.fetch(
        "SELECT s.connector_id, s.arr_id, s.title"
        " FROM unnest($1::int[], $2::int[]) AS k(connector_id, arr_id)"
        " JOIN series s ON s.connector_id = k.connector_id AND s.arr_id = k.arr_id",
        [c for c, _ in wanted],
        [a for _, a in wanted],
    )
    return {ArrKey(r["connector_id"], r["arr_id"]): str(r["title"]) for r in rows}


async def registry_names(conn: Connection, registry_ids: Iterable[int]) -> dict[int, str]:
    """Labels of search registry entries (what search events name) by entry id."""
    ids = sorted(set(registry_ids))
    if not ids:
        return {}
    rows = await conn.fetch(
        "SELECT r.id, s.title AS series, e.season_number, e.episode_number,"
        " m.title AS movie, m.year FROM search_registry r"
        " LEFT JOIN episodes e ON e.id = r.episode_id"
        " LEFT JOIN series s ON s.connector_id = e.connector_id AND s.arr_id = e.series_arr_id"
        " LEFT JOIN movies m ON m.id = r.movie_id WHERE r.id = ANY ($1::bigint[])",
        ids,
    )
    return {
        r["id"]: (
            movie_label(r["movie"], r["year"])
            if r["movie"] is not None
            else episode_label(r["series"], r["season_number"], r["episode_number"])
        )
        for r in rows
    }
