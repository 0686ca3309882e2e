"""Channel rows: create, read, update, delete; the URL decrypted only to send."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from comradarr_crypto import SecretBox, SecretColumn, aad_for
from comradarr_db import Connection
from pydantic import BaseModel, ConfigDict

from .kinds import KINDS, mask_url, masked_fields
from .quiet import QuietHours

# For SECRET_KEY rotation: rotate_secrets re-encrypts this column with the same aad.
SECRET_COLUMN = SecretColumn(table="notification_channels", id_column="id", column="secret_enc")

_COLUMNS = """
    id, name, kind, url_scheme, url_last4, fields_masked, events, enabled, digest_minutes,
    quiet_start, quiet_end, quiet_timezone, last_test_at, last_test_ok, last_test_detail,
    created_at, updated_at
"""
# Columns a caller may change with update_channel (the secret has its own path).
_UPDATABLE = {"name", "events", "enabled", "digest_minutes", "quiet"}


class ChannelNotFoundError(LookupError):
    """No channel has that id."""


class Channel(BaseModel):
    """A stored channel as everything outside the sender sees it: secrets masked."""

    model_config = ConfigDict(frozen=True)

    id: int
    name: str
    kind: str
    url_masked: str
    fields: dict[str, str]
    events: list[str]
    enabled: bool
    digest_minutes: int
    quiet_hours: QuietHours | None
    last_test_at: datetime | None = None
    last_test_ok: bool | None = None
    last_test_detail: str | None = None
    created_at: datetime
    updated_at: datetime


class ChannelSecret(BaseModel):
    """The decrypted URL and form of one channel (never returned or logged)."""

    url: str
    fields: dict[str, str]


def _aad(channel_id: int) -> bytes:
    return aad_for(table=SECRET_COLUMN.table, column=SECRET_COLUMN.column, row_id=channel_id)


def _row(r: Any) -> Channel:
    quiet = None
    if r["quiet_start"] is not None:
        quiet = QuietHours(start=r["quiet_start"], end=r["quiet_end"], timezone=r["quiet_timezone"])
    fields = r["fields_masked"]
    if isinstance(fields, str):
        fields = json.loads(fields)
    return Channel(
        id=r["id"],
        name=r["name"],
        kind=r["kind"],
        url_masked=f"{r['url_scheme']}://****{r['url_last4']}",
        fields=fields,
        events=list(r["events"]),
        enabled=r["enabled"],
        digest_minutes=r["digest_minutes"],
        quiet_hours=quiet,
        last_test_at=r["last_test_at"],
        last_test_ok=r["last_test_ok"],
        last_test_detail=r["last_test_detail"],
        created_at=r["created_at"],
        updated_at=r["updated_at"],
    )


def _secret_columns(
    box: SecretBox, channel_id: int, kind: str, url: str, fields: Mapping[str, str]
) -> tuple[bytes, str, str, dict[str, str]]:
    blob = json.dumps({"url": url, "fields": dict(fields)}, separators=(",", ":"))
    masked = mask_url(url)
    scheme, last4 = masked.split("://", 1)
    return (
        box.encrypt(blob, aad=_aad(channel_id)),
        scheme,
        last4.removeprefix("****"),
        masked_fields(kind, fields),
    )


def _quiet_values(quiet: QuietHours | None) -> tuple[Any, Any, Any]:
    if quiet is None:
        return None, None, None
    return quiet.start, quiet.end, quiet.timezone


async def create_channel(
    conn: Connection,
    *,
    box: SecretBox,
    name: str,
    kind: str,
    url: str,
    fields: Mapping[str, str],
    events: list[str],
    enabled: bool = True,
    digest_minutes: int = 0,
    quiet: QuietHours | None = None,
) -> Channel:
    """Insert a channel with its URL encrypted under the row's own id."""
    if kind not in KINDS:
        raise ValueError(f"unknown channel kind {kind!r}")
    async with conn.transaction():
        new_id = await conn.fetchval(
            "INSERT INTO notification_channels (name, kind, events, enabled, digest_minutes,"
            " quiet_start, quiet_end, quiet_timezone) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
            " RETURNING id",
            name,
            kind,
            events,
            enabled,
            digest_minutes,
            *_quiet_values(quiet),
        )
        enc, scheme, last4, masked = _secret_columns(box, new_id, kind, url, fields)
        await conn.execute(
            "UPDATE notification_channels SET secret_enc = $2, url_scheme = $3, url_last4 = $4,"
            " fields_masked = $5 WHERE id = $1",
            new_id,
            enc,
            scheme,
            last4,
            masked,
        )
    return await get_channel(conn, channel_id=new_id)


async def get_channel(conn: Connection, *, channel_id: int) -> Channel:
    """One channel by id."""
    query = f"SELECT {_COLUMNS} FROM notification_channels WHERE id = $1"  # noqa: S608
    r = await conn.fetchrow(query, channel_id)
    if r is None:
        raise ChannelNotFoundError(f"channel {channel_id} does not exist")
    return _row(r)


async def list_channels(conn: Connection, *, enabled_only: bool = False) -> list[Channel]:
    """Every channel, by name."""
    where = "WHERE enabled" if enabled_only else ""
    query = f"SELECT {_COLUMNS} FROM notification_channels {where} ORDER BY lower(name), id"  # noqa: S608
    return [_row(r) for r in await conn.fetch(query)]


async def update_channel(
    conn: Connection,
    *,
    box: SecretBox,
    channel_id: int,
    changes: Mapping[str, Any],
    secret: ChannelSecret | None = None,
) -> Channel:
    """Change the given fields (and the URL and form, when given); unknown fields refused."""
    unknown = set(changes) - _UPDATABLE
    if unknown:
        raise ValueError(f"cannot update: {', '.join(sorted(unknown))}")
    current = await get_channel(conn, channel_id=channel_id)
    sets: list[str] = []
    values: list[Any] = [channel_id]

    def put(column: str, value: Any) -> None:
        values.append(value)
        sets.append(f"{column} = ${len(values)}")

    for column in ("name", "events", "enabled", "digest_minutes"):
        if column in changes:
            put(column, changes[column])
    if "quiet" in changes:
        start, end, zone = _quiet_values(changes["quiet"])
        put("quiet_start", start)
        put("quiet_end", end)
        put("quiet_timezone", zone)
    if secret is not None:
        enc, scheme, last4, masked = _secret_columns(
            box, channel_id, current.kind, secret.url, secret.fields
        )
        put("secret_enc", enc)
        put("url_scheme", scheme)
        put("url_last4", last4)
        put("fields_masked", masked)
    if sets:
        # Column names come from the code above, values are parameters.
        query = (
            f"UPDATE notification_channels SET {', '.join(sets)}, updated_at = now()"  # noqa: S608
            " WHERE id = $1"
        )
        await conn.execute(query, *values)
    return await get_channel(conn, channel_id=channel_id)


async def record_test(conn: Connection, *, channel_id: int, ok: bool, detail: str) -> None:
    """Remember the outcome of the last "Send test" (detail already scrubbed of secrets)."""
    await conn.execute(
        "UPDATE notification_channels SET last_test_at = now(), last_test_ok = $2,"
        " last_test_detail = $3 WHERE id = $1",
        channel_id,
        ok,
        detail[:1000],
    )


async def delete_channel(conn: Connection, *, channel_id: int) -> None:
    """Remove a channel (its delivery log keeps the channel's name)."""
    status = await conn.execute("DELETE FROM notification_channels WHERE id = $1", channel_id)
    if status == "DELETE 0":
        raise ChannelNotFoundError(f"channel {channel_id} does not exist")


async def get_secret(conn: Connection, *, box: SecretBox, channel_id: int) -> ChannelSecret:
    """Decrypt a channel's URL and form, for the one send (or edit) about to use them."""
    token = await conn.fetchval(
        "SELECT secret_enc FROM notification_channels WHERE id = $1", channel_id
    )
    if token is None:
        raise ChannelNotFoundError(f"channel {channel_id} has no stored URL")
    return ChannelSecret.model_validate_json(box.decrypt(bytes(token), aad=_aad(channel_id)))
