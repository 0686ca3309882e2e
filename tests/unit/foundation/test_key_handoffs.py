"""A process follows SECRET_KEY rotations through the handoff rows, chained, even when it
missed the announcement (the watch)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from comradarr_crypto import Keyring, SecretBox
from comradarr_runtime import apply_handoffs, handoff_aad
from comradarr_runtime._keys import watch_handoffs

pytestmark = pytest.mark.unit

K0, K1, K2 = "0" * 40, "1" * 40, "2" * 40


def _row(old: str, new: str, state: str) -> dict[str, Any]:
    new_id = SecretBox(new).key_id
    return {
        "key_id": new_id,
        "previous_key_id": SecretBox(old).key_id,
        "new_key_enc": SecretBox(old).encrypt(new, aad=handoff_aad(new_id)),
        "state": state,
    }


class FakePool:
    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self.rows = rows

    async def fetch(self, _sql: str) -> list[dict[str, Any]]:
        return self.rows


async def test_chained_rotations_reach_the_newest_active_key() -> None:
    ring = Keyring(K0)
    pool = FakePool([_row(K0, K1, "active"), _row(K1, K2, "prepared")])
    await apply_handoffs(pool, ring)  # type: ignore[arg-type]
    assert ring.key_id == SecretBox(K1).key_id  # K2 is held for reading, not yet active
    assert ring.holds(SecretBox(K2).key_id)
    pool.rows[1]["state"] = "active"
    await apply_handoffs(pool, ring)  # type: ignore[arg-type]
    assert ring.key_id == SecretBox(K2).key_id


async def test_a_key_it_cannot_unlock_is_left_alone() -> None:
    ring = Keyring(K2)
    await apply_handoffs(FakePool([_row(K0, K1, "active")]), ring)  # type: ignore[arg-type]
    assert ring.key_id == SecretBox(K2).key_id and not ring.holds(SecretBox(K1).key_id)


async def test_the_watch_picks_up_a_missed_rotation() -> None:
    ring, stopping = Keyring(K0), asyncio.Event()
    pool = FakePool([])
    watch = asyncio.create_task(watch_handoffs(pool, ring, stopping, seconds=0.01))  # type: ignore[arg-type]
    pool.rows.append(_row(K0, K1, "active"))
    for _ in range(100):
        if ring.key_id == SecretBox(K1).key_id:
            break
        await asyncio.sleep(0.01)
    stopping.set()
    await asyncio.wait_for(watch, 1)
    assert ring.key_id == SecretBox(K1).key_id
