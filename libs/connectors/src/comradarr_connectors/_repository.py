"""Connector rows: create, read, update, delete, and the key decrypted only on demand."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from comradarr_crypto import SecretBox, SecretColumn, aad_for
from comradarr_db import Connection

from ._models import Connector, ConnectorType, HealthStatus

_COLUMNS = """
    id, type, name, url, api_key_last4, enabled, verify_ssl, timeout_seconds, app_name,
    app_version, api_version, health_status, health_messages, health_checked_at,
    throttle_profile_id, format_upgrades, queue_limit, search_windows, search_timezone,
    paused_until, created_at, updated_at
"""
# Columns a caller may change with update_connector (the key has its own path).
_UPDATABLE = {
    "type",
    "name",
    "url",
    "enabled",
    "verify_ssl",
    "timeout_seconds",
    "throttle_profile_id",
    "format_upgrades",
    "queue_limit",
    "search_windows",
    "search_timezone",
}
# For SECRET_KEY rotation: rotate_secrets re-encrypts this column with the same aad.
SECRET_COLUMN = SecretColumn(table="connectors", id_column="id", column="api_key_enc")


class ConnectorNotFoundError(LookupError):
    """No connector has that id."""


def _aad(connector_id: int) -> bytes:
    return aad_for(table=SECRET_COLUMN.table, column=SECRET_COLUMN.column, row_id=connector_id)


def _row(record: Any) -> Connector:
    return Connector.model_validate(dict(record))


async def create_connector(
    conn: Connection,
    *,
    box: SecretBox,
    type: ConnectorType,
    name: str,
    url: str,
    api_key: str,
    enabled: bool = True,
    verify_ssl: bool = True,
    timeout_seconds: float = 30.0,
    throttle_profile_id: int | None = None,
    format_upgrades: bool = True,
    queue_limit: int | None = None,
    search_windows: Sequence[dict[str, Any]] = (),
    search_timezone: str = "UTC",
) -> Connector:
    """Insert a connector and store its key encrypted under the row's own id."""
    async with conn.transaction():
        new_id = await conn.fetchval(
            "INSERT INTO connectors (type, name, url, api_key_last4, enabled, verify_ssl,"
            " timeout_seconds, throttle_profile_id, format_upgrades, queue_limit,"
            " search_windows, search_timezone)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id",
            type,
            name,
            url,
            api_key[-4:],
            enabled,
            verify_ssl,
            timeout_seconds,
            throttle_profile_id,
            format_upgrades,
            queue_limit,
            list(search_windows),
            search_timezone,
        )
        await conn.execute(
            "UPDATE connectors SET api_key_enc = $2 WHERE id = $1",
            new_id,
            box.encrypt(api_key, aad=_aad(new_id)),
        )
    return await get_connector(conn, connector_id=new_id)


async def get_connector(conn: Connection, *, connector_id: int) -> Connector:
    """One connector by id."""
    # _COLUMNS is a constant; values travel as parameters.
    query = f"SELECT {_COLUMNS} FROM connectors WHERE id = $1"  # noqa: S608
    record = await conn.fetchrow(query, connector_id)
    if record is None:
        raise ConnectorNotFoundError(f"connector {connector_id} does not exist")
    return _row(record)


async def list_connectors(conn: Connection, *, enabled_only: bool = False) -> list[Connector]:
    """Every connector, by name."""
    where = "WHERE enabled" if enabled_only else ""
    query = f"SELECT {_COLUMNS} FROM connectors {where} ORDER BY lower(name)"  # noqa: S608
    records = await conn.fetch(query)
    return [_row(r) for r in records]


async def update_connector(
    conn: Connection,
    *,
    box: SecretBox,
    connector_id: int,
    changes: dict[str, Any],
    api_key: str | None = None,
) -> Connector:
    """Change the given fields (and the key, when one is given); unknown fields are refused."""
    unknown = set(changes) - _UPDATABLE
    if unknown:
        raise ValueError(f"cannot update: {', '.join(sorted(unknown))}")
    sets: list[str] = []
    values: list[Any] = [connector_id]
    for column, value in sorted(changes.items()):
        values.append(value)
        sets.append(f"{column} = ${len(values)}")
    if api_key is not None:
        values.append(box.encrypt(api_key, aad=_aad(connector_id)))
        sets.append(f"api_key_enc = ${len(values)}")
        values.append(api_key[-4:])
        sets.append(f"api_key_last4 = ${len(values)}")
    if sets:
        # Column names come from the _UPDATABLE allow-list, values are parameters.
        query = f"UPDATE connectors SET {', '.join(sets)}, updated_at = now() WHERE id = $1"  # noqa: S608
        status = await conn.execute(query, *values)
        if status == "UPDATE 0":
            raise ConnectorNotFoundError(f"connector {connector_id} does not exist")
    return await get_connector(conn, connector_id=connector_id)


async def delete_connector(conn: Connection, *, connector_id: int) -> None:
    """Remove a connector (its mirror and search state cascade with it)."""
    status = await conn.execute("DELETE FROM connectors WHERE id = $1", connector_id)
    if status == "DELETE 0":
        raise ConnectorNotFoundError(f"connector {connector_id} does not exist")


async def get_api_key(conn: Connection, *, box: SecretBox, connector_id: int) -> str:
    """Decrypt a connector's key, for the one call about to use it."""
    token = await conn.fetchval("SELECT api_key_enc FROM connectors WHERE id = $1", connector_id)
    if token is None:
        raise ConnectorNotFoundError(f"connector {connector_id} has no stored key")
    return box.decrypt(bytes(token), aad=_aad(connector_id))


async def record_detected_version(
    conn: Connection, *, connector_id: int, app_name: str, app_version: str, api_version: str
) -> None:
    """Remember what the connection test or a sync found at the other end."""
    await conn.execute(
        "UPDATE connectors SET app_name = $2, app_version = $3, api_version = $4,"
        " updated_at = now() WHERE id = $1",
        connector_id,
        app_name,
        app_version,
        api_version,
    )


async def record_health(
    conn: Connection,
    *,
    connector_id: int,
    status: HealthStatus,
    messages: Sequence[str] = (),
) -> HealthStatus:
    """Store a health reading and its history row; returns the previous status."""
    async with conn.transaction():
        previous = await conn.fetchval(
            "SELECT health_status FROM connectors WHERE id = $1 FOR UPDATE", connector_id
        )
        if previous is None:
            raise ConnectorNotFoundError(f"connector {connector_id} does not exist")
        await conn.execute(
            "UPDATE connectors SET health_status = $2, health_messages = $3,"
            " health_checked_at = now() WHERE id = $1",
            connector_id,
            status,
            list(messages),
        )
        await conn.execute(
            "INSERT INTO connector_health_history (connector_id, status, messages)"
            " VALUES ($1, $2, $3)",
            connector_id,
            status,
            list(messages),
        )
    result: HealthStatus = previous
    return result
