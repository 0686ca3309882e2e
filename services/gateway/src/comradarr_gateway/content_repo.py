"""SQL of the content browser: filtered, sorted pages of the mirror with keyset cursors, the
series and movie detail views, and bulk registry changes.

The mirror tables are read only here. The bulk actions write ``search_registry``, which is
shared state: discovery creates and deletes entries, the dispatcher moves their state. Every
change here is one set-based statement per step inside a single transaction, and none of
them touches an entry in flight (state queued or searching), so the dispatcher's own moves
always win; the caller publishes ItemsQueued when entries become pending.

Nothing from a client is ever spliced into SQL: sorts, types and statuses are looked up in
the fixed tables below, every value is a parameter.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from comradarr_db import Connection

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_SQL = "'1970-01-01 00:00:00+00'::timestamptz"
TOTAL_CAP = 10_000
IN_QUEUE = ("pending", "queued", "cooldown")
IN_FLIGHT = ("queued", "searching")


class CursorError(ValueError):
    """A cursor that was not made by this server for this query."""


@dataclass(frozen=True, slots=True)
class Key:
    """One ORDER BY term: its SQL and the PostgreSQL type of its cursor value."""

    sql: str
    pg: str  # text | int4 | int8 | timestamptz
    column: str  # the select-list alias carrying the value for the cursor


# Sort keys per content type; the last key is always unique (the id) so the order is total.
SORTS: dict[str, dict[str, list[Key]]] = {
    "series": {
        "title": [Key("lower(s.title)", "text", "k_title"), Key("s.id", "int8", "id")],
        "added": [
            Key(f"coalesce(s.added, {_EPOCH_SQL})", "timestamptz", "k_added"),
            Key("s.id", "int8", "id"),
        ],
        "year": [Key("coalesce(s.year, 0)", "int4", "k_year"), Key("s.id", "int8", "id")],
    },
    "movie": {
        "title": [Key("lower(m.title)", "text", "k_title"), Key("m.id", "int8", "id")],
        "added": [
            Key(f"coalesce(m.added, {_EPOCH_SQL})", "timestamptz", "k_added"),
            Key("m.id", "int8", "id"),
        ],
        "year": [Key("coalesce(m.year, 0)", "int4", "k_year"), Key("m.id", "int8", "id")],
    },
    "episode": {
        "title": [
            Key("lower(s.title)", "text", "k_title"),
            Key("s.id", "int8", "series_id"),
            Key("e.season_number", "int4", "season_number"),
            Key("coalesce(e.episode_number, -1)", "int4", "k_episode"),
            Key("e.id", "int8", "id"),
        ],
        "air_date": [
            Key(f"coalesce(e.air_date_utc, {_EPOCH_SQL})", "timestamptz", "k_air"),
            Key("e.id", "int8", "id"),
        ],
    },
}
DEFAULT_SORT = {"series": "title", "movie": "title", "episode": "title"}

_SELECT = {
    "series": """
        SELECT 'series' AS type, s.id, s.connector_id, s.arr_id, s.title,
               NULL::bigint AS series_id, NULL::text AS series_title,
               NULL::int AS season_number, NULL::int AS episode_number, s.year,
               s.first_aired AS air_date, s.added, s.monitored, NULL::bool AS has_file,
               NULL::text AS quality, NULL::bool AS cutoff_not_met, s.status AS arr_status,
               s.episode_count, s.episode_file_count,
               greatest(s.episode_count - s.episode_file_count, 0) AS missing_count,
               NULL::bigint AS registry_id, NULL::text AS state, NULL::text AS search_type,
               NULL::float8 AS priority, NULL::int AS user_priority, NULL::int AS attempts,
               NULL::timestamptz AS next_eligible_at, NULL::timestamptz AS last_searched_at,
               lower(s.title) AS k_title,
               coalesce(s.added, '1970-01-01 00:00:00+00'::timestamptz) AS k_added,
               coalesce(s.year, 0) AS k_year
        FROM series s""",
    "movie": """
        SELECT 'movie' AS type, m.id, m.connector_id, m.arr_id, m.title,
               NULL::bigint AS series_id, NULL::text AS series_title,
               NULL::int AS season_number, NULL::int AS episode_number, m.year,
               coalesce(m.digital_release, m.physical_release, m.in_cinemas, m.release_date)
                   AS air_date,
               m.added, m.monitored, m.has_file, m.quality->'quality'->>'name' AS quality,
               m.quality_cutoff_not_met AS cutoff_not_met, m.status AS arr_status,
               NULL::int AS episode_count, NULL::int AS episode_file_count,
               NULL::int AS missing_count,
               r.id AS registry_id, r.state, r.search_type, r.priority, r.user_priority,
               r.attempts, r.next_eligible_at, r.last_searched_at,
               lower(m.title) AS k_title,
               coalesce(m.added, '1970-01-01 00:00:00+00'::timestamptz) AS k_added,
               coalesce(m.year, 0) AS k_year
        FROM movies m LEFT JOIN search_registry r ON r.movie_id = m.id""",
    "episode": """
        SELECT 'episode' AS type, e.id, e.connector_id, e.arr_id, e.title,
               s.id AS series_id, s.title AS series_title, e.season_number,
               e.episode_number, s.year, e.air_date_utc AS air_date, NULL::timestamptz AS added,
               e.monitored, e.has_file, e.quality->'quality'->>'name' AS quality,
               e.quality_cutoff_not_met AS cutoff_not_met, NULL::text AS arr_status,
               NULL::int AS episode_count, NULL::int AS episode_file_count,
               NULL::int AS missing_count,
               r.id AS registry_id, r.state, r.search_type, r.priority, r.user_priority,
               r.attempts, r.next_eligible_at, r.last_searched_at,
               lower(s.title) AS k_title, coalesce(e.episode_number, -1) AS k_episode,
               coalesce(e.air_date_utc, '1970-01-01 00:00:00+00'::timestamptz) AS k_air
        FROM episodes e
        JOIN series s ON s.connector_id = e.connector_id AND s.arr_id = e.series_arr_id
        LEFT JOIN search_registry r ON r.episode_id = e.id""",
}
_REGISTRY_STATUSES = ("queued", "searching", "exhausted")


def _count_from(query: PageQuery) -> str:
    """The smallest FROM the count needs: joins only what the filters look at."""
    if query.kind == "series":
        return "FROM series s"
    registry = query.status in _REGISTRY_STATUSES
    if query.kind == "movie":
        join = " JOIN search_registry r ON r.movie_id = m.id" if registry else ""
        return "FROM movies m" + join
    sql = "FROM episodes e"
    if query.q:
        sql += " JOIN series s ON s.connector_id = e.connector_id AND s.arr_id = e.series_arr_id"
    if registry:
        sql += " JOIN search_registry r ON r.episode_id = e.id"
    return sql


# search_registry.episode_id/movie_id are unique and reference their item (ON DELETE
# CASCADE), so "items with an entry in state X" is "entries in state X": no join needed.
_REGISTRY_KEY = {"episode": "r.episode_id IS NOT NULL", "movie": "r.movie_id IS NOT NULL"}


def _count_sql(query: PageQuery, clauses: list[str], args: list[Any]) -> str:
    """The capped count of the query's matches (args gets the cap appended)."""
    args.append(TOTAL_CAP + 1)
    cap = f"${len(args)}"
    if (
        query.kind in _REGISTRY_KEY
        and query.status in _REGISTRY_STATUSES
        and query.q is None
        and query.connector_id is None
    ):
        where = f"{_REGISTRY_KEY[query.kind]} AND {STATUS_SQL[query.kind][query.status]}"
        return f"SELECT count(*) FROM (SELECT 1 FROM search_registry r WHERE {where} LIMIT {cap}) t"  # noqa: S608
    where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
    return f"SELECT count(*) FROM (SELECT 1 {_count_from(query)}{where} LIMIT {cap}) t"  # noqa: S608


_ALIAS = {"series": "s", "movie": "m", "episode": "e"}
_TITLE = {"series": "s.title", "movie": "m.title", "episode": "s.title"}


def _series_registry(states: str) -> str:
    return (
        "EXISTS (SELECT 1 FROM episodes e2 JOIN search_registry r2 ON r2.episode_id = e2.id"  # noqa: S608
        " WHERE e2.connector_id = s.connector_id AND e2.series_arr_id = s.arr_id"
        f" AND r2.state IN ({states}))"
    )


_QUEUE_STATES = "'pending', 'queued', 'cooldown'"
STATUS_SQL: dict[str, dict[str, str]] = {
    "series": {
        "missing": "s.monitored AND s.episode_count > s.episode_file_count",
        "upgrade": "EXISTS (SELECT 1 FROM episodes e2 WHERE e2.connector_id = s.connector_id"
        " AND e2.series_arr_id = s.arr_id AND e2.has_file AND e2.quality_cutoff_not_met)",
        "queued": _series_registry(_QUEUE_STATES),
        "searching": _series_registry("'searching'"),
        "exhausted": _series_registry("'exhausted'"),
    },
    "movie": {
        "missing": "m.monitored AND NOT m.has_file AND m.is_available",
        "upgrade": "m.has_file AND m.quality_cutoff_not_met",
        "queued": f"r.state IN ({_QUEUE_STATES})",
        "searching": "r.state = 'searching'",
        "exhausted": "r.state = 'exhausted'",
    },
    "episode": {
        "missing": "e.monitored AND NOT e.has_file AND e.air_date_utc <= now()",
        "upgrade": "e.has_file AND e.quality_cutoff_not_met",
        "queued": f"r.state IN ({_QUEUE_STATES})",
        "searching": "r.state = 'searching'",
        "exhausted": "r.state = 'exhausted'",
    },
}


def like_pattern(q: str) -> str:
    """Contains-match from three characters (trigram index), prefix-match below (btree)."""
    escaped = q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%" if len(q) >= 3 else f"{escaped}%"


# --- cursors ------------------------------------------------------------------------------


def encode_cursor(kind: str, sort: str, values: Sequence[Any]) -> str:
    """An opaque cursor: the sort keys of the last row of a page."""
    plain = [v.isoformat() if isinstance(v, datetime) else v for v in values]
    raw = json.dumps([kind, sort, plain], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _storable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return "\x00" not in text


def decode_cursor(cursor: str, kind: str, sort: str) -> list[Any]:
    """The key values of a cursor made for this type and sort (CursorError otherwise)."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise CursorError("cursor is not one this server made") from None
    if not (isinstance(data, list) and len(data) == 3 and data[0] == kind and data[1] == sort):
        raise CursorError("cursor belongs to another type or sort; start again without it")
    keys = SORTS[kind][sort.lstrip("-")]
    values = data[2]
    if not isinstance(values, list) or len(values) != len(keys):
        raise CursorError("cursor is not one this server made")
    out: list[Any] = []
    for key, value in zip(keys, values, strict=True):
        limit = 2**31 if key.pg == "int4" else 2**63
        if (key.pg == "text" and isinstance(value, str) and _storable(value)) or (
            key.pg in ("int4", "int8") and type(value) is int and -limit <= value < limit
        ):
            out.append(value)
        elif key.pg == "timestamptz" and isinstance(value, str):
            try:
                when = datetime.fromisoformat(value)
            except ValueError:
                raise CursorError("cursor is not one this server made") from None
            out.append(when if when.tzinfo else when.replace(tzinfo=UTC))
        else:
            raise CursorError("cursor is not one this server made")
    return out


# --- the page query -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class PageQuery:
    """A validated browse request."""

    kind: str
    sort: str  # e.g. "title" or "-air_date"
    connector_id: int | None = None
    status: str = "all"
    q: str | None = None
    limit: int = 50
    offset: int = 0
    after: list[Any] | None = None  # decoded cursor values
    with_total: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class Page:
    """Rows of one page, whether more follow, and the (capped) total."""

    rows: list[dict[str, Any]]
    more: bool
    total: int | None
    next_cursor: str | None


def _where(query: PageQuery, args: list[Any]) -> list[str]:
    alias = _ALIAS[query.kind]
    clauses: list[str] = []
    if query.connector_id is not None:
        args.append(query.connector_id)
        clauses.append(f"{alias}.connector_id = ${len(args)}")
    if query.status != "all":
        clauses.append(STATUS_SQL[query.kind][query.status])
    if query.q:
        args.append(like_pattern(query.q))
        clauses.append(f"lower({_TITLE[query.kind]}) LIKE ${len(args)}")
    return clauses


async def browse(conn: Connection, query: PageQuery) -> Page:
    """One page of series, movies or episodes by the query's filters and sort."""
    desc = query.sort.startswith("-")
    keys = SORTS[query.kind][query.sort.lstrip("-")]
    args: list[Any] = []
    clauses = _where(query, args)
    count_clauses = list(clauses)
    count_args = list(args)
    if query.after is not None:
        placeholders = []
        for key, value in zip(keys, query.after, strict=True):
            args.append(value)
            placeholders.append(f"${len(args)}::{key.pg}")
        op = "<" if desc else ">"
        lhs = ", ".join(k.sql for k in keys)
        clauses.append(f"({lhs}) {op} ({', '.join(placeholders)})")
        # The leading key alone, so the planner can start the index scan at the cursor.
        clauses.append(f"{keys[0].sql} {op}= {placeholders[0]}")
    where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
    direction = " DESC" if desc else ""
    order = ", ".join(f"{k.sql}{direction}" for k in keys)
    args.append(query.limit + 1)
    sql = f"{_SELECT[query.kind]}{where} ORDER BY {order} LIMIT ${len(args)}"
    if query.after is None and query.offset:
        args.append(query.offset)
        sql += f" OFFSET ${len(args)}"
    records = await conn.fetch(sql, *args)
    rows = [dict(r) for r in records]
    more = len(rows) > query.limit
    rows = rows[: query.limit]
    total: int | None = None
    if query.with_total:
        counted = await conn.fetchval(_count_sql(query, count_clauses, count_args), *count_args)
        total = int(counted or 0)
    cursor = None
    if more and rows:
        last = rows[-1]
        cursor = encode_cursor(query.kind, query.sort, [last[k.column] for k in keys])
    return Page(rows=rows, more=more, total=total, next_cursor=cursor)


# --- detail views -------------------------------------------------------------------------

_ENTRY = """
    r.id AS registry_id, r.state, r.search_type, r.priority, r.user_priority, r.attempts,
    r.next_eligible_at, r.last_searched_at, r.last_error
"""


async def series_detail(conn: Connection, *, series_id: int) -> dict[str, Any] | None:
    """A series, its seasons and their episodes with registry entries (no history)."""
    row = await conn.fetchrow("SELECT * FROM series WHERE id = $1", series_id)
    if row is None:
        return None
    seasons = await conn.fetch(
        "SELECT season_number, monitored, episode_count, episode_file_count,"
        " total_episode_count, size_on_disk FROM seasons"
        " WHERE connector_id = $1 AND series_arr_id = $2 ORDER BY season_number",
        row["connector_id"],
        row["arr_id"],
    )
    episodes = await conn.fetch(
        f"SELECT e.id, e.arr_id, e.season_number, e.episode_number, e.title, e.air_date_utc,"  # noqa: S608
        f" e.monitored, e.has_file, e.quality->'quality'->>'name' AS quality,"
        f" e.quality_cutoff_not_met, e.file_size, {_ENTRY}"
        " FROM episodes e LEFT JOIN search_registry r ON r.episode_id = e.id"
        " WHERE e.connector_id = $1 AND e.series_arr_id = $2"
        " ORDER BY e.season_number, e.episode_number NULLS LAST, e.id",
        row["connector_id"],
        row["arr_id"],
    )
    return {
        "series": dict(row),
        "seasons": [dict(s) for s in seasons],
        "episodes": [dict(e) for e in episodes],
    }


async def movie_detail(conn: Connection, *, movie_id: int) -> dict[str, Any] | None:
    """A movie with its registry entry."""
    row = await conn.fetchrow(
        f"SELECT m.*, m.quality->'quality'->>'name' AS quality_name, {_ENTRY}"  # noqa: S608
        " FROM movies m LEFT JOIN search_registry r ON r.movie_id = m.id WHERE m.id = $1",
        movie_id,
    )
    return None if row is None else dict(row)


async def history_for(
    conn: Connection, *, registry_ids: Sequence[int], per_entry: int
) -> dict[int, list[dict[str, Any]]]:
    """The latest searches of each entry, newest first."""
    if not registry_ids:
        return {}
    rows = await conn.fetch(
        "SELECT id, registry_id, command_name, search_type, outcome, error, started_at,"
        " ended_at FROM ("
        "  SELECT h.*, row_number() OVER (PARTITION BY registry_id"
        "    ORDER BY started_at DESC, id DESC) AS n"
        "  FROM search_history h WHERE registry_id = ANY ($1::bigint[])) t"
        " WHERE n <= $2 ORDER BY registry_id, started_at DESC, id DESC",
        list(registry_ids),
        per_entry,
    )
    out: dict[int, list[dict[str, Any]]] = {}
    for r in rows:
        item = dict(r)
        out.setdefault(item.pop("registry_id"), []).append(item)
    return out


# --- bulk registry changes ----------------------------------------------------------------

_TARGET_MATCH = {
    "registry": "r.id = ANY ($1::bigint[])",
    "episode": "r.episode_id = ANY ($1::bigint[])",
    "movie": "r.movie_id = ANY ($1::bigint[])",
    "series": "r.episode_id IN (SELECT e.id FROM episodes e JOIN series s"
    " ON s.connector_id = e.connector_id AND s.arr_id = e.series_arr_id"
    " WHERE s.id = ANY ($1::bigint[]))",
}
_TARGET_TABLE = {
    "registry": "search_registry",
    "episode": "episodes",
    "movie": "movies",
    "series": "series",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class BulkOutcome:
    """What a bulk action did."""

    matched: int
    changed: int
    created: int
    in_flight: int
    not_found: list[int]
    queued_by_connector: dict[int, int]


async def _create_entries(conn: Connection, *, target: str, ids: list[int]) -> int:
    """Registry entries for wanting items that have none yet (a manual 'search this')."""
    if target == "movie":
        status = await conn.execute(
            "INSERT INTO search_registry (connector_id, content_type, movie_id, search_type)"
            " SELECT m.connector_id, 'movie', m.id,"
            "  CASE WHEN m.has_file THEN 'upgrade' ELSE 'gap' END"
            " FROM movies m WHERE m.id = ANY ($1::bigint[])"
            "  AND (NOT m.has_file OR m.quality_cutoff_not_met)"
            " ON CONFLICT (movie_id) WHERE movie_id IS NOT NULL DO NOTHING",
            ids,
        )
        return int(status.split()[-1])
    if target == "episode":
        match = "e.id = ANY ($1::bigint[])"
    elif target == "series":
        match = (
            "(e.connector_id, e.series_arr_id) IN"
            " (SELECT connector_id, arr_id FROM series WHERE id = ANY ($1::bigint[]))"
            " AND e.monitored AND (e.has_file OR e.air_date_utc <= now())"
        )
    else:
        return 0
    status = await conn.execute(
        "INSERT INTO search_registry (connector_id, content_type, episode_id, search_type)"  # noqa: S608
        " SELECT e.connector_id, 'episode', e.id,"
        "  CASE WHEN e.has_file THEN 'upgrade' ELSE 'gap' END"
        f" FROM episodes e WHERE {match}"
        "  AND (NOT e.has_file OR e.quality_cutoff_not_met)"
        " ON CONFLICT (episode_id) WHERE episode_id IS NOT NULL DO NOTHING",
        ids,
    )
    return int(status.split()[-1])


async def bulk_apply(
    conn: Connection, *, action: str, target: str, ids: list[int], priority: int | None
) -> BulkOutcome:
    """Apply a bulk action in one transaction; entries in flight are never touched."""
    match = _TARGET_MATCH[target]
    table = _TARGET_TABLE[target]
    async with conn.transaction():
        found = await conn.fetch(
            f"SELECT id FROM {table} WHERE id = ANY ($1::bigint[])",  # noqa: S608 - constant
            ids,
        )
        known = {r["id"] for r in found}
        created = 0
        if action == "queue":
            created = await _create_entries(conn, target=target, ids=ids)
        matched = int(
            await conn.fetchval(
                f"SELECT count(*) FROM search_registry r WHERE {match}",  # noqa: S608
                ids,
            )
        )
        in_flight = int(
            await conn.fetchval(
                f"SELECT count(*) FROM search_registry r WHERE {match}"  # noqa: S608
                " AND r.state IN ('queued', 'searching')",
                ids,
            )
        )
        args: list[Any] = [ids]
        if action == "queue":
            sets = "state = 'pending', next_eligible_at = now()"
        elif action == "reset":
            sets = "state = 'pending', attempts = 0, last_error = NULL, next_eligible_at = now()"
        elif action == "exhaust":
            sets = "state = 'exhausted'"
        else:
            sets = "user_priority = $2"
            args.append(priority)
        guard = "" if action == "priority" else " AND r.state NOT IN ('queued', 'searching')"
        rows = await conn.fetch(
            f"UPDATE search_registry r SET {sets}, updated_at = now()"  # noqa: S608
            f" WHERE {match}{guard} RETURNING r.connector_id",
            *args,
        )
    by_connector: dict[int, int] = {}
    if action in ("queue", "reset"):
        for r in rows:
            by_connector[r["connector_id"]] = by_connector.get(r["connector_id"], 0) + 1
    return BulkOutcome(
        matched=matched,
        changed=len(rows),
        created=created,
        in_flight=0 if action == "priority" else in_flight,
        not_found=sorted(set(ids) - known),
        queued_by_connector=by_connector,
    )
