"""Do a message's database work at most once, in the same transaction that records it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg

from ._types import Connection


class AlreadyProcessed(Exception):
    """This consumer committed this message's work before; the redelivery is a no-op."""


@asynccontextmanager
async def once(pool: asyncpg.Pool, *, consumer: str, message_id: str) -> AsyncIterator[Connection]:
    """Open a transaction that marks message_id done for consumer; raise if it already was.

    The marker commits with the handler's writes, so a crash before commit leaves neither,
    and a redelivery after commit finds the marker and does nothing.
    """
    async with pool.acquire() as conn, conn.transaction():
        inserted = await conn.fetchval(
            "INSERT INTO processed_messages (consumer, message_id) VALUES ($1, $2)"
            " ON CONFLICT DO NOTHING RETURNING 1",
            consumer,
            message_id,
        )
        if inserted is None:
            raise AlreadyProcessed(f"{consumer} already processed {message_id}")
        yield conn
