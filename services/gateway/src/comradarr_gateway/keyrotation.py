"""SECRET_KEY rotation without a restart: every stored secret re-encrypted in one
transaction, the running services switched over by a handoff.

1. The new key is written to secret_key_handoffs, encrypted under the current key, and
   announced (SecretKeyRotated 'prepared', the key itself never on the bus): every running
   process decrypts it with the key it holds and can read secrets under either key.
2. One transaction locks the secret tables, re-encrypts every secret under the new key and
   marks the handoff 'active' (the caller may persist the key inside it). Any failure rolls
   all of it back, the handoff is deleted and 'aborted' announced: nothing changed.
3. 'active' is announced: new secrets are encrypted under the new key. A last pass picks
   up a secret some process wrote under the old key in between.

A process started later with the old key (the deployment not updated yet) finds the handoff
and switches too, until the handoff expires; `forget_old_keys` deletes it at once.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, cast

import asyncpg
from comradarr_channels import SECRET_COLUMN as CHANNEL_SECRETS
from comradarr_connectors import SECRET_COLUMN as CONNECTOR_KEYS
from comradarr_crypto import Keyring, SecretBox, SecretColumn, rotate_secrets
from comradarr_logging import get_logger
from comradarr_proto import SecretKeyRotated
from comradarr_runtime import apply_handoffs, handoff_aad

from .routes_webhooks import SECRET_COLUMN as WEBHOOK_TOKENS

log = get_logger(__name__)

# Every column comradarr_crypto encrypts: a new one must be added here.
SECRET_COLUMNS: tuple[SecretColumn, ...] = (CONNECTOR_KEYS, CHANNEL_SECRETS, WEBHOOK_TOKENS)
DEFAULT_HANDOFF = timedelta(days=7)
# How long running processes get to pick the new key up before it is used.
SETTLE_SECONDS = 2.0

Announce = Callable[[SecretKeyRotated], Awaitable[object]]


@dataclass(frozen=True)
class Rotation:
    """What a rotation did."""

    rotated: int
    key_id: str
    previous_key_id: str
    handoff_expires_at: datetime


async def current_keyring(pool: asyncpg.Pool, secret_key: str) -> Keyring:
    """The key this process was given, plus any handed over since (earlier rotations)."""
    keyring = Keyring(secret_key)
    await apply_handoffs(pool, keyring)
    return keyring


async def rotate_key(
    pool: asyncpg.Pool,
    *,
    old: Keyring,
    new_key: str,
    announce: Announce,
    now: datetime,
    persist: Callable[[], None] | None = None,
    handoff: timedelta = DEFAULT_HANDOFF,
    settle_seconds: float = SETTLE_SECONDS,
) -> Rotation:
    """Re-encrypt every secret under new_key and switch running services to it (see the
    module docstring); on any failure nothing is changed and the error is raised."""
    new = SecretBox(new_key)
    if old.holds(new.key_id):
        raise ValueError("the new SECRET_KEY is the current one (or an earlier one)")
    key_id, previous = new.key_id, old.key_id.hex()
    expires = now + handoff
    await pool.execute(
        "INSERT INTO secret_key_handoffs (key_id, previous_key_id, new_key_enc, expires_at)"
        " VALUES ($1, $2, $3, $4)",
        key_id,
        old.key_id,
        old.encrypt(new_key, aad=handoff_aad(key_id)),
        expires,
    )
    await _announce(announce, key_id, "prepared")
    await asyncio.sleep(settle_seconds)
    try:
        async with pool.acquire() as conn, conn.transaction():
            # Nobody adds or changes a secret under the old key while this runs.
            await conn.execute(
                "LOCK TABLE connectors, notification_channels, connector_webhooks IN EXCLUSIVE MODE"
            )
            count = await rotate_secrets(cast(Any, conn), old=old, new=new, columns=SECRET_COLUMNS)
            await conn.execute(
                "UPDATE secret_key_handoffs SET state = 'active' WHERE key_id = $1", key_id
            )
            if persist is not None:
                persist()  # inside the transaction: if it fails, the database rolls back
    except BaseException:
        await pool.execute("DELETE FROM secret_key_handoffs WHERE key_id = $1", key_id)
        await _announce(announce, key_id, "aborted")
        raise
    old.add(new_key)
    old.activate(key_id)
    await _announce(announce, key_id, "active")
    await asyncio.sleep(settle_seconds)
    async with pool.acquire() as conn, conn.transaction():
        # A secret written under the old key between the commit and the switch (the keyring
        # is active on the new key by now: read through it under the old key's id).
        reader = cast(SecretBox, _OldKey(old, bytes.fromhex(previous)))
        count += await rotate_secrets(cast(Any, conn), old=reader, new=new, columns=SECRET_COLUMNS)
    log.info("secret key rotated", re_encrypted=count, key_id=key_id.hex())
    return Rotation(
        rotated=count,
        key_id=key_id.hex(),
        previous_key_id=previous,
        handoff_expires_at=expires,
    )


class _OldKey:
    """A keyring seen as the key it had before the rotation (rotate_secrets compares ids)."""

    def __init__(self, keyring: Keyring, key_id: bytes) -> None:
        self._keyring, self.key_id = keyring, key_id

    def decrypt(self, token: bytes, *, aad: bytes) -> str:
        return self._keyring.decrypt(token, aad=aad)


async def _announce(announce: Announce, key_id: bytes, state: str) -> None:
    try:
        await announce(SecretKeyRotated(key_id=key_id.hex(), state=state))  # type: ignore[arg-type]
    except Exception as exc:  # processes that miss it read the handoff when they start
        log.warning("rotation not announced", state=state, error=repr(exc))


async def forget_old_keys(pool: asyncpg.Pool) -> int:
    """Delete every handoff: a process started with an old key can no longer switch."""
    status = await pool.execute("DELETE FROM secret_key_handoffs")
    return int(status.split()[-1])


class KeyFile:
    """The new key written beside the data directory's key file, swapped in by persist()
    (the old one kept as secret_key.previous); discard() removes it after a failure."""

    def __init__(self, data_dir: Path, new_key: str) -> None:
        self.path = data_dir / "secret_key"
        self._tmp = self.path.with_name("secret_key.new")
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self._tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(new_key + "\n")
            fh.flush()
            os.fsync(fh.fileno())

    def persist(self) -> None:
        """Put the new key in place (old kept as secret_key.previous)."""
        if self.path.exists():
            os.replace(self.path, self.path.with_name("secret_key.previous"))
        os.replace(self._tmp, self.path)

    def discard(self) -> None:
        """Remove the new key after a failed rotation."""
        self._tmp.unlink(missing_ok=True)
