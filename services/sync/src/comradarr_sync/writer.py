"""Bulk writes into the content mirror: each batch copied (COPY, CSV), its rows new to the
mirror straight into their tables, the rest into temp staging tables and then one merge."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Collection, Hashable, Sequence
from dataclasses import dataclass
from operator import itemgetter
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
# Episode and movie rows start with their connector: rows of items new to the mirror are
# copied straight into its tables, the others staged and merged.
EPISODE_STAGE = (
    ("connector_id", "integer"), ("arr_id", "integer"), ("series_arr_id", "integer"),
    ("season_number", "integer"),
    ("episode_number", "integer"), ("absolute_episode_number", "integer"), ("title", "text"),
    ("air_date_utc", "timestamptz"), ("monitored", "boolean"), ("has_file", "boolean"),
    ("episode_file_id", "integer"), ("quality_id", "integer"),
    ("quality_cutoff_not_met", "boolean"), ("custom_format_score", "integer"),
    ("file_size", "bigint"), ("last_search_time", "timestamptz"),
)  # fmt: skip
MOVIE_STAGE = (
    ("connector_id", "integer"), ("arr_id", "integer"), ("tmdb_id", "integer"),
    ("imdb_id", "text"), ("foreign_id", "text"),
    ("title", "text"), ("sort_title", "text"), ("year", "integer"), ("status", "text"),
    ("monitored", "boolean"), ("is_available", "boolean"), ("quality_profile_id", "integer"),
    ("has_file", "boolean"), ("movie_file_id", "integer"), ("quality_id", "integer"),
    ("quality_cutoff_not_met", "boolean"), ("custom_format_score", "integer"),
    ("file_size", "bigint"),
    ("last_search_time", "timestamptz"), ("added", "timestamptz"), ("in_cinemas", "timestamptz"),
    ("physical_release", "timestamptz"), ("digital_release", "timestamptz"),
    ("release_date", "timestamptz"), ("content_hash", "bigint"),
)  # fmt: skip
Stage = tuple[tuple[str, str], ...]
STAGES: dict[str, Stage] = {
    "stage_series": SERIES_STAGE,
    "stage_seasons": SEASON_STAGE,
    "stage_episodes": EPISODE_STAGE,
    "stage_movies": MOVIE_STAGE,
}


def _staging_ddl() -> str:
    """Staging tables live for the session; ON COMMIT DELETE ROWS empties them per batch."""
    return "".join(
        f"CREATE TEMP TABLE IF NOT EXISTS {name} ("
        + ", ".join(f"{column} {kind}" for column, kind in stage)
        + ") ON COMMIT DELETE ROWS;"
        for name, stage in STAGES.items()
    )


_STAGING = _staging_ddl()


def _names(stage: Stage, *without: str) -> tuple[str, ...]:
    return tuple(c for c, _ in stage if c not in without)


SERIES_COLUMNS = _names(SERIES_STAGE, "content_hash")
SEASON_COLUMNS = _names(SEASON_STAGE)
# The values a merge writes (the connector is the writer's own) …
EPISODE_COLUMNS = _names(EPISODE_STAGE, "connector_id")
MOVIE_COLUMNS = _names(MOVIE_STAGE, "connector_id", "content_hash")
# … and the columns a COPY straight into the table fills: every staged one.
EPISODE_COPY = _names(EPISODE_STAGE)
MOVIE_COPY = _names(MOVIE_STAGE)

# Series and movie rows carry the digest of their values (see the mirror's content_hash):
# written with the values, never compared as one of them.
_HASH = "content_hash"


def _staged(columns: Sequence[str]) -> str:
    """Columns of the staged rows (alias s), as a select list or ORDER BY takes them."""
    return ", ".join(f"s.{c}" for c in columns)


def _upsert_sql(
    table: str,
    stage: str,
    columns: Sequence[str],
    key: Sequence[str],
    *,
    hashed: bool = False,
) -> str:
    """INSERT … ON CONFLICT DO UPDATE that touches only rows whose values differ, returning
    (xmax = 0) AS inserted for each row it wrote ($1 connector).

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
        f" SELECT $1, {_staged(written)} FROM {stage} s ORDER BY {_staged(key)}"
        f" ON CONFLICT ({conflict}) DO UPDATE SET {sets}, synced_at = now()"
        f" WHERE ({old}) IS DISTINCT FROM ({new})"
        " RETURNING (xmax = 0) AS inserted"
    )


_COUNT = (
    " SELECT count(*) FILTER (WHERE inserted) AS inserted,"
    " count(*) FILTER (WHERE NOT inserted) AS updated"
)


def _merge_sql(
    table: str, stage: str, columns: Sequence[str], key: Sequence[str], *, hashed: bool = False
) -> str:
    """The upsert of every staged row, answering (inserted, updated)."""
    return (
        f"WITH m AS ({_upsert_sql(table, stage, columns, key, hashed=hashed)})" + _COUNT + " FROM m"
    )


# One statement per episode batch, after its staging. $1 connector, $2 completely fetched
# series that were in the mirror (their episodes missing from the batch are gone), $3/$4
# every completely fetched series with its statistics fingerprint. (Episodes of series new
# to the mirror are not staged: they are copied straight into the table first.) The parts
# touch disjoint rows, so one snapshot serves them all.
_WRITE_EPISODES = (
    "WITH m AS ("  # noqa: S608 (constant names; values are parameters)
    + _upsert_sql("episodes", "stage_episodes", EPISODE_COLUMNS, ("arr_id",))
    + "), gone AS (DELETE FROM episodes t WHERE t.connector_id = $1"
    " AND t.series_arr_id = ANY($2::int[])"
    " AND NOT EXISTS (SELECT 1 FROM stage_episodes s WHERE s.arr_id = t.arr_id) RETURNING 1),"
    " done AS (UPDATE series t SET episodes_fingerprint = f.fp"
    " FROM unnest($3::int[], $4::text[]) AS f(arr_id, fp)"
    " WHERE t.connector_id = $1 AND t.arr_id = f.arr_id"
    " AND t.episodes_fingerprint IS DISTINCT FROM f.fp RETURNING 1)"
    + _COUNT
    + ", (SELECT count(*) FROM gone) AS deleted FROM m"
)
_MERGE_SERIES = _merge_sql("series", "stage_series", SERIES_COLUMNS, ("arr_id",), hashed=True)
_MERGE_SEASONS = _merge_sql(
    "seasons", "stage_seasons", SEASON_COLUMNS, ("series_arr_id", "season_number")
)
_MERGE_MOVIES = _merge_sql("movies", "stage_movies", MOVIE_COLUMNS, ("arr_id",), hashed=True)


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


# Quality profiles: few rows per connector, read whole on every sync (one request).
_PROFILE_COLUMNS = (
    "arr_id", "name", "upgrade_allowed", "cutoff", "min_format_score", "cutoff_format_score",
    "min_upgrade_format_score",
)  # fmt: skip
_PROFILE_TYPES = ("int", "text", "bool", "int", "int", "int", "int")
_WRITE_PROFILES = (
    "WITH p AS (SELECT * FROM unnest("  # noqa: S608 (constant names; values are parameters)
    + ", ".join(f"${i + 2}::{t}[]" for i, t in enumerate(_PROFILE_TYPES))
    + ") AS p("
    + ", ".join(_PROFILE_COLUMNS)
    + ")), gone AS (DELETE FROM quality_profiles t WHERE t.connector_id = $1"
    " AND NOT EXISTS (SELECT 1 FROM p WHERE p.arr_id = t.arr_id))"
    " INSERT INTO quality_profiles AS t (connector_id, "
    + ", ".join(_PROFILE_COLUMNS)
    + ") SELECT $1, "
    + ", ".join(f"p.{c}" for c in _PROFILE_COLUMNS)
    + " FROM p ON CONFLICT (connector_id, arr_id) DO UPDATE SET "
    + ", ".join(f"{c} = EXCLUDED.{c}" for c in _PROFILE_COLUMNS[1:])
    + ", synced_at = now() WHERE ("
    + ", ".join(f"t.{c}" for c in _PROFILE_COLUMNS[1:])
    + ") IS DISTINCT FROM ("
    + ", ".join(f"EXCLUDED.{c}" for c in _PROFILE_COLUMNS[1:])
    + ")"
)


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


class QualityRef:
    """One quality model met by a sync: its JSON, and its id in the qualities table once the
    model is stored (None until then)."""

    __slots__ = ("fragment", "id", "json")

    def __init__(self, encoded: bytes) -> None:
        self.json = encoded
        # For orjson: digests of rows hash the quality itself, not its id.
        self.fragment = orjson.Fragment(encoded)
        self.id: int | None = None


def _quality_id(value: Any) -> int:
    """A row's QualityRef as orjson writes it: the id (orjson's default hook, which it calls
    only for the values it cannot write itself)."""
    if type(value) is QualityRef and value.id is not None:
        return value.id
    raise TypeError(f"cannot encode {value!r}")


def encode_csv(rows: Sequence[tuple[Any, ...]], *, prefix: bytes = b"") -> bytes:
    """Rows as CSV lines, each ending in a line break, for COPY (format csv, null 'null');
    chunks of them join by concatenation. prefix (e.g. b"7,") starts every line.

    Values may be None, bool, int, str, datetimes (naive ones are UTC) or a QualityRef,
    written as its id: orjson.JSONEncodeError while one has none yet.
    """
    if not rows:
        return b""
    # One orjson call for them all: '[[row],[row]]'; the rows' brackets become line breaks.
    options = orjson.OPT_NAIVE_UTC
    body = orjson.dumps(rows, default=_quality_id, option=options)[2:-2]
    if body.count(b"],[") == len(rows) - 1:
        body = prefix + body.replace(b"],[", b"\n" + prefix)
    else:  # some string holds "],[": one row at a time
        body = b"\n".join(
            prefix + orjson.dumps(row, default=_quality_id, option=options)[1:-1] for row in rows
        )
    if b"\\" in body:
        body = _csv_strings(body)
    return body + b"\n"


class QualityTable:
    """The distinct quality models of one sync, each a QualityRef (a handful: a library has
    few distinct quality models).

    Rows carry a quality as its QualityRef. A writer stores the models met since the last
    batch (resolve) before it writes the batch, so every ref in it has its id.
    """

    __slots__ = ("_new", "_refs")

    def __init__(self) -> None:
        self._refs: dict[Hashable, QualityRef] = {}
        self._new: list[QualityRef] = []

    def get(self, key: Hashable) -> QualityRef | None:
        """The quality known by key (TypeError if key cannot be hashed)."""
        return self._refs.get(key)

    def add(self, key: Hashable, encoded: bytes) -> QualityRef:
        """Store a quality (its JSON) under key; its ref, with no id yet."""
        ref = self._refs[key] = QualityRef(encoded)
        self._new.append(ref)
        return ref

    def unresolved(self) -> list[QualityRef]:
        """The refs that have no id yet."""
        self._new = [ref for ref in self._new if ref.id is None]
        return list(self._new)


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
        # What starts each episode or movie line: the connector (see EPISODE_STAGE).
        self._prefix = f"{connector_id},".encode()

    def encode(self, rows: Sequence[tuple[Any, ...]]) -> bytes:
        """Episode or movie rows (without their connector) as this connector's CSV lines."""
        return encode_csv(rows, prefix=self._prefix)

    async def resolve(self, qualities: QualityTable) -> None:
        """Give every quality model of the table that has no id yet its id (stored if new)."""
        refs = qualities.unresolved()
        if refs:
            for ref, id_ in zip(refs, await self.quality_ids([r.json for r in refs]), strict=True):
                ref.id = id_

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

    async def _copy(self, table: str, rows: bytes, columns: Sequence[str] | None = None) -> int:
        """COPY encode_csv lines into a table (into columns, by default all); how many."""
        if not rows:
            return 0
        # As one chunk of an async iterable: bytes would be taken for a path, and a file is
        # read through a thread.
        status = await self.conn.copy_to_table(
            table, source=_once(rows), columns=columns, format="csv", null="null"
        )
        return int(status.split()[-1])

    async def write_profiles(self, profiles: Sequence[tuple[Any, ...]]) -> None:
        """Store the connector's quality profiles (rows in _PROFILE_COLUMNS order) and drop
        the ones the app no longer has; a profile that did not change is not rewritten."""
        async with self.conn.transaction():
            await self.conn.execute(
                _WRITE_PROFILES,
                self.connector_id,
                *([row[i] for row in profiles] for i in range(len(_PROFILE_COLUMNS))),
            )

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
            await self._copy("stage_series", encode_csv(series))
            await self._copy("stage_seasons", encode_csv(seasons))
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
        episodes: Sequence[tuple[int, bytes | Sequence[tuple[Any, ...]]]],
        complete: Sequence[tuple[int, str]],
        incomplete: Sequence[int] = (),
        fresh: Collection[int] = (),
        qualities: QualityTable | None = None,
    ) -> None:
        """Write episodes; for series fetched completely, drop vanished ones and mark them done.

        episodes holds (series id, its episodes): this writer's encode() lines, or rows in
        EPISODE_COLUMNS order whose qualities (QualityRefs of qualities) may have no id yet,
        encoded here once resolved.

        complete holds (series id, statistics fingerprint) of series whose whole episode list
        is in this batch and parsed cleanly; their fingerprint is stored in the same
        transaction, so a sync killed before commit fetches them again next time; series in
        incomplete had records that could not be read and lose their fingerprint, so the next
        sync reads them again. fresh names series that were not in the mirror when this sync
        began: none of their episodes can be stored yet, so they are copied straight into the
        table, not staged and merged (the first sync of a library is nearly all such rows).
        Should one be stored after all, the batch is merged instead.
        """
        if qualities is not None:
            await self.resolve(qualities)
        # By series: with each series' episodes in id order, keys that only grow (see
        # _upsert_sql).
        chunks = sorted(
            (
                (sid, rows if isinstance(rows, bytes) else self.encode(rows))
                for sid, rows in episodes
            ),
            key=itemgetter(0),
        )
        try:
            await self._write_episodes(chunks, complete, incomplete, fresh)
        except asyncpg.UniqueViolationError:
            if not fresh:
                raise
            await self._write_episodes(chunks, complete, incomplete, ())

    async def _write_episodes(
        self,
        episodes: Sequence[tuple[int, bytes]],
        complete: Sequence[tuple[int, str]],
        incomplete: Sequence[int],
        fresh: Collection[int],
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
            new = b"".join(rows for sid, rows in episodes if sid in fresh)
            inserted = await self._copy("episodes", new, EPISODE_COPY)
            await self._copy(
                "stage_episodes", b"".join(rows for sid, rows in episodes if sid not in fresh)
            )
            done = [c[0] for c in complete]
            row = await self.conn.fetchrow(
                _WRITE_EPISODES,
                self.connector_id,
                [sid for sid in done if sid not in fresh],
                done,
                [c[1] for c in complete],
            )
            assert row is not None
            self.counts.add(row)
            self.counts.inserted += inserted
            self.counts.deleted += int(row["deleted"])

    async def write_movies(
        self,
        movies: Sequence[tuple[Any, ...]],
        *,
        new: Sequence[tuple[Any, ...]] = (),
        rehash: bool = True,
        qualities: QualityTable | None = None,
    ) -> None:
        """Merge a batch of movies (rows ending in their digest; their qualities QualityRefs
        of qualities); new ones, not in the mirror when the sync began, are copied straight
        into the table (merged after all should one be stored meanwhile). rehash as for
        series."""
        if qualities is not None:
            await self.resolve(qualities)
        merged = self.encode(movies)
        added = self.encode(sorted(new, key=itemgetter(0)))  # in key order, as merges are
        try:
            await self._write_movies(merged, added, rehash=rehash)
        except asyncpg.UniqueViolationError:
            if not added:
                raise
            await self._write_movies(merged + added, b"", rehash=True)

    async def _write_movies(self, merged: bytes, new: bytes, *, rehash: bool) -> None:
        async with self.conn.transaction():
            inserted = await self._copy("movies", new, MOVIE_COPY)
            if merged:
                await self._copy("stage_movies", merged)
                self.counts.add(await self.conn.fetchrow(_MERGE_MOVIES, self.connector_id))
                if rehash:
                    await self.conn.execute(_REHASH_MOVIES, self.connector_id)
        self.counts.inserted += inserted

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
