"""Restoring a backup: check everything first, then replace every table in one transaction.

The rows are loaded into a staging schema built by the backup's own migrations, migrated
there to this install's level, and only then moved into the live tables (whose objects,
and so the running services' prepared statements, stay the same). Any failure rolls the
whole transaction back: the database is as it was.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field

import asyncpg
from comradarr_db import Connection, Migration, apply_migrations, discover

from ._archive import BackupFile
from ._catalogue import SESSION_SETTINGS, Catalogue, quote, read_catalogue, sequence_value
from ._errors import InvalidBackupError, VersionError
from ._format import NEVER_BACKED_UP, Manifest, TablePart

# How long the final swap waits for the services' own locks before giving up (unchanged).
LOCK_TIMEOUT = "60s"
# Tables with at least this many rows are loaded without their plain indexes, rebuilt after.
BULK_ROWS = 10_000


@dataclass(frozen=True)
class Plan:
    """A checked backup and what restoring it will do."""

    manifest: Manifest
    before: list[Migration]  # applied to the staging schema before the rows are loaded
    after: list[Migration]  # applied after: the backup is migrated to this level

    @property
    def migrates(self) -> bool:
        """True when the backup is older than this install's schema."""
        return bool(self.after)


@dataclass
class RestoreResult:
    """What a restore did."""

    manifest: Manifest
    tables: int
    rows: int
    migrations_applied: list[str] = field(default_factory=list)
    seconds: float = 0.0
    # Seconds per step: schema (staging built), load (rows copied in), migrate (to this
    # level), swap (the live tables locked, emptied, filled: what running services wait for).
    steps: dict[str, float] = field(default_factory=dict)


def check_backup(
    backup: BackupFile, *, secret_key: str, migrations: Sequence[Migration] | None = None
) -> Plan:
    """Validate the whole file (manifest, key, HMAC, every part's checksum, versions)."""
    manifest = backup.manifest(secret_key=secret_key)
    known = list(discover() if migrations is None else migrations)
    plan = _plan(manifest, known)
    backup.verify(manifest)
    return plan


def _plan(manifest: Manifest, known: list[Migration]) -> Plan:
    by_key = {(m.component, m.version): m for m in known}
    highest: dict[str, int] = {}
    for m in known:
        highest[m.component] = max(highest.get(m.component, 0), m.version)
    taken: set[tuple[str, int]] = set()
    for applied in manifest.migrations:
        key = (applied.component, applied.version)
        code = by_key.get(key)
        if code is None:
            top = highest.get(applied.component)
            if top is None or applied.version > top:
                known_at = "does not know it" if top is None else f"knows up to {top:04d}"
                raise VersionError(
                    f"refused: the backup was made by a newer Comradarr "
                    f"({manifest.comradarr_version}): its {applied.component} schema is at "
                    f"migration {applied.version:04d}, and this install {known_at}. "
                    "Upgrade Comradarr to that version or later, then restore; nothing was changed"
                )
            raise InvalidBackupError(
                f"refused: the backup lists migration {applied.component}/"
                f"{applied.version:04d}, which this Comradarr never had; nothing was changed"
            )
        if code.checksum != applied.checksum:
            raise InvalidBackupError(
                f"refused: migration {applied.component}/{applied.version:04d} in the backup "
                "differs from this Comradarr's; nothing was changed"
            )
        taken.add(key)
    before = [m for m in known if (m.component, m.version) in taken]
    after = [m for m in known if (m.component, m.version) not in taken]
    return Plan(manifest=manifest, before=before, after=after)


async def _rows_of(backup: BackupFile, part: TablePart) -> AsyncIterator[bytes]:
    """The part's chunks, read off the event loop; its checks raise at the end."""
    chunks: Iterator[bytes] = backup.chunks(part)
    done = object()
    while True:
        chunk = await asyncio.to_thread(next, chunks, done)
        if chunk is done:
            return
        assert isinstance(chunk, bytes)
        yield chunk


async def restore_backup(
    conn: Connection,
    backup: BackupFile,
    plan: Plan,
    *,
    migrations: Sequence[Migration] | None = None,
) -> RestoreResult:
    """Replace every table's rows with the backup's, all in one transaction.

    The database is first brought to this install's schema (as at start), so a fresh
    database can be restored into.
    """
    started = time.perf_counter()
    known = list(discover() if migrations is None else migrations)
    await apply_migrations(conn, known)
    manifest = plan.manifest
    staging = f"comradarr_restore_{secrets.token_hex(6)}"
    path = await conn.fetchval("SHOW search_path")
    rows = 0
    steps: dict[str, float] = {}
    mark = time.perf_counter()

    def step(name: str) -> None:
        nonlocal mark
        now = time.perf_counter()
        steps[name] = round(now - mark, 3)
        mark = now

    async with conn.transaction():
        for statement in SESSION_SETTINGS:
            await conn.execute(statement)
        await conn.execute(f"CREATE SCHEMA {quote(staging)}")
        await conn.execute(f"SET LOCAL search_path = {quote(staging)}, public")
        for m in plan.before:
            await _run(conn, m)
        stage = await read_catalogue(conn, staging)
        _match_columns(manifest, stage)
        step("schema")
        if stage.tables:
            names = ", ".join(f"{quote(staging)}.{quote(t)}" for t in stage.tables)
            await conn.execute(f"TRUNCATE {names}")
        parts = {p.table: p for p in manifest.tables}
        rebuild: list[str] = []
        for table in stage.ordered(set(parts)):
            part = parts[table]
            if part.rows >= BULK_ROWS:
                rebuild += await _drop_plain_indexes(conn, staging, table)
            try:
                status = await conn.copy_to_table(
                    table,
                    source=_rows_of(backup, part),
                    columns=part.columns,
                    schema_name=staging,
                    format="text",
                )
            except asyncpg.PostgresError as exc:
                raise InvalidBackupError(
                    f"refused: PostgreSQL rejected the rows of {table!r} ({exc}); "
                    "nothing was changed"
                ) from None
            loaded = int(status.split()[-1])
            if loaded != part.rows:
                raise InvalidBackupError(
                    f"refused: {part.member} loaded {loaded} rows, the manifest says {part.rows}"
                )
            rows += loaded
        for definition in rebuild:
            await conn.execute(definition)
        present = set(stage.sequences)
        for seq in manifest.sequences:
            if seq.name in present:
                await conn.execute(
                    "SELECT setval($1::regclass, $2, $3)",
                    f"{quote(staging)}.{quote(seq.name)}",
                    seq.last_value,
                    seq.is_called,
                )
        step("load")
        for m in plan.after:
            await _run(conn, m)
        step("migrate")
        await conn.execute(f"SET LOCAL search_path = {path}")
        await _swap(conn, staging)
        step("swap")
        await conn.execute(f"DROP SCHEMA {quote(staging)} CASCADE")
    return RestoreResult(
        manifest=manifest,
        tables=len(manifest.tables),
        rows=rows,
        migrations_applied=[f"{m.component}/{m.version:04d}_{m.name}" for m in plan.after],
        seconds=time.perf_counter() - started,
        steps=steps,
    )


async def _run(conn: Connection, m: Migration) -> None:
    try:
        await conn.execute(m.sql)
    except asyncpg.PostgresError as exc:
        raise InvalidBackupError(
            f"refused: migrating the backup failed at {m.component}/{m.version:04d}_{m.name} "
            f"({exc}); nothing was changed"
        ) from None


def _match_columns(manifest: Manifest, stage: Catalogue) -> None:
    for part in manifest.tables:
        have = stage.tables.get(part.table)
        if have is None:
            raise InvalidBackupError(
                f"refused: the backup holds table {part.table!r}, which its own schema level "
                "does not have; nothing was changed"
            )
        if sorted(have) != sorted(part.columns):
            raise InvalidBackupError(
                f"refused: the columns of {part.table!r} in the backup differ from its schema "
                "level's; nothing was changed"
            )


_PLAIN_INDEXES = """
SELECT format('%I.%I', n.nspname, x.relname) AS name, pg_get_indexdef(i.indexrelid) AS definition
FROM pg_index i
JOIN pg_class c ON c.oid = i.indrelid
JOIN pg_class x ON x.oid = i.indexrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = $1 AND c.relname = $2
  AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)
"""


async def _drop_plain_indexes(conn: Connection, schema: str, table: str) -> list[str]:
    """Drop a table's indexes that back no constraint; their CREATE statements.

    Building an index once over the loaded rows is several times cheaper than updating it
    row by row; inside the transaction nobody sees the table without them.
    """
    found = await conn.fetch(_PLAIN_INDEXES, schema, table)
    for r in found:
        await conn.execute(f"DROP INDEX {r['name']}")
    return [r["definition"] for r in found]


async def _swap(conn: Connection, staging: str) -> None:
    """Move the staged rows into the live tables: lock, empty, insert, set sequences."""
    live = await read_catalogue(conn, "public")
    stage = await read_catalogue(conn, staging)
    tables = [t for t in live.ordered() if t != "schema_migrations"]
    if set(stage.tables) != set(tables):
        missing = sorted(set(tables) ^ set(stage.tables))[:3]
        raise InvalidBackupError(
            f"refused: after migration the backup's tables differ from this install's "
            f"({', '.join(missing)}); nothing was changed"
        )
    await conn.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
    names = ", ".join(f"public.{quote(t)}" for t in tables)
    try:
        await conn.execute(f"LOCK TABLE {names} IN ACCESS EXCLUSIVE MODE")
    except asyncpg.LockNotAvailableError:
        raise InvalidBackupError(
            "the running services kept the tables busy for longer than "
            f"{LOCK_TIMEOUT}; try again (or stop them first); nothing was changed"
        ) from None
    await conn.execute(f"TRUNCATE {names}")
    rebuild: list[str] = []
    for table in tables:
        if table in NEVER_BACKED_UP:
            continue
        staged = await conn.fetchval(
            f"SELECT count(*) FROM {quote(staging)}.{quote(table)}"  # noqa: S608
        )
        if staged >= BULK_ROWS:
            rebuild += await _drop_plain_indexes(conn, "public", table)
        cols = ", ".join(quote(c) for c in live.tables[table])
        await conn.execute(
            f"INSERT INTO public.{quote(table)} ({cols}) OVERRIDING SYSTEM VALUE"  # noqa: S608
            f" SELECT {cols} FROM {quote(staging)}.{quote(table)}"
        )
    for definition in rebuild:
        await conn.execute(definition)
    for name in live.sequences:
        if name in stage.sequences:
            last_value, is_called = await sequence_value(conn, staging, name)
            await conn.execute(
                "SELECT setval($1::regclass, $2, $3)",
                f"public.{quote(name)}",
                last_value,
                is_called,
            )
