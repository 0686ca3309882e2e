"""The shared pool resets a released connection's session unless its holder waived it."""

from __future__ import annotations

import pytest
from comradarr_db import PoolConfig, create_pool, skip_next_reset

pytestmark = pytest.mark.integration


async def test_released_connections_are_reset_unless_the_holder_waives_it(
    empty_database_url: str,
) -> None:
    pool = await create_pool(empty_database_url, config=PoolConfig(min_size=1, max_size=1))
    try:
        async with pool.acquire() as conn:
            await conn.execute("SET application_name = 'left-behind'")
            assert await conn.fetchval("SELECT pg_try_advisory_lock(42)")
        async with pool.acquire() as conn:  # the same (only) connection, reset on release
            assert await conn.fetchval("SHOW application_name") != "left-behind"
            assert (
                await conn.fetchval(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"
                    " AND pid = pg_backend_pid()"
                )
                == 0
            )
            pid = await conn.fetchval("SELECT pg_backend_pid()")

        # A waiver holds for one release, and an open transaction is rolled back anyway.
        async with pool.acquire() as conn:
            await conn.execute("SET application_name = 'waived'")
            await conn.execute("BEGIN")
            await conn.execute("CREATE TABLE t_rolled_back (x int)")
            skip_next_reset(conn)
        async with pool.acquire() as conn:
            assert await conn.fetchval("SELECT pg_backend_pid()") == pid
            assert await conn.fetchval("SHOW application_name") == "waived"
            assert await conn.fetchval("SELECT to_regclass('t_rolled_back')") is None
        async with pool.acquire() as conn:
            assert await conn.fetchval("SHOW application_name") != "waived"
    finally:
        await pool.close()


async def test_waiving_a_plain_connection_is_harmless(empty_database_url: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(empty_database_url)
    try:
        skip_next_reset(conn)  # not from create_pool: nothing to waive
        assert await conn.fetchval("SELECT 1") == 1
    finally:
        await conn.close()
