"""SECRET_KEY rotation seen from a running process: the keys handed over in
secret_key_handoffs join the process's keyring, and the active one encrypts from then on."""

from __future__ import annotations

import asyncio

import asyncpg
import structlog
from comradarr_crypto import CryptoError, Keyring, aad_for
from comradarr_proto import SecretKeyRotated

log = structlog.get_logger(__name__)

HANDOFF_TABLE = "secret_key_handoffs"


def handoff_aad(key_id: bytes) -> bytes:
    """What binds a handed-over key to its row."""
    return aad_for(table=HANDOFF_TABLE, column="new_key_enc", row_id=key_id.hex())


async def apply_handoffs(pool: asyncpg.Pool, keyring: Keyring) -> None:
    """Add every unexpired handed-over key this keyring can unlock (following chains of
    rotations), and activate the newest active one it holds."""
    rows = await pool.fetch(
        f"SELECT key_id, previous_key_id, new_key_enc, state FROM {HANDOFF_TABLE}"  # noqa: S608
        " WHERE expires_at > now() ORDER BY created_at"
    )
    progress = True
    while progress:
        progress = False
        for r in rows:
            key_id = bytes(r["key_id"])
            if keyring.holds(key_id) or not keyring.holds(bytes(r["previous_key_id"])):
                continue
            try:
                keyring.add(keyring.decrypt(r["new_key_enc"], aad=handoff_aad(key_id)))
            except CryptoError as exc:
                log.warning("a handed-over key could not be read", error=str(exc))
                continue
            progress = True
    active = [bytes(r["key_id"]) for r in rows if r["state"] == "active"]
    held = [k for k in active if keyring.holds(k)]
    if held and keyring.key_id != held[-1]:
        keyring.activate(held[-1])
        log.info("secret key switched", key_id=held[-1].hex())


async def on_rotated(pool: asyncpg.Pool, keyring: Keyring, msg: SecretKeyRotated) -> None:
    """Follow a rotation as it happens (the message carries no key, only its id)."""
    if msg.state == "aborted":
        keyring.drop(bytes.fromhex(msg.key_id))
        return
    try:
        await apply_handoffs(pool, keyring)
    except (asyncpg.PostgresError, OSError) as exc:
        log.warning("could not read the handed-over key", error=repr(exc))


# How often a process looks for a handed-over key it missed the announcement of.
WATCH_SECONDS = 30.0


async def watch_handoffs(
    pool: asyncpg.Pool, keyring: Keyring, stopping: asyncio.Event, seconds: float = WATCH_SECONDS
) -> None:
    """Apply handoffs every `seconds` until stopping is set."""
    while True:
        try:
            await asyncio.wait_for(stopping.wait(), timeout=seconds)
            return
        except TimeoutError:
            pass
        try:
            await apply_handoffs(pool, keyring)
        except (asyncpg.PostgresError, OSError) as exc:
            log.debug("handoff check failed", error=repr(exc))
