"""A backup restored into a fresh database gives the same rows; an older one is migrated."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import asyncpg
import pytest
from comradarr_backup import BackupStore, _restore, create_backup, restore_from
from comradarr_db import discover

from .previous_level import FIXTURE, LEFT_FOR_LATER
from .support import KEY, populate, state

pytestmark = pytest.mark.integration


INDEXES = "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1"


async def test_restore_into_an_empty_database_gives_the_same_rows(
    pool: asyncpg.Pool,
    empty_database_url: str,
    private_tmp: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Every table loaded the bulk way (indexes dropped, rebuilt after): they come back whole.
    monkeypatch.setattr(_restore, "BULK_ROWS", 1)
    await populate(pool)
    buf = io.BytesIO()
    async with pool.acquire() as conn:
        manifest = await create_backup(conn, secret_key=KEY, dest=buf)
    assert manifest.includes_mirror and manifest.total_rows() > 40
    assert manifest.schema_versions()["gateway"] >= 10
    assert manifest.components == manifest.schema_versions()
    before = await state(pool)
    conn = await asyncpg.connect(empty_database_url)
    try:
        buf.seek(0)
        done = await restore_from(conn, buf, secret_key=KEY, safety=BackupStore(private_tmp))
        after = await state(conn)
        assert [tuple(r) for r in await conn.fetch(INDEXES)] == [
            tuple(r) for r in await pool.fetch(INDEXES)
        ]
        # New rows after a restore never reuse an id the backup holds.
        new_id = await conn.fetchval(
            "INSERT INTO schedules (connector_id, cron) SELECT id, '0 * * * *' FROM connectors"
            " RETURNING id"
        )
        assert new_id > await conn.fetchval("SELECT max(id) FROM schedules WHERE id <> $1", new_id)
    finally:
        await conn.close()
    assert done.result.rows == manifest.total_rows() and not done.result.migrations_applied
    # The safety backup of the fresh database it replaced (seed rows only) was kept.
    assert done.safety is not None and done.safety.manifest.total_rows() < 10
    before.pop("schema_migrations"), after.pop("schema_migrations")
    assert after == before


async def test_without_the_mirror_the_queue_and_history_go_with_it(pool: asyncpg.Pool) -> None:
    await populate(pool)
    buf = io.BytesIO()
    async with pool.acquire() as conn:
        manifest = await create_backup(conn, secret_key=KEY, dest=buf, include_mirror=False)
        assert not manifest.includes_mirror
        assert {"episodes", "series", "search_registry", "search_history"} <= set(manifest.left_out)
        names = zipfile.ZipFile(buf).namelist()
        assert "tables/connectors.tsv" in names and "tables/episodes.tsv" not in names
        buf.seek(0)
        await restore_from(conn, buf, secret_key=KEY)
    assert await pool.fetchval("SELECT count(*) FROM episodes") == 0
    assert await pool.fetchval("SELECT count(*) FROM connectors") == 1
    assert await pool.fetchval("SELECT count(*) FROM schedules") == 1


async def test_a_backup_from_the_previous_migration_level_is_restored_and_migrated(
    pool: asyncpg.Pool,
) -> None:
    levels = {
        (r["component"], r["version"])
        for r in await pool.fetch("SELECT component, version FROM schema_migrations")
    }
    async with pool.acquire() as conn:
        done = await restore_from(conn, FIXTURE, secret_key=KEY)
    applied = done.result.migrations_applied
    later = {(m.component, m.version) for m in discover()} - {
        (m.component, m.version) for m in done.result.manifest.migrations
    }
    assert later >= LEFT_FOR_LATER and len(applied) == len(later)
    assert any(a.startswith("mirror/0010_") for a in applied)
    # The live schema is this install's; the rows are the fixture's, migrated.
    assert {
        (r["component"], r["version"])
        for r in await pool.fetch("SELECT component, version FROM schema_migrations")
    } == levels
    assert await pool.fetchval("SELECT count(*) FROM episodes") == 24
    assert (
        await pool.fetchval("SELECT count(*) FROM episodes WHERE custom_format_score IS NULL") == 24
    )
    assert await pool.fetchval("SELECT username FROM users") == "owner"
    assert await pool.fetchval("SELECT name FROM schedules") == "hourly, with a\ttab\nand newline"
    assert await pool.fetchval("SELECT count(*) FROM search_history") == 5
    assert (
        await pool.fetchval(
            "SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'comradarr_restore_%'"
        )
        == 0
    )
