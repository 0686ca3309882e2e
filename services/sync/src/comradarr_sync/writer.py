"""Bulk writes into the content mirror: each batch copied (COPY, CSV) into temp staging
tables, then one merge."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Collection, Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
import orjson
from comradarr_db import Connection

# Each staging table's columns with their types. Rows reach PostgreSQL as CSV for COPY (see
# encode_csv): written by orjson in C, a third of the client CPU of a binary COPY, whose
# per-value encoding was the sync's largest cost after parsing; and read by PostgreSQL for a
# third of the CPU it spent taking a JSON array of the same rows apart.
SERIES_STAGE = (
    ("arr_id", "integer"), ("tvdb_id", "integer"), ("imdb_id", "text"), ("title", "text"),
    ("sort_title", "text"), ("status", "text"), ("series_type", "text"), ("year", "integer"),
    ("monitored", "boolean"), ("quality_profile_id", "integer"), ("added", "timestamptz"),
    ("first_aired", "timestamptz"), ("previous_airing", "timestamptz"),
    ("next_airing", "timestamptz"), ("season_count", "integer"), ("episode_count", "integer"),
    ("episode_file_count", "integer"), ("total_episode_count", "integer"),
    ("size_on_disk", "bigint"), ("content_hash", "bigint"),
)  # fmt: skip
SEASON_STAGE = (
    ("series_arr_id", "integer"), ("season_number", "integer"), ("monitored", "boolean"),
    ("episode_count", "integer"), ("episode_file_count", "integer"),
    ("total_episode_count", "integer"), ("size_on_disk", "bigint"),
    ("previous_airing", "timestamptz"), ("next_airing", "timestamptz"),
    ("fully_aired", "boolean"), ("airing", "boolean"),
)  # fmt: skip
EPISODE_STAGE = (
    ("arr_id", "integer"), ("series_arr_id", "integer"), ("season_number", "integer"),
    ("episode_number", "integer"), ("absolute_episode_number", "integer"), ("title", "text"),
    ("air_date_utc", "timestamptz"), ("monitored", "boolean"), ("has_file", "boolean"),
    ("episode_file_id", "integer"), ("quality_id", "quality"),
    ("quality_cutoff_not_met", "boolean"), ("file_size", "bigint"),
    ("last_search_time", "timestamptz"),
)  # fmt: skip
MOVIE_STAGE = (
    ("arr_id", "integer"), ("tmdb_id", "integer"), ("imdb_id", "text"), ("foreign_id", "text"),
    ("title", "text"), ("sort_title", "text"), ("year", "integer"), ("status", "text"),
    ("monitored", "boolean"), ("is_available", "boolean"), ("quality_profile_id", "integer"),
    ("has_file", "boolean"), ("movie_file_id", "integer"), ("quality_id", "quality"),
    ("quality_cutoff_not_met", "boolean"), ("file_size", "bigint"),
    ("last_search_time", "timestamptz"), ("added", "timestamptz"), ("in_cinemas", "timestamptz"),
    ("physical_release", "timestamptz"), ("digital_release", "timestamptz"),
    ("release_date", "timestamptz"), ("content_hash", "bigint"), ("fresh", "boolean"),
)  # fmt: skip
Stage = tuple[tuple[str, str], ...]
STAGES: dict[str, Stage] = {
    "stage_series": SERIES_STAGE,
    "stage_seasons": SEASON_STAGE,
    "stage_episodes": EPISODE_STAGE,
    "stage_movies": MOVIE_STAGE,
}


# The kind of a column holding a quality: a row carries it as an index into the sync's
# QualityTable, staged as is and written as the id of the model in the qualities table.
_QUALITY = "quality"


def _staging_ddl() -> str:
    """Staging tables live for the session; ON COMMIT DELETE ROWS empties them per batch."""
    return "".join(
        f"CREATE TEMP TABLE IF NOT EXISTS {name} ("
        + ", ".join(f"{column} {'integer' if kind == _QUALITY else kind}" for column, kind in stage)
        + ") ON COMMIT DELETE ROWS;"
        for name, stage in STAGES.items()
    )


_STAGING = _staging_ddl()
_KINDS = {column: kind for stage in STAGES.values() for column, kind in stage}


def _names(stage: Stage, *without: str) -> tuple[str, ...]:
    return tuple(c for c, _ in stage if c not in without)


SERIES_COLUMNS = _names(SERIES_STAGE, "content_hash")
SEASON_COLUMNS = _names(SEASON_STAGE)
EPISODE_COLUMNS = _names(EPISODE_STAGE)
MOVIE_COLUMNS = _names(MOVIE_STAGE, "content_hash", "fresh")

# Series and movie rows carry the digest of their values (see the mirror's content_hash):
# written with the values, never compared as one of them.
_HASH = "content_hash"


def _values(columns: Sequence[str], qualities: str) -> str:
    """The staged values of columns; a quality (an index) becomes its id, from the int[]
    parameter qualities (the ids of the batch's QualityTable entries)."""
    return ", ".join(
        f"({qualities}::int[])[s.{c} + 1]" if _KINDS[c] == _QUALITY else f"s.{c}" for c in columns
    )


def _key_order(key: Sequence[str]) -> str:
    """The staged rows' key, as ORDER BY takes it."""
    return ", ".join(f"s.{c}" for c in key)


def _upsert_sql(
    table: str,
    stage: str,
    columns: Sequence[str],
    key: Sequence[str],
    *,
    hashed: bool = False,
    where: str = "true",
    qualities: str = "$2",
) -> str:
    """INSERT … ON CONFLICT DO UPDATE that touches only rows whose values differ, returning
    (xmax = 0) AS inserted for each row it wrote ($1 connector; qualities as for _values).

    Rows go in key order: a batch's series arrive from concurrent fetches slightly out of
    order, and keys that only grow let each index insert land on the rightmost leaf it used
    last (PostgreSQL's fast path) instead of searching the tree.
    """
    written = [*columns, _HASH] if hashed else list(columns)
    updated = [c for c in columns if c not in key]
    sets = ", ".join(f"{c} = EXCLUDED.{c}" for c in [*updated, *([_HASH] if hashed else [])])
    old = ", ".join(f"t.{c}" for c in updated)
    new = ", ".join(f"EXCLUDED.{c}" for c in updated)
    conflict = ", ".join(("connector_id", *key))
    # Table and column names come from the constants above; values are parameters.
    return (
        f"INSERT INTO {table} AS t (connector_id, {', '.join(written)})"  # noqa: S608
        f" SELECT $1, {_values(written, qualities)} FROM {stage} s WHERE {where}"
        f" ORDER BY {_key_order(key)}"
        f" ON CONFLICT ({conflict}) DO UPDATE SET {sets}, synced_at = now()"
        f" WHERE ({old}) IS DISTINCT FROM ({new})"
        " RETURNING (xmax = 0) AS inserted"
    )


def _insert_sql(
    table: str,
    stage: str,
    columns: Sequence[str],
    key: Sequence[str],
    *,
    hashed: bool = False,
    where: str,
    qualities: str = "$2",
) -> str:
    """Plain INSERT of staged rows that cannot be in the table yet: no conflict handling (in
    key order, as for _upsert_sql)."""
    written = [*columns, _HASH] if hashed else list(columns)
    # Names come from the constants above; values are parameters.
    return (
        f"INSERT INTO {table} (connector_id, {', '.join(written)})"  # noqa: S608
        f" SELECT $1, {_values(written, qualities)} FROM {stage} s WHERE {where}"
        f" ORDER BY {_key_order(key)} RETURNING 1"
    )


_COUNT = (
    " SELECT count(*) FILTER (WHERE inserted) AS inserted,"
    " count(*) FILTER (WHERE NOT inserted) AS updated FROM m"
)


def _merge_sql(
    table: str, stage: str, columns: Sequence[str], key: Sequence[str], *, hashed: bool = False
) -> str:
    """The upsert of every staged row, answering (inserted, updated)."""
    return f"WITH m AS ({_upsert_sql(table, stage, columns, key, hashed=hashed)})" + _COUNT


def _fresh_ctes(
    table: str,
    stage: str,
    columns: Sequence[str],
    *,
    fresh: str,
    hashed: bool = False,
    qualities: str = "$2",
) -> str:
    """Two CTEs: staged rows matching fresh are new to the mirror (fresh: a plain INSERT,
    which costs less than an upsert), the others are upserted (m)."""
    key = ("arr_id",)
    insert = _insert_sql(
        table, stage, columns, key, hashed=hashed, where=fresh, qualities=qualities
    )
    upsert = _upsert_sql(
        table, stage, columns, key, hashed=hashed, where=f"NOT ({fresh})", qualities=qualities
    )
    return f"fresh AS ({insert}), m AS ({upsert})"


_COUNT_FRESH = (
    " SELECT (SELECT count(*) FROM fresh) + count(*) FILTER (WHERE inserted) AS inserted,"
    " count(*) FILTER (WHERE NOT inserted) AS updated"
)

# One statement per episode batch, after its staging. $1 connector, $2 completely fetched
# series that were in the mirror (their episodes missing from the batch are gone), $3/$4
# every completely fetched series with its statistics fingerprint, $5 series new to the
# mirror: none of their episodes can be stored yet, so theirs go in by a plain INSERT, not
# checked for conflicts (the first sync of a library is nearly all such rows); the rest are
# upserted. $6 the ids of the batch's QualityTable entries. The parts touch disjoint rows,
# so one snapshot serves them all.
_WRITE_EPISODES = (
    "WITH "  # noqa: S608 (constant names; values are parameters)
    + _fresh_ctes(
        "episodes",
        "stage_episodes",
        EPISODE_COLUMNS,
        fresh="s.series_arr_id = ANY($5::int[])",
        qualities="$6",
    )
    + ", gone AS (DELETE FROM episodes t WHERE t.connector_id = $1"
    " AND t.series_arr_id = ANY($2::int[])"
    " AND NOT EXISTS (SELECT 1 FROM stage_episodes s WHERE s.arr_id = t.arr_id) RETURNING 1),"
    " done AS (UPDATE series t SET episodes_fingerprint = f.fp"
    " FROM unnest($3::int[], $4::text[]) AS f(arr_id, fp)"
    " WHERE t.connector_id = $1 AND t.arr_id = f.arr_id"
    " AND t.episodes_fingerprint IS DISTINCT FROM f.fp RETURNING 1)"
    + _COUNT_FRESH
    + ", (SELECT count(*) FROM gone) AS deleted FROM m"
)
_MERGE_SERIES = _merge_sql("series", "stage_series", SERIES_COLUMNS, ("arr_id",), hashed=True)
_MERGE_SEASONS = _merge_sql(
    "seasons", "stage_seasons", SEASON_COLUMNS, ("series_arr_id", "season_number")
)
# Movies new to the mirror are staged with fresh = true ($1 connector, $2 quality ids).
_MERGE_MOVIES = (
    "WITH "
    + _fresh_ctes("movies", "stage_movies", MOVIE_COLUMNS, fresh="s.fresh", hashed=True)
    + _COUNT_FRESH
    + " FROM m"
)


def _rehash_sql(table: str, stage: str) -> str:
    """Store the digest of staged rows whose values the merge found equal (a row written
    before the digest existed, or under another digest): not counted as an update."""
    # Names are the constants above.
    return (
        f"UPDATE {table} t SET {_HASH} = s.{_HASH} FROM {stage} s"  # noqa: S608
        f" WHERE t.connector_id = $1 AND t.arr_id = s.arr_id"
        f" AND t.{_HASH} IS DISTINCT FROM s.{_HASH}"
    )


_REHASH_SERIES = _rehash_sql("series", "stage_series")
_REHASH_MOVIES = _rehash_sql("movies", "stage_movies")


# The ids of quality models ($1: a JSON array of them), stored first if new, in the order
# given. Inserted in one order (the models' own) by every writer, so two writers storing
# the same new models wait for each other instead of deadlocking. A model another
# transaction stored after this statement began is skipped by the insert and not seen by the
# join: its id comes back NULL, and asking again finds it.
_QUALITY_IDS = """
WITH given AS (
    SELECT g.model, g.ord
    FROM jsonb_array_elements(convert_from($1::bytea, 'UTF8')::jsonb)
         WITH ORDINALITY AS g(model, ord)
), added AS (
    INSERT INTO qualities (model) SELECT model FROM given ORDER BY model
    ON CONFLICT (model) DO NOTHING RETURNING id, model
)
SELECT g.ord, coalesce(a.id, q.id) AS id
FROM given g
LEFT JOIN added a ON a.model = g.model
LEFT JOIN qualities q ON q.model = g.model
ORDER BY g.ord
"""


# The CSV that staging reads: orjson's JSON values are CSV fields as they stand (numbers,
# true/false, null, which COPY reads as NULL, and strings in double quotes), once the JSON
# escapes inside strings are CSV's, where a backslash is a plain character.
_STRING_ESCAPES = (
    (b'\\"', b'""'),  # a quote inside a quoted field is doubled
    (b"\\n", b"\n"),  # line breaks and the rest stand as themselves inside quotes
    (b"\\r", b"\r"),
    (b"\\t", b"\t"),
    (b"\\b", b"\b"),
    (b"\\f", b"\f"),
    (b"\\/", b"/"),
)
_CONTROL_ESCAPE = re.compile(rb"\\u([0-9a-fA-F]{4})")


def _control(match: re.Match[bytes]) -> bytes:
    # orjson writes only control characters as \uXXXX; PostgreSQL text cannot hold NUL.
    code = int(match[1], 16)
    return chr(code).encode() if code else b""


def _csv_strings(body: bytes) -> bytes:
    """JSON string escapes rewritten for CSV (they occur only inside strings)."""
    # An escaped backslash is held as NUL (never raw in orjson's output) meanwhile, so its
    # second half cannot start another escape.
    body = body.replace(b"\\\\", b"\0")
    for escape, raw in _STRING_ESCAPES:
        body = body.replace(escape, raw)
    if b"\\u" in body:
        body = _CONTROL_ESCAPE.sub(_control, body)
    return body.replace(b"\0", b"\\")


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data


def encode_csv(rows: Sequence[tuple[Any, ...]]) -> bytes:
    """Rows as CSV lines, each ending in a line break, for COPY (format csv, null 'null');
    chunks of them join by concatenation.

    Values may be None, bool, int, str or datetimes (naive ones are UTC); a quality is its
    index in the batch's QualityTable.
    """
    if not rows:
        return b""
    # One orjson call for them all: '[[row],[row]]'; the rows' brackets become line breaks.
    body = orjson.dumps(rows, option=orjson.OPT_NAIVE_UTC)[2:-2]
    if body.count(b"],[") == len(rows) - 1:
        body = body.replace(b"],[", b"\n")
    else:  # some string holds "],[": one row at a time
        body = b"\n".join(orjson.dumps(row, option=orjson.OPT_NAIVE_UTC)[1:-1] for row in rows)
    if b"\\" in body:
        body = _csv_strings(body)
    return body + b"\n"


class QualityTable:
    """The distinct quality models of one sync, in the order first seen.

    Rows carry a quality as its index here; every batch takes the table's entries (a
    handful: a library has few distinct quality models), which the writer maps to their ids
    in the qualities table. Indexes only grow, so entries taken after a row was made cover
    it.
    """

    __slots__ = ("_fragments", "_index", "_json")

    def __init__(self) -> None:
        self._index: dict[Hashable, int] = {}
        self._json: list[bytes] = []
        self._fragments: list[orjson.Fragment] = []

    def get(self, key: Hashable) -> int | None:
        """The index of the quality known by key (TypeError if key cannot be hashed)."""
        return self._index.get(key)

    def add(self, key: Hashable, encoded: bytes) -> int:
        """Store a quality (its JSON) under key; its index."""
        index = self._index[key] = len(self._json)
        self._json.append(encoded)
        self._fragments.append(orjson.Fragment(encoded))
        return index

    def fragment(self, index: int) -> orjson.Fragment:
        """The quality at index as JSON, for orjson (digests of rows hash the quality itself)."""
        return self._fragments[index]

    def entries(self) -> tuple[bytes, ...]:
        """Each quality's JSON, in index order (what a batch's rows refer to)."""
        return tuple(self._json)


@dataclass(slots=True)
class KnownSeries:
    """What the mirror holds for one series: its digest and its episodes' fingerprint."""

    content_hash: int | None
    episodes_fingerprint: str | None


@dataclass(slots=True)
class Counts:
    """Rows inserted, updated and deleted by one sync."""

    inserted: int = 0
    updated: int = 0
    deleted: int = 0

    def add(self, row: Any) -> None:
        """Add the (inserted, updated) counts a merge returned."""
        self.inserted += int(row["inserted"])
        self.updated += int(row["updated"])


class MirrorWriter:
    """Writes one connector's rows through one connection."""

    def __init__(self, conn: Connection, *, connector_id: int) -> None:
        self.conn = conn
        self.connector_id = connector_id
        self.counts = Counts()
        # Quality models (their JSON) already mapped to their id in the qualities table.
        self._quality_ids: dict[bytes, int] = {}

    async def quality_ids(self, entries: Sequence[bytes]) -> list[int]:
        """The ids in the qualities table of quality models (their JSON), stored if new.

        Runs on its own, outside any batch's transaction: a stored model is committed at
        once, so other writers never wait for a batch to see it.
        """
        known = self._quality_ids
        missing = [e for e in dict.fromkeys(entries) if e not in known]
        for _ in range(3):
            if not missing:
                break
            rows = await self.conn.fetch(_QUALITY_IDS, b"[" + b",".join(missing) + b"]")
            for row in rows:
                if row["id"] is not None:
                    known[missing[row["ord"] - 1]] = row["id"]
            missing = [e for e in missing if e not in known]
        if missing:
            raise RuntimeError(f"{len(missing)} quality models could not be stored")
        return [known[e] for e in entries]

    async def prepare(self) -> None:
        """Create the session's staging tables (once per connection).

        The mirror is a copy of what the app says, so its batches commit without waiting
        for the WAL flush (synchronous_commit off, for this session only: the pool's RESET
        ALL on release restores it). A crash can lose the last moments of committed batches
        but never leaves them half-applied; their series lose nothing but the fingerprint
        written with them, so the next sync reads those series again.
        """
        await self.conn.execute(_STAGING + "SET synchronous_commit TO off;")

    async def _stage(self, table: str, rows: bytes) -> None:
        """COPY encode_csv lines into a staging table."""
        if rows:
            # As one chunk of an async iterable: bytes would be taken for a path, and a file
            # is read through a thread.
            await self.conn.copy_to_table(table, source=_once(rows), format="csv", null="null")

    async def known_series(self) -> dict[int, KnownSeries]:
        """The connector's series in the mirror (one read at the start of a sync)."""
        rows = await self.conn.fetch(
            "SELECT arr_id, content_hash, episodes_fingerprint FROM series WHERE connector_id = $1",
            self.connector_id,
        )
        return {r[0]: KnownSeries(r[1], r[2]) for r in rows}

    async def known_movies(self) -> dict[int, int | None]:
        """The connector's movies in the mirror with their digests."""
        rows = await self.conn.fetch(
            "SELECT arr_id, content_hash FROM movies WHERE connector_id = $1", self.connector_id
        )
        return {r[0]: r[1] for r in rows}

    async def write_series(
        self,
        series: Sequence[tuple[Any, ...]],
        seasons: Sequence[tuple[Any, ...]],
        *,
        rehash: bool = True,
    ) -> None:
        """Merge a batch of series (rows ending in their digest) and their seasons.

        rehash: some of the series were in the mirror already (a new row has its digest).
        """
        ids = [row[0] for row in series]
        async with self.conn.transaction():
            await self._stage("stage_series", encode_csv(series))
            await self._stage("stage_seasons", encode_csv(seasons))
            self.counts.add(await self.conn.fetchrow(_MERGE_SERIES, self.connector_id))
            if rehash:
                await self.conn.execute(_REHASH_SERIES, self.connector_id)
            await self.conn.fetchrow(_MERGE_SEASONS, self.connector_id)
            status = await self.conn.execute(
                "DELETE FROM seasons t WHERE t.connector_id = $1 AND t.series_arr_id = ANY($2)"
                " AND NOT EXISTS (SELECT 1 FROM stage_seasons s WHERE"
                " s.series_arr_id = t.series_arr_id AND s.season_number = t.season_number)",
                self.connector_id,
                ids,
            )
            del status  # seasons follow their series; only content rows are counted

    async def write_episodes(
        self,
        episodes: Sequence[tuple[int, bytes]],
        complete: Sequence[tuple[int, str]],
        incomplete: Sequence[int] = (),
        fresh: Collection[int] = (),
        qualities: Sequence[bytes] = (),
    ) -> None:
        """Merge episodes; for series fetched completely, drop vanished ones and mark them done.

        episodes holds (series id, encode_csv lines of its episodes in EPISODE_COLUMNS order),
        their qualities indexes into qualities (QualityTable.entries()).

        complete holds (series id, statistics fingerprint) of series whose whole episode list
        is in this batch and parsed cleanly; their fingerprint is stored in the same
        transaction, so a sync killed before commit fetches them again next time; series in
        incomplete had records that could not be read and lose their fingerprint, so the next
        sync reads them again. fresh names series that were not in the mirror when this sync
        began: their episodes are inserted without conflict handling (should one be stored
        after all, the batch is merged instead).
        """
        ids = await self.quality_ids(qualities)
        try:
            await self._write_episodes(episodes, complete, incomplete, fresh, ids)
        except asyncpg.UniqueViolationError:
            if not fresh:
                raise
            await self._write_episodes(episodes, complete, incomplete, (), ids)

    async def _write_episodes(
        self,
        episodes: Sequence[tuple[int, bytes]],
        complete: Sequence[tuple[int, str]],
        incomplete: Sequence[int],
        fresh: Collection[int],
        qualities: list[int],
    ) -> None:
        async with self.conn.transaction():
            if incomplete:
                await self.conn.execute(
                    "UPDATE series SET episodes_fingerprint = NULL"
                    " WHERE connector_id = $1 AND arr_id = ANY($2::int[])",
                    self.connector_id,
                    list(incomplete),
                )
            if not episodes and not complete:
                return
            await self._stage("stage_episodes", b"".join(rows for _, rows in episodes))
            done = [c[0] for c in complete]
            row = await self.conn.fetchrow(
                _WRITE_EPISODES,
                self.connector_id,
                [sid for sid in done if sid not in fresh],
                done,
                [c[1] for c in complete],
                [sid for sid, _ in episodes if sid in fresh],
                qualities,
            )
            assert row is not None
            self.counts.add(row)
            self.counts.deleted += int(row["deleted"])

    async def write_movies(
        self,
        movies: Sequence[tuple[Any, ...]],
        *,
        rehash: bool = True,
        qualities: Sequence[bytes] = (),
    ) -> None:
        """Merge a batch of movies (rows ending in their digest and whether the movie is new
        to the mirror: inserted without conflict handling; qualities as for episodes);
        rehash as for series."""
        rows = encode_csv(movies)
        ids = await self.quality_ids(qualities)
        try:
            await self._write_movies(rows, ids, rehash=rehash, fresh=True)
        except asyncpg.UniqueViolationError:
            if not any(row[-1] for row in movies):
                raise
            await self._write_movies(rows, ids, rehash=rehash, fresh=False)

    async def _write_movies(
        self, movies: bytes, qualities: list[int], *, rehash: bool, fresh: bool
    ) -> None:
        async with self.conn.transaction():
            await self._stage("stage_movies", movies)
            if not fresh:  # merged after all: one of them was stored meanwhile
                await self.conn.execute("UPDATE stage_movies SET fresh = false")
            self.counts.add(await self.conn.fetchrow(_MERGE_MOVIES, self.connector_id, qualities))
            if rehash:
                await self.conn.execute(_REHASH_MOVIES, self.connector_id)

    async def delete_vanished(self, *, table: str, seen: Sequence[int]) -> None:
        """Delete series or movies the app no longer lists (cascading to their search state)."""
        if table not in ("series", "movies"):
            raise ValueError(table)
        before = 0
        if table == "series":
            # Episodes go with their series by cascade: count them as deleted content too.
            before = int(
                await self.conn.fetchval(
                    "SELECT count(*) FROM episodes e WHERE e.connector_id = $1 AND NOT EXISTS"
                    " (SELECT 1 FROM unnest($2::int[]) AS s(id) WHERE s.id = e.series_arr_id)",
                    self.connector_id,
                    list(seen),
                )
            )
        # table is one of two names checked above; values are parameters. An anti-join on
        # unnest hashes; NOT (x = ANY(array)) would compare every row with every id.
        status = await self.conn.execute(
            f"DELETE FROM {table} t WHERE t.connector_id = $1"  # noqa: S608
            " AND NOT EXISTS (SELECT 1 FROM unnest($2::int[]) AS s(id) WHERE s.id = t.arr_id)",
            self.connector_id,
            list(seen),
        )
        self.counts.deleted += int(status.split()[-1]) + before
