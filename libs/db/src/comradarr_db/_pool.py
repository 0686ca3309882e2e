"""The asyncpg connection pool every service shares."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import asyncpg

from ._types import Connection


@dataclass(frozen=True, slots=True)
class PoolConfig:
    """Pool sizing and connection recycling."""

    min_size: int = 10
    max_size: int = 25
    max_inactive_connection_lifetime: float = 300.0
    # asyncpg recycles by query count; it bounds a connection's lifetime under load.
    max_queries: int = 50_000
    command_timeout: float = 60.0


class PooledConnection(asyncpg.Connection):
    """A pool connection whose holder may waive its next reset (see skip_next_reset)."""

    keep_session = False

    def _comradarr_keep_session(self) -> None:
        self.keep_session = True


def skip_next_reset(conn: Connection) -> None:
    """Promise that conn's session is as the pool lent it, so releasing it skips the reset
    round trip (pg_advisory_unlock_all, CLOSE ALL, UNLISTEN *, RESET ALL).

    Only for code that ran plain statements and transactions: no SET (SET LOCAL is fine), no
    LISTEN, no session advisory lock, no temporary table. An open transaction is still
    rolled back on release. Holds for one release; a connection not from create_pool is
    left alone. The gateway waives it per request: a third of its round trips otherwise.
    """
    mark = getattr(conn, "_comradarr_keep_session", None)
    if mark is not None:
        mark()


async def _reset_connection(conn: asyncpg.Connection) -> None:
    # asyncpg has already rolled back an open transaction and dropped listeners.
    if isinstance(conn, PooledConnection) and conn.keep_session:
        conn.keep_session = False
        return
    query = conn.get_reset_query()
    if query:
        await conn.execute(query)


async def _init_connection(conn: asyncpg.Connection) -> None:
    # JSON columns come back as Python objects, not strings.
    for typ in ("json", "jsonb"):
        await conn.set_type_codec(typ, encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


async def create_pool(
    dsn: str,
    *,
    config: PoolConfig | None = None,
    connect_timeout: float = 10.0,
    retry_for: float = 0.0,
) -> asyncpg.Pool:
    """Open a pool, retrying for up to retry_for seconds while the server is unreachable."""
    cfg = config or PoolConfig()
    min_size = min(cfg.min_size, cfg.max_size)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + retry_for
    delay = 0.2
    while True:
        try:
            pool = await asyncpg.create_pool(
                dsn,
                min_size=min_size,
                max_size=cfg.max_size,
                max_inactive_connection_lifetime=cfg.max_inactive_connection_lifetime,
                max_queries=cfg.max_queries,
                command_timeout=cfg.command_timeout,
                timeout=connect_timeout,
                init=_init_connection,
                reset=_reset_connection,
                connection_class=PooledConnection,
            )
        except (OSError, asyncpg.CannotConnectNowError, asyncpg.TooManyConnectionsError):
            if loop.time() >= deadline:
                raise
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)
            continue
        assert pool is not None
        return pool


async def ping(pool: asyncpg.Pool, *, timeout: float = 2.0) -> bool:
    """True when the database answers a trivial query within timeout."""
    try:
        async with asyncio.timeout(timeout):
            value: Any = await pool.fetchval("SELECT 1")
            return bool(value == 1)
    except (OSError, asyncpg.PostgresError, TimeoutError, asyncpg.InterfaceError):
        return False


@asynccontextmanager
async def tool_pool(dsn: str, *, size: int = 1) -> AsyncIterator[asyncpg.Pool]:
    """A small pool for a command-line tool (JSON decoded as the services do), closed after."""
    pool = await create_pool(dsn, config=PoolConfig(min_size=1, max_size=size))
    try:
        yield pool
    finally:
        await pool.close()
