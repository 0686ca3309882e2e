"""A small populated install and a fingerprint of every table, for the backup tests."""

from __future__ import annotations

import asyncpg

from tests.integration.gateway.mirror_seed import seed_mirror

KEY = "backup-test-secret-key-0123456789abcdefghijklmnop"
OTHER_KEY = "another-install-secret-key-0123456789abcdefghijk"


async def populate(conn: asyncpg.Connection | asyncpg.Pool) -> int:
    """Users, a connector with an (encrypted) key, schedules, mirror, queue and history."""
    await conn.execute(
        "INSERT INTO users (username, password_hash) VALUES ('owner', '$argon2id$v=19$x')"
    )
    cid = await conn.fetchval(
        "INSERT INTO connectors (type, name, url, api_key_enc, api_key_last4)"
        " VALUES ('sonarr', 'TV', 'http://127.0.0.1:9', '\\x01aabbccdd'::bytea, 'ccdd')"
        " RETURNING id"
    )
    await conn.execute(
        "INSERT INTO schedules (connector_id, cron, timezone, name)"
        " VALUES ($1, '17 * * * *', 'Europe/Berlin', 'hourly, with a\ttab\nand newline')",
        cid,
    )
    await seed_mirror(conn, connector_id=cid, series=3, seasons=2, per_season=4, movies=0)
    await conn.execute(
        "INSERT INTO search_history (registry_id, connector_id, search_type, outcome)"
        " SELECT id, connector_id, search_type, 'no_result' FROM search_registry LIMIT 5"
    )
    return int(cid)


async def state(conn: asyncpg.Connection | asyncpg.Pool) -> dict[str, str]:
    """An md5 of every public table's rows, and the schemas present."""
    tables = await conn.fetch(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = 'public' AND c.relkind = 'r' ORDER BY 1"
    )
    out: dict[str, str] = {}
    for r in tables:
        name = r["relname"]
        out[name] = await conn.fetchval(
            "SELECT coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '-')"  # noqa: S608
            f' FROM "{name}" t'
        )
    schemas = await conn.fetch("SELECT nspname FROM pg_namespace ORDER BY 1")
    out["@schemas"] = ",".join(r["nspname"] for r in schemas)
    return out
