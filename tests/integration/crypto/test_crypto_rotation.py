"""rotate_secrets against a real PostgreSQL: all rows or none."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest
from comradarr_crypto import (
    SecretBox,
    SecretColumn,
    TamperedError,
    WrongKeyError,
    aad_for,
    rotate_secrets,
)

pytestmark = pytest.mark.integration

OLD = SecretBox("old secret key")
NEW = SecretBox("new secret key")
COLUMNS = [
    SecretColumn(table="crypto_connectors", id_column="id", column="api_key"),
    SecretColumn(table="crypto_notifiers", id_column="name", column="token"),
]


@pytest.fixture
async def conn(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(database_url)
    await connection.execute(
        """
        CREATE TABLE crypto_connectors (id bigint PRIMARY KEY, api_key bytea);
        CREATE TABLE crypto_notifiers (name text PRIMARY KEY, token bytea);
        """
    )
    try:
        yield connection
    finally:
        await connection.close()


async def _seed(conn: asyncpg.Connection, box: SecretBox) -> dict[tuple[str, object], str]:
    expected: dict[tuple[str, object], str] = {}
    for i in range(1, 6):
        secret = f"connector-key-{i}"
        aad = aad_for(table="crypto_connectors", column="api_key", row_id=i)
        await conn.execute(
            "INSERT INTO crypto_connectors VALUES ($1, $2)", i, box.encrypt(secret, aad=aad)
        )
        expected[("crypto_connectors", i)] = secret
    await conn.execute("INSERT INTO crypto_connectors VALUES (99, NULL)")  # NULL is left alone
    for name in ("discord", "telegram"):
        aad = aad_for(table="crypto_notifiers", column="token", row_id=name)
        secret = f"{name}-token"
        await conn.execute(
            "INSERT INTO crypto_notifiers VALUES ($1, $2)", name, box.encrypt(secret, aad=aad)
        )
        expected[("crypto_notifiers", name)] = secret
    return expected


async def _snapshot(conn: asyncpg.Connection) -> list[tuple[object, bytes | None]]:
    rows = await conn.fetch(
        "SELECT id::text AS k, api_key AS v FROM crypto_connectors "
        "UNION ALL SELECT name, token FROM crypto_notifiers ORDER BY 1"
    )
    return [(r["k"], r["v"]) for r in rows]


async def test_rotation_re_encrypts_every_secret(conn: asyncpg.Connection) -> None:
    expected = await _seed(conn, OLD)

    count = await rotate_secrets(conn, old=OLD, new=NEW, columns=COLUMNS)

    assert count == 7
    for row_id, token in await conn.fetch("SELECT id, api_key FROM crypto_connectors"):
        if row_id == 99:
            assert token is None
            continue
        aad = aad_for(table="crypto_connectors", column="api_key", row_id=row_id)
        assert NEW.decrypt(token, aad=aad) == expected[("crypto_connectors", row_id)]
        with pytest.raises(WrongKeyError):
            OLD.decrypt(token, aad=aad)
    for name, token in await conn.fetch("SELECT name, token FROM crypto_notifiers"):
        aad = aad_for(table="crypto_notifiers", column="token", row_id=name)
        assert NEW.decrypt(token, aad=aad) == expected[("crypto_notifiers", name)]


async def test_rotation_is_rerunnable(conn: asyncpg.Connection) -> None:
    await _seed(conn, OLD)
    assert await rotate_secrets(conn, old=OLD, new=NEW, columns=COLUMNS) == 7
    before = await _snapshot(conn)
    # Everything is already under NEW: nothing to do, nothing changes.
    assert await rotate_secrets(conn, old=OLD, new=NEW, columns=COLUMNS) == 0
    assert await _snapshot(conn) == before


async def test_failure_midway_rolls_everything_back(conn: asyncpg.Connection) -> None:
    await _seed(conn, OLD)
    # One row under a third key: connectors rotate fine first, then this fails.
    stranger = SecretBox("a third key")
    aad = aad_for(table="crypto_notifiers", column="token", row_id="zulip")
    await conn.execute(
        "INSERT INTO crypto_notifiers VALUES ('zulip', $1)", stranger.encrypt("z", aad=aad)
    )
    before = await _snapshot(conn)

    with pytest.raises(WrongKeyError) as info:
        await rotate_secrets(conn, old=OLD, new=NEW, columns=COLUMNS)

    assert "crypto_notifiers.token row 'zulip'" in "".join(info.value.__notes__)
    assert await _snapshot(conn) == before
    token = await conn.fetchval("SELECT api_key FROM crypto_connectors WHERE id = 1")
    assert OLD.decrypt(token, aad=aad_for(table="crypto_connectors", column="api_key", row_id=1))


async def test_secret_moved_to_another_row_fails_rotation(conn: asyncpg.Connection) -> None:
    await _seed(conn, OLD)
    # Copying row 1's ciphertext into row 2 must not be silently accepted.
    await conn.execute(
        "UPDATE crypto_connectors SET api_key = "
        "(SELECT api_key FROM crypto_connectors WHERE id = 1) WHERE id = 2"
    )
    before = await _snapshot(conn)
    with pytest.raises(TamperedError):
        await rotate_secrets(conn, old=OLD, new=NEW, columns=COLUMNS)
    assert await _snapshot(conn) == before


@pytest.mark.parametrize(
    "column",
    [
        SecretColumn(
            table='crypto_connectors"; DROP TABLE crypto_connectors; --', id_column="id", column="x"
        ),
        SecretColumn(table="Connectors", id_column="id", column="api_key"),
        SecretColumn(table="crypto_connectors", id_column="id", column="1api_key"),
        SecretColumn(table="crypto_connectors", id_column="", column="api_key"),
    ],
)
async def test_rejects_unsafe_identifiers(conn: asyncpg.Connection, column: SecretColumn) -> None:
    with pytest.raises(ValueError, match="invalid SQL identifier"):
        await rotate_secrets(conn, old=OLD, new=NEW, columns=[column])
    assert await conn.fetchval("SELECT count(*) FROM crypto_connectors") == 0


async def test_same_key_is_rejected(conn: asyncpg.Connection) -> None:
    with pytest.raises(ValueError, match="same key"):
        await rotate_secrets(conn, old=OLD, new=SecretBox("old secret key"), columns=COLUMNS)
