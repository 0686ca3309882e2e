"""Old and recent rows in every table maintenance prunes."""

from __future__ import annotations

from datetime import datetime, timedelta

import asyncpg
from comradarr_connectors import create_connector
from comradarr_crypto import SecretBox

# A connector deleted long ago: its runs (no foreign key) are orphans.
ORPHAN = 999


async def seed(pool: asyncpg.Pool, *, box: SecretBox, now: datetime, movies: int = 4) -> int:
    """A connector with movies, queue entries and history; rows at 400 and at 1 day of age
    in each growing table. Returns the connector id."""
    old, recent = now - timedelta(days=400), now - timedelta(days=1)
    async with pool.acquire() as conn:
        connector = await create_connector(
            conn, box=box, type="radarr", name="Films", url="http://127.0.0.1:1", api_key="k" * 32
        )
        cid = connector.id
        await conn.executemany(
            "INSERT INTO movies (connector_id, arr_id, title, monitored) VALUES ($1, $2, $3, true)",
            [(cid, i, f"Movie {i}") for i in range(1, movies + 1)],
        )
        ids = [r["id"] for r in await conn.fetch("SELECT id FROM movies ORDER BY id")]
        # Entry 1 exhausted long ago, entry 2 exhausted recently, the rest pending.
        for n, movie_id in enumerate(ids):
            state = "exhausted" if n < 2 else "pending"
            await conn.execute(
                "INSERT INTO search_registry (connector_id, content_type, movie_id, search_type,"
                " state, updated_at) VALUES ($1, 'movie', $2, 'gap', $3, $4)",
                cid,
                movie_id,
                state,
                old if n == 0 else recent,
            )
        entries = [r["id"] for r in await conn.fetch("SELECT id FROM search_registry ORDER BY id")]
        await conn.executemany(
            "INSERT INTO search_history (registry_id, connector_id, command_name, search_type,"
            " outcome, started_at) VALUES ($1, $2, 'MoviesSearch', 'gap', $3, $4)",
            [
                (entries[0], cid, "not_found", old),  # past retention (its entry goes too)
                (entries[2], cid, "not_found", old),  # past retention
                (entries[2], cid, "found", old),  # past retention
                (entries[3], cid, "not_found", recent),  # kept
            ],
        )
        key_id = await conn.fetchval(
            "INSERT INTO api_keys (description, scope, token_hash, prefix)"
            " VALUES ('ci', 'read', '\\x01'::bytea, 'abc') RETURNING id"
        )
        await conn.executemany(
            "INSERT INTO api_key_usage (api_key_id, method, endpoint, used_at)"
            " VALUES ($1, 'GET', '/api/v1/queue', $2)",
            [(key_id, old), (key_id, recent)],
        )
        await conn.executemany(
            "INSERT INTO connector_health_history (connector_id, status, checked_at)"
            " VALUES ($1, 'healthy', $2)",
            [(cid, old), (cid, old), (cid, recent)],
        )
        await conn.executemany(
            "INSERT INTO sync_runs (connector_id, mode, sweep_type, message_id, correlation_id,"
            " started_at, outcome) VALUES ($1, 'full', 'both', $2, 'c', $3, 'success')",
            [(cid, "s-old", old), (cid, "s-new", recent), (ORPHAN, "s-orphan", recent)],
        )
        await conn.executemany(
            "INSERT INTO discovery_runs (connector_id, sync_run_id, message_id, correlation_id,"
            " created_at) VALUES ($1, 1, $2, 'c', $3)",
            [(cid, "d-old", old), (cid, "d-new", recent), (ORPHAN, "d-orphan", recent)],
        )
        await conn.executemany(
            "INSERT INTO sweep_runs (connector_id, status, message_id, fired_at)"
            " VALUES ($1, 'completed', $2, $3)",
            [(cid, "w-old", old), (cid, "w-new", recent), (ORPHAN, "w-orphan", recent)],
        )
        await conn.executemany(
            "INSERT INTO processed_messages (consumer, message_id, processed_at)"
            " VALUES ('test', $1, $2)",
            [("m-old", old), ("m-new", recent)],
        )
        await conn.executemany(
            "INSERT INTO dead_letters (consumer, subject, deliveries, error, payload, created_at)"
            " VALUES ('test', 'x', 5, 'boom', '{}', $1)",
            [(old,), (recent,)],
        )
        await conn.executemany(
            "INSERT INTO webhook_found (message_id, connector_id, registry_ids, received_at)"
            " VALUES ($1, $2, '{}', $3)",
            [("f-old", cid, old), ("f-new", cid, recent), ("f-orphan", ORPHAN, recent)],
        )
        await conn.executemany(
            "INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, last_seen_at,"
            " expires_at) SELECT $1, id, 'x', $2, $2, $3 FROM users",
            [(b"old", old, old), (b"new", recent, now + timedelta(days=1))],
        )
    return cid
