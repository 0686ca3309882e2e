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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from comradarr_db import Connection
from comradarr_logging import get_correlation_id
from comradarr_mirror import USER_WEIGHT_SQL, set_user_priority_sql

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
        "title": [Key("s.title_key", "text", "k_title"), Key("s.id", "int8", "id")],
        "added": [
            Key(f"coalesce(s.added, {_EPOCH_SQL})", "timestamptz", "k_added"),
            Key("s.id", "int8", "id"),
        ],
        "year": [Key("coalesce(s.year, 0)", "int4", "k_year"), Key("s.id", "int8", "id")],
    },
    "movie": {
        "title": [Key("m.title_key", "text", "k_title"), Key("m.id", "int8", "id")],
        "added": [
            Key(f"coalesce(m.added, {_EPOCH_SQL})", "timestamptz", "k_added"),
            Key("m.id", "int8", "id"),
        ],
        "year": [Key("coalesce(m.year, 0)", "int4", "k_year"), Key("m.id", "int8", "id")],
    },
    "episode": {
        "title": [
            Key("s.title_key", "text", "k_title"),
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


def _quality_name(alias: str) -> str:
    """The name of a row's quality model (kept once in the qualities table)."""
    # alias is one of this module's table aliases, never input.
    return (
        "(SELECT q.model->'quality'->>'name' FROM qualities q"  # noqa: S608
        f" WHERE q.id = {alias}.quality_id)"
    )


def _utc(sql: str) -> str:
    """A timestamptz as RFC 3339 text in UTC whatever the session's TimeZone (NULL stays)."""
    return f"""to_char(({sql}) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')"""


def _json_object(fields: Mapping[str, str]) -> str:
    return "json_build_object(" + ", ".join(f"'{k}', {v}" for k, v in fields.items()) + ")"


_REGISTRY_JSON = (
    "CASE WHEN r.id IS NOT NULL THEN "
    + _json_object(
        {
            "id": "r.id",
            "state": "r.state",
            "search_type": "r.search_type",
            "priority": "r.priority",
            "user_priority": "r.user_priority",
            "attempts": "r.attempts",
            "next_eligible_at": _utc("r.next_eligible_at"),
            "last_searched_at": _utc("r.last_searched_at"),
            "last_error": "NULL::text",
        }
    )
    + " END"
)
# Gap or upgrade, as the browser shows it (pages and detail views alike).
_WANTED_ITEM = (
    "CASE WHEN {a}.has_file IS NULL THEN NULL"
    " WHEN NOT {a}.has_file THEN CASE WHEN {a}.monitored THEN 'missing' END"
    " WHEN {a}.quality_cutoff_not_met THEN 'upgrade' END"
)

# Each page row is its ContentItem, built as JSON by PostgreSQL (the gateway passes the
# text through: no per-value decoding, dicts or re-encoding in Python), plus the sort-key
# columns the next-page cursor is made from.
_ITEMS: dict[str, dict[str, str]] = {
    "series": {
        "type": "'series'",
        "id": "s.id",
        "connector_id": "s.connector_id",
        "arr_id": "s.arr_id",
        "title": "s.title",
        "series_id": "NULL::bigint",
        "series_title": "NULL::text",
        "season_number": "NULL::int",
        "episode_number": "NULL::int",
        "year": "s.year",
        "air_date": _utc("s.first_aired"),
        "added": _utc("s.added"),
        "monitored": "s.monitored",
        "has_file": "NULL::bool",
        "quality": "NULL::text",
        "cutoff_not_met": "NULL::bool",
        "arr_status": "s.status",
        "episode_count": "s.episode_count",
        "episode_file_count": "s.episode_file_count",
        "missing_count": "greatest(s.episode_count - s.episode_file_count, 0)",
        "wanted": "CASE WHEN s.monitored AND s.episode_count > s.episode_file_count"
        " THEN 'missing' END",
        "registry": "NULL::json",
    },
    "movie": {
        "type": "'movie'",
        "id": "m.id",
        "connector_id": "m.connector_id",
        "arr_id": "m.arr_id",
        "title": "m.title",
        "series_id": "NULL::bigint",
        "series_title": "NULL::text",
        "season_number": "NULL::int",
        "episode_number": "NULL::int",
        "year": "m.year",
        "air_date": _utc(
            "coalesce(m.digital_release, m.physical_release, m.in_cinemas, m.release_date)"
        ),
        "added": _utc("m.added"),
        "monitored": "m.monitored",
        "has_file": "m.has_file",
        "quality": _quality_name("m"),
        "cutoff_not_met": "m.quality_cutoff_not_met",
        "arr_status": "m.status",
        "episode_count": "NULL::int",
        "episode_file_count": "NULL::int",
        "missing_count": "NULL::int",
        "wanted": _WANTED_ITEM.format(a="m"),
        "registry": _REGISTRY_JSON,
    },
    "episode": {
        "type": "'episode'",
        "id": "e.id",
        "connector_id": "e.connector_id",
        "arr_id": "e.arr_id",
        "title": "e.title",
        "series_id": "p.series_id",
        "series_title": "p.series_title",
        "season_number": "e.season_number",
        "episode_number": "e.episode_number",
        "year": "p.series_year",
        "air_date": _utc("e.air_date_utc"),
        "added": "NULL::text",
        "monitored": "e.monitored",
        "has_file": "e.has_file",
        "quality": _quality_name("e"),
        "cutoff_not_met": "e.quality_cutoff_not_met",
        "arr_status": "NULL::text",
        "episode_count": "NULL::int",
        "episode_file_count": "NULL::int",
        "missing_count": "NULL::int",
        "wanted": _WANTED_ITEM.format(a="e"),
        "registry": _REGISTRY_JSON,
    },
}
# Beyond the sort keys, what the page query carries out of the inner select (episodes: their
# series' columns, so the page is not joined to series a second time).
_CARRIED = {"episode": {"series_id": "s.id", "series_title": "s.title", "series_year": "s.year"}}


# The page is chosen first on the sort keys alone (filters, ORDER BY, LIMIT, OFFSET), and
# only its rows are then joined for their columns and built into JSON: skipped OFFSET
# rows and sort candidates never pay for the registry lookup or the JSON.
_PAGE_JOINS = {
    "series": "JOIN series s ON s.id = p.id",
    "movie": "JOIN movies m ON m.id = p.id LEFT JOIN search_registry r ON r.movie_id = m.id",
    "episode": "JOIN episodes e ON e.id = p.id LEFT JOIN search_registry r ON r.episode_id = e.id",
}


def _page_sql(query: PageQuery, *, where: str, keys: Sequence[Key], limit: str) -> str:
    direction = " DESC" if query.sort.startswith("-") else ""
    kind = query.kind
    # Only this sort's keys (and what episodes carry): a title page of series or movies is
    # then read from the (title_key, id) index alone.
    columns = {k.column: k.sql for k in keys}
    columns.setdefault("id", {"series": "s.id", "movie": "m.id", "episode": "e.id"}[kind])
    columns.update(_CARRIED.get(kind, {}))
    inner = ", ".join(f"{sql} AS {column}" for column, sql in columns.items())
    order = ", ".join(f"{k.sql}{direction}" for k in keys)
    outer = ", ".join(f"p.{column}" for column in columns)
    outer_order = ", ".join(f"p.{k.column}{direction}" for k in keys)
    return (
        f"SELECT {_json_object(_ITEMS[kind])}::text AS item, {outer}"  # noqa: S608
        f" FROM (SELECT {inner} {_from(query, with_series=True)}{where} ORDER BY {order} {limit}) p"
        f" {_PAGE_JOINS[kind]} ORDER BY {outer_order}"
    )


_REGISTRY_STATUSES = ("queued", "searching", "exhausted")


def _from(query: PageQuery, *, with_series: bool) -> str:
    """The smallest FROM: joins only what the filters look at, plus the series of episodes
    when the page needs them (its sort keys and carried columns) rather than only a count."""
    if query.kind == "series":
        return "FROM series s"
    registry = query.status in _REGISTRY_STATUSES
    if query.kind == "movie":
        join = " JOIN search_registry r ON r.movie_id = m.id" if registry else ""
        return "FROM movies m" + join
    sql = "FROM episodes e"
    if with_series or query.q:
        sql += " JOIN series s ON s.connector_id = e.connector_id AND s.arr_id = e.series_arr_id"
    if registry:
        sql += " JOIN search_registry r ON r.episode_id = e.id"
    return sql


# search_registry.episode_id/movie_id are unique and reference their item (ON DELETE
# CASCADE), so "items with an entry in state X" is "entries in state X": no join needed.
_REGISTRY_KEY = {"episode": "r.episode_id IS NOT NULL", "movie": "r.movie_id IS NOT NULL"}


def _count_sql(query: PageQuery, clauses: list[str]) -> str:
    """The capped count of the query's matches."""
    cap = f"{TOTAL_CAP + 1:d}"
    if (
        query.kind in _REGISTRY_KEY
        and query.status in _REGISTRY_STATUSES
        and query.q is None
        and query.connector_id is None
    ):
        where = f"{_REGISTRY_KEY[query.kind]} AND {STATUS_SQL[query.kind][query.status]}"
        return f"SELECT count(*) FROM (SELECT 1 FROM search_registry r WHERE {where} LIMIT {cap}) t"  # noqa: S608
    where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
    return f"SELECT count(*) FROM (SELECT 1 {_from(query, with_series=False)}{where} LIMIT {cap}) t"  # noqa: S608


_ALIAS = {"series": "s", "movie": "m", "episode": "e"}
# The stored lower(title) (gateway migration 0005); search patterns are lower-cased too.
_TITLE = {"series": "s.title_key", "movie": "m.title_key", "episode": "s.title_key"}


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
    match: str = "series"  # episodes: "series" (their series' title, the default) or "episode"
    limit: int = 50
    offset: int = 0
    after: list[Any] | None = None  # decoded cursor values
    with_total: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class Page:
    """Rows of one page, whether more follow, and the (capped) total."""

    rows: Sequence[Mapping[str, Any]]  # "item": the ContentItem as JSON text; sort keys
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
        # Episodes match their series' title unless asked for their own: no trigram index on
        # episode titles (on 200,000 rows it made the sync's inserts 7x slower), so that
        # search scans, and an OR of both would make every episode search scan.
        title = "lower(e.title)" if query.match == "episode" else _TITLE[query.kind]
        clauses.append(f"{title} LIKE ${len(args)}")
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
    # LIMIT and OFFSET are written into the SQL (validated ints, never client text): with
    # them as parameters PostgreSQL plans every execution afresh (a generic plan cannot
    # cost "LIMIT $n"), and planning cost more than running these queries.
    limit = f"LIMIT {int(query.limit) + 1:d}"
    if query.after is None and query.offset:
        limit += f" OFFSET {int(query.offset):d}"
    sql = _page_sql(query, where=where, keys=keys, limit=limit)
    rows = await conn.fetch(sql, *args)
    more = len(rows) > query.limit
    rows = rows[: query.limit]
    total: int | None = None
    if query.with_total:
        counted = await conn.fetchval(_count_sql(query, count_clauses), *count_args)
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
        f" e.monitored, e.has_file, {_quality_name('e')} AS quality,"
        f" e.quality_cutoff_not_met, e.file_size, {_WANTED_ITEM.format(a='e')} AS wanted,"
        f" {_ENTRY}"
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
        f"SELECT m.*, {_quality_name('m')} AS quality_name,"  # noqa: S608
        f" {_WANTED_ITEM.format(a='m')} AS wanted, {_ENTRY}"
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
        # Queued by hand: the request's correlation id follows the entries to the command.
        if action == "queue":
            sets = "state = 'pending', next_eligible_at = now(), correlation_id = $2"
            args.append(get_correlation_id())
        elif action == "reset":
            sets = (
                "state = 'pending', attempts = 0, last_error = NULL, next_eligible_at = now(),"
                " correlation_id = $2"
            )
            args.append(get_correlation_id())
        elif action == "exhaust":
            sets = "state = 'exhausted'"
        else:
            # Re-ranked at once: the queue shows the new order on its next read.
            sets = set_user_priority_sql(value="$2::integer", weight=f"({USER_WEIGHT_SQL})")
            args += [priority]
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
