"""Connector rows: keys encrypted at rest, masked everywhere, rotated with SECRET_KEY."""

from __future__ import annotations

import asyncpg
import pytest
from comradarr_connectors import (
    SECRET_COLUMN,
    ConnectorNotFoundError,
    create_connector,
    delete_connector,
    get_api_key,
    get_connector,
    list_connectors,
    record_health,
    update_connector,
)
from comradarr_crypto import SecretBox, TamperedError, WrongKeyError, rotate_secrets

pytestmark = pytest.mark.integration

KEY = "canary-0123456789abcdef0123456789abcdef"


@pytest.fixture
def box() -> SecretBox:
    return SecretBox("s" * 48)


async def test_key_is_encrypted_at_rest_and_masked(pool: asyncpg.Pool, box: SecretBox) -> None:
    async with pool.acquire() as conn:
        c = await create_connector(
            conn, box=box, type="sonarr", name="TV", url="http://127.0.0.1:8989", api_key=KEY
        )
        raw = await conn.fetchval("SELECT api_key_enc FROM connectors WHERE id = $1", c.id)
        assert KEY.encode() not in bytes(raw)
        assert KEY not in c.model_dump_json()
        assert c.api_key_masked == "****cdef"
        assert await get_api_key(conn, box=box, connector_id=c.id) == KEY


async def test_ciphertext_is_bound_to_its_row(pool: asyncpg.Pool, box: SecretBox) -> None:
    async with pool.acquire() as conn:
        a = await create_connector(
            conn, box=box, type="radarr", name="A", url="http://a", api_key=KEY
        )
        b = await create_connector(
            conn, box=box, type="radarr", name="B", url="http://b", api_key="other-key-1234"
        )
        # Copying A's ciphertext onto B must not hand B's caller A's key.
        await conn.execute(
            "UPDATE connectors SET api_key_enc = (SELECT api_key_enc FROM connectors WHERE id = $1)"
            " WHERE id = $2",
            a.id,
            b.id,
        )
        with pytest.raises(TamperedError):
            await get_api_key(conn, box=box, connector_id=b.id)


async def test_update_rename_and_rekey(pool: asyncpg.Pool, box: SecretBox) -> None:
    async with pool.acquire() as conn:
        c = await create_connector(
            conn, box=box, type="sonarr", name="TV", url="http://x", api_key=KEY
        )
        c2 = await update_connector(
            conn,
            box=box,
            connector_id=c.id,
            changes={"name": "Shows", "enabled": False},
            api_key="new-key-9999",
        )
        assert (c2.name, c2.enabled, c2.api_key_last4) == ("Shows", False, "9999")
        assert await get_api_key(conn, box=box, connector_id=c.id) == "new-key-9999"
        with pytest.raises(ValueError, match="cannot update: api_key_enc"):
            await update_connector(conn, box=box, connector_id=c.id, changes={"api_key_enc": b"x"})
        with pytest.raises(ConnectorNotFoundError):
            await update_connector(conn, box=box, connector_id=999, changes={"name": "x"})
        with pytest.raises(asyncpg.UniqueViolationError):
            await create_connector(
                conn, box=box, type="sonarr", name="shows", url="http://y", api_key=KEY
            )


async def test_rotation_reencrypts_every_key(pool: asyncpg.Pool, box: SecretBox) -> None:
    new_box = SecretBox("n" * 48)
    async with pool.acquire() as conn:
        ids = [
            (
                await create_connector(
                    conn,
                    box=box,
                    type="sonarr",
                    name=f"c{i}",
                    url="http://x",
                    api_key=f"key-{i}-abcd",
                )
            ).id
            for i in range(3)
        ]
        assert await rotate_secrets(conn, old=box, new=new_box, columns=[SECRET_COLUMN]) == 3
        for i, cid in enumerate(ids):
            assert await get_api_key(conn, box=new_box, connector_id=cid) == f"key-{i}-abcd"
            with pytest.raises(WrongKeyError):
                await get_api_key(conn, box=box, connector_id=cid)


async def test_health_history_and_delete(pool: asyncpg.Pool, box: SecretBox) -> None:
    async with pool.acquire() as conn:
        c = await create_connector(
            conn, box=box, type="sonarr", name="TV", url="http://x", api_key=KEY
        )
        assert await record_health(conn, connector_id=c.id, status="healthy") == "unknown"
        assert (
            await record_health(conn, connector_id=c.id, status="offline", messages=["refused"])
            == "healthy"
        )
        c = await get_connector(conn, connector_id=c.id)
        assert (c.health_status, c.health_messages) == ("offline", ["refused"])
        assert await conn.fetchval("SELECT count(*) FROM connector_health_history") == 2
        assert [x.name for x in await list_connectors(conn)] == ["TV"]
        await delete_connector(conn, connector_id=c.id)
        assert await conn.fetchval("SELECT count(*) FROM connector_health_history") == 0
        with pytest.raises(ConnectorNotFoundError):
            await delete_connector(conn, connector_id=c.id)
