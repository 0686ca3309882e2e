"""Versioned SQL migrations applied at start under an advisory lock."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import metadata, resources
from importlib.resources.abc import Traversable

import asyncpg
import structlog

from ._types import Connection

log = structlog.get_logger(__name__)

# Any constant works; it only has to be the same in every replica.
MIGRATION_LOCK_ID = 0x436F6D72  # "Comr"
_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
ENTRY_POINT_GROUP = "comradarr.migrations"


class MigrationError(Exception):
    """A migration cannot be applied or the applied history does not match the code."""


@dataclass(frozen=True, slots=True)
class Migration:
    """One SQL file of one component, identified by (component, version)."""

    component: str
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        """SHA-256 of the SQL, to notice an applied migration edited afterwards."""
        return hashlib.sha256(self.sql.encode()).hexdigest()


def load_from_directory(component: str, directory: Traversable) -> list[Migration]:
    """Read NNNN_name.sql files of a component, in version order."""
    found: list[Migration] = []
    for entry in directory.iterdir():
        match = _NAME.match(entry.name)
        if match is None:
            continue
        found.append(
            Migration(component, int(match.group(1)), match.group(2), entry.read_text("utf-8"))
        )
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise MigrationError(f"{component}: two migrations share a version number")
    return found


def discover(*, order: Sequence[str] = ("db", "connectors", "mirror")) -> list[Migration]:
    """Collect migrations registered under the comradarr.migrations entry-point group.

    Each entry point names a package whose `migrations/` folder holds the SQL; components
    listed in order come first (the foundation tables others reference), the rest by name.
    """
    components: dict[str, list[Migration]] = {}
    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        folder = resources.files(ep.value).joinpath("migrations")
        components[ep.name] = load_from_directory(ep.name, folder)
    ranked = sorted(components, key=lambda c: (order.index(c) if c in order else len(order), c))
    return [m for c in ranked for m in components[c]]


_BOOKKEEPING = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    component  text        NOT NULL,
    version    integer     NOT NULL,
    name       text        NOT NULL,
    checksum   text        NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (component, version)
)
"""


async def apply_migrations(conn: Connection, migrations: Iterable[Migration]) -> int:
    """Apply pending migrations, each in its own transaction; returns how many ran.

    A session advisory lock serialises replicas starting together: the second waits,
    then finds nothing left to do.
    """
    pending = list(migrations)
    await conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK_ID)
    try:
        await conn.execute(_BOOKKEEPING)
        rows = await conn.fetch("SELECT component, version, checksum FROM schema_migrations")
        applied = {(r["component"], r["version"]): r["checksum"] for r in rows}
        ran = 0
        for m in pending:
            key = (m.component, m.version)
            if key in applied:
                if applied[key] != m.checksum:
                    raise MigrationError(
                        f"migration {m.component}/{m.version:04d}_{m.name} was changed after it "
                        "was applied; add a new migration instead of editing an applied one"
                    )
                continue
            async with conn.transaction():
                await conn.execute(m.sql)
                await conn.execute(
                    "INSERT INTO schema_migrations (component, version, name, checksum)"
                    " VALUES ($1, $2, $3, $4)",
                    m.component,
                    m.version,
                    m.name,
                    m.checksum,
                )
            log.info("migration applied", component=m.component, version=m.version, name=m.name)
            ran += 1
        return ran
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK_ID)


async def migrate(dsn: str, *, migrations: Iterable[Migration] | None = None) -> int:
    """Connect once and apply every discovered (or given) migration."""
    conn = await asyncpg.connect(dsn)
    try:
        return await apply_migrations(conn, discover() if migrations is None else migrations)
    finally:
        await conn.close()
