"""Migrations: applied once, idempotent on a second run, safe with replicas starting at once."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from comradarr_db import Migration, MigrationError, apply_migrations, discover, migrate

pytestmark = pytest.mark.integration


async def test_discovers_every_component_with_foundation_first() -> None:
    migrations = discover()
    components = [m.component for m in migrations]
    assert components[0] == "db"
    assert {"db", "sync", "discovery", "dispatcher", "scheduler", "notifier", "analytics"} <= set(
        components
    )


async def test_second_run_applies_nothing(empty_database_url: str) -> None:
    first = await migrate(empty_database_url)
    assert first == len(discover())
    assert await migrate(empty_database_url) == 0


async def test_concurrent_replicas_apply_each_migration_once(empty_database_url: str) -> None:
    results = await asyncio.gather(*(migrate(empty_database_url) for _ in range(6)))
    assert sum(results) == len(discover())
    assert sorted(results)[-1] == len(discover())
    conn = await asyncpg.connect(empty_database_url)
    try:
        count = await conn.fetchval("SELECT count(*) FROM schema_migrations")
        assert count == len(discover())
    finally:
        await conn.close()


async def test_edited_applied_migration_is_refused(empty_database_url: str) -> None:
    original = Migration("demo", 1, "t", "CREATE TABLE demo_t (id int);")
    edited = Migration("demo", 1, "t", "CREATE TABLE demo_t (id bigint);")
    conn = await asyncpg.connect(empty_database_url)
    try:
        assert await apply_migrations(conn, [original]) == 1
        with pytest.raises(MigrationError, match="changed after it was applied"):
            await apply_migrations(conn, [edited])
    finally:
        await conn.close()


async def test_failed_migration_rolls_back_and_is_not_recorded(empty_database_url: str) -> None:
    good = Migration("demo", 1, "ok", "CREATE TABLE demo_ok (id int);")
    bad = Migration("demo", 2, "bad", "CREATE TABLE demo_bad (id int); SELECT no_such_function();")
    conn = await asyncpg.connect(empty_database_url)
    try:
        with pytest.raises(asyncpg.UndefinedFunctionError):
            await apply_migrations(conn, [good, bad])
        versions = await conn.fetch("SELECT version FROM schema_migrations WHERE component='demo'")
        assert [r["version"] for r in versions] == [1]
        assert await conn.fetchval("SELECT to_regclass('demo_bad')") is None
    finally:
        await conn.close()
