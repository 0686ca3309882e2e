"""Throttle profiles and shared counters in PostgreSQL (keyword-only functions)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from comradarr_db import Connection

from ._math import Decision, ThrottleProfile, ThrottleState, decide, validate

_PROFILE_COLUMNS = """
    id, name, requests_per_minute, batch_size, cooldown_base_seconds, cooldown_factor,
    cooldown_max_seconds, max_attempts, daily_budget, budget_reset_time, budget_period_hours,
    timezone, max_concurrent_per_connector, max_concurrent_per_series,
    rate_limit_cooldown_seconds, is_preset, is_default
"""
# What a custom profile must set (everything but identity and flags).
EDITABLE = (
    "name",
    "requests_per_minute",
    "batch_size",
    "cooldown_base_seconds",
    "cooldown_factor",
    "cooldown_max_seconds",
    "max_attempts",
    "daily_budget",
    "budget_reset_time",
    "budget_period_hours",
    "timezone",
    "max_concurrent_per_connector",
    "max_concurrent_per_series",
    "rate_limit_cooldown_seconds",
)
_STATE_COLUMNS = "connector_id, next_slot_at, window_start, window_used, paused_until, pause_reason"
# Which profile is the default (for connectors without one of their own).
_DEFAULT_FIRST = "{t}.is_default DESC, ({t}.name = 'Moderate') DESC, {t}.id"
_PROFILE_FIELDS = tuple(c.strip() for c in _PROFILE_COLUMNS.split(","))
_STATE_FIELDS = tuple(c.strip() for c in _STATE_COLUMNS.split(","))


class ProfileNotFoundError(LookupError):
    """No throttle profile has that id."""


class PresetReadOnlyError(ValueError):
    """Presets cannot be changed or deleted; copy one into a custom profile instead."""


def _profile(record: Any) -> ThrottleProfile:
    return ThrottleProfile(**dict(record))


def _state(record: Any) -> ThrottleState:
    return ThrottleState(**dict(record))


async def list_profiles(conn: Connection) -> list[ThrottleProfile]:
    """Every profile: presets first, then custom ones by name."""
    rows = await conn.fetch(
        f"SELECT {_PROFILE_COLUMNS} FROM throttle_profiles"  # noqa: S608 - constant columns
        " ORDER BY NOT is_preset, id"
    )
    return [_profile(r) for r in rows]


async def get_profile(conn: Connection, *, profile_id: int) -> ThrottleProfile:
    """One profile by id."""
    row = await conn.fetchrow(
        f"SELECT {_PROFILE_COLUMNS} FROM throttle_profiles WHERE id = $1",  # noqa: S608
        profile_id,
    )
    if row is None:
        raise ProfileNotFoundError(f"throttle profile {profile_id} does not exist")
    return _profile(row)


async def default_profile(conn: Connection) -> ThrottleProfile:
    """The profile used by connectors without one (Moderate unless changed)."""
    row = await conn.fetchrow(
        f"SELECT {_PROFILE_COLUMNS} FROM throttle_profiles"  # noqa: S608
        f" ORDER BY {_DEFAULT_FIRST.format(t='throttle_profiles')} LIMIT 1"
    )
    if row is None:
        raise ProfileNotFoundError("no throttle profiles exist")
    return _profile(row)


async def profile_for_connector(conn: Connection, *, connector_id: int) -> ThrottleProfile:
    """The connector's own profile, or the default when it has none (or it was deleted)."""
    row = await conn.fetchrow(
        f"SELECT {_PROFILE_COLUMNS} FROM throttle_profiles"  # noqa: S608
        " WHERE id = (SELECT throttle_profile_id FROM connectors WHERE id = $1)",
        connector_id,
    )
    return _profile(row) if row is not None else await default_profile(conn)


async def create_profile(conn: Connection, *, profile: ThrottleProfile) -> ThrottleProfile:
    """Insert a custom profile; every value must be set (validated before writing)."""
    problems = validate(profile)
    if problems:
        raise ValueError("; ".join(problems))
    values = [getattr(profile, name) for name in EDITABLE]
    placeholders = ", ".join(f"${i}" for i in range(1, len(EDITABLE) + 1))
    row = await conn.fetchrow(
        f"INSERT INTO throttle_profiles ({', '.join(EDITABLE)})"  # noqa: S608
        f" VALUES ({placeholders}) RETURNING {_PROFILE_COLUMNS}",
        *values,
    )
    return _profile(row)


async def update_profile(
    conn: Connection, *, profile_id: int, changes: dict[str, Any]
) -> ThrottleProfile:
    """Change fields of a custom profile (validated as a whole); presets are read only."""
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise ValueError(f"cannot update: {', '.join(sorted(unknown))}")
    current = await get_profile(conn, profile_id=profile_id)
    if current.is_preset:
        raise PresetReadOnlyError(f"{current.name} is a preset and cannot be changed")
    updated = dataclasses.replace(current, **changes)  # validates in __post_init__
    sets = ", ".join(f"{name} = ${i}" for i, name in enumerate(EDITABLE, start=2))
    row = await conn.fetchrow(
        f"UPDATE throttle_profiles SET {sets}, updated_at = now()"  # noqa: S608
        f" WHERE id = $1 RETURNING {_PROFILE_COLUMNS}",
        profile_id,
        *[getattr(updated, name) for name in EDITABLE],
    )
    return _profile(row)


async def delete_profile(conn: Connection, *, profile_id: int) -> None:
    """Delete a custom profile; its connectors fall back to the default profile."""
    current = await get_profile(conn, profile_id=profile_id)
    if current.is_preset:
        raise PresetReadOnlyError(f"{current.name} is a preset and cannot be deleted")
    async with conn.transaction():
        await conn.execute(
            "UPDATE connectors SET throttle_profile_id = NULL WHERE throttle_profile_id = $1",
            profile_id,
        )
        await conn.execute("DELETE FROM throttle_profiles WHERE id = $1", profile_id)


async def set_default_profile(conn: Connection, *, profile_id: int) -> None:
    """Make a profile the default for connectors without one."""
    await get_profile(conn, profile_id=profile_id)
    async with conn.transaction():
        await conn.execute("UPDATE throttle_profiles SET is_default = false WHERE is_default")
        await conn.execute(
            "UPDATE throttle_profiles SET is_default = true WHERE id = $1", profile_id
        )


async def throttle_of(
    conn: Connection, *, connector_ids: Sequence[int]
) -> dict[int, tuple[ThrottleProfile, ThrottleState]]:
    """Each existing connector's profile (its own, else the default) and counters, in one
    round trip (profile_for_connector plus get_state per connector took two or three)."""
    profile = ", ".join(f"p.{c} AS p_{c}" for c in _PROFILE_FIELDS)
    state = ", ".join(f"s.{c} AS s_{c}" for c in _STATE_FIELDS)
    rows = await conn.fetch(
        f"SELECT c.id AS cid, {profile}, {state} FROM connectors c"  # noqa: S608
        " JOIN LATERAL (SELECT * FROM throttle_profiles tp"
        "   ORDER BY (tp.id = c.throttle_profile_id) IS TRUE DESC,"
        f"  {_DEFAULT_FIRST.format(t='tp')} LIMIT 1) p ON true"
        " LEFT JOIN throttle_state s ON s.connector_id = c.id"
        " WHERE c.id = ANY ($1::bigint[])",
        list(connector_ids),
    )
    out: dict[int, tuple[ThrottleProfile, ThrottleState]] = {}
    for r in rows:
        cid = int(r["cid"])
        counters = (
            ThrottleState(**{c: r[f"s_{c}"] for c in _STATE_FIELDS})
            if r["s_connector_id"] is not None
            else ThrottleState(connector_id=cid)
        )
        out[cid] = (ThrottleProfile(**{c: r[f"p_{c}"] for c in _PROFILE_FIELDS}), counters)
    return out


# --- shared counters ------------------------------------------------------------------------


async def get_state(conn: Connection, *, connector_id: int) -> ThrottleState:
    """A connector's counters (all empty when it never sent anything)."""
    row = await conn.fetchrow(
        f"SELECT {_STATE_COLUMNS} FROM throttle_state WHERE connector_id = $1",  # noqa: S608
        connector_id,
    )
    return _state(row) if row is not None else ThrottleState(connector_id=connector_id)


async def lock_state(conn: Connection, *, connector_id: int) -> ThrottleState:
    """Lock a connector's counter row for this transaction (creating it on first use).

    Every replica takes this lock before deciding to send, so their decisions are serial.
    """
    await conn.execute(
        "INSERT INTO throttle_state (connector_id) VALUES ($1) ON CONFLICT DO NOTHING",
        connector_id,
    )
    row = await conn.fetchrow(
        f"SELECT {_STATE_COLUMNS} FROM throttle_state"  # noqa: S608
        " WHERE connector_id = $1 FOR UPDATE",
        connector_id,
    )
    return _state(row)


async def try_acquire(
    conn: Connection,
    *,
    connector_id: int,
    profile: ThrottleProfile,
    now: datetime,
    in_flight: int = 0,
) -> Decision:
    """Inside the caller's transaction: lock the counters, decide, and spend if allowed."""
    state = await lock_state(conn, connector_id=connector_id)
    decision = decide(profile, state, now=now, in_flight=in_flight)
    if decision.allowed and decision.state is not None:
        await store_spent(conn, state=decision.state, now=now)
    elif decision.reason is not None and decision.reason.startswith("request budget spent"):
        # Recorded so the explanation and the gateway show why the connector waits.
        await pause(
            conn,
            connector_id=connector_id,
            until=decision.wait_until,
            reason="daily request budget spent",
        )
    return decision


async def store_spent(conn: Connection, *, state: ThrottleState, now: datetime) -> None:
    """Write the counters after a send was allowed."""
    await conn.execute(
        "UPDATE throttle_state SET next_slot_at = $2, window_start = $3, window_used = $4,"
        " paused_until = NULL, pause_reason = NULL, requests_total = requests_total + 1,"
        " last_sent_at = $5, updated_at = now() WHERE connector_id = $1",
        state.connector_id,
        state.next_slot_at,
        state.window_start,
        state.window_used,
        now,
    )


async def pause(
    conn: Connection,
    *,
    connector_id: int,
    until: datetime | None,
    reason: str,
    rate_limited: bool = False,
) -> None:
    """Pause all sending for a connector until `until` (extends, never shortens, a pause)."""
    await conn.execute(
        "INSERT INTO throttle_state (connector_id) VALUES ($1) ON CONFLICT DO NOTHING",
        connector_id,
    )
    await conn.execute(
        "UPDATE throttle_state SET"
        " pause_reason = CASE WHEN paused_until IS NULL OR paused_until <= $2"
        "   THEN $3 ELSE pause_reason END,"
        " paused_until = GREATEST(coalesce(paused_until, $2), $2),"
        " rate_limited_total = rate_limited_total + $4::int, updated_at = now()"
        " WHERE connector_id = $1",
        connector_id,
        until,
        reason,
        1 if rate_limited else 0,
    )


async def resume(conn: Connection, *, connector_id: int) -> None:
    """Lift a throttle pause (429 or budget) by hand."""
    await conn.execute(
        "UPDATE throttle_state SET paused_until = NULL, pause_reason = NULL, updated_at = now()"
        " WHERE connector_id = $1",
        connector_id,
    )
