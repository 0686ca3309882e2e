"""SQL of the queue view: the search registry in priority order with why each entry waits
and when it should go out, recent completions, and single-entry changes.

Reads are computed here rather than by calling the dispatcher (a service the gateway does not
import): the same rules as its explain, but set-based for a whole page. Writes are plain
registry updates on shared state (the dispatcher and discovery write these rows too): one
statement each, never touching an entry in flight; pause, resume and clear are not done
here but sent to the dispatcher as ControlQueue commands.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
from comradarr_connectors import BLOCKING_HEALTH
from comradarr_db import Connection
from comradarr_mirror import SEARCH_TYPES
from comradarr_mirror import set_user_priority as mirror_set_user_priority
from comradarr_throttle import (
    Hold,
    SearchWindow,
    ThrottleProfile,
    ThrottleState,
    budget_window,
    clock_words,
    connector_hold,
    estimate_dispatch_times,
    retry_words,
    throttle_of,
)

from .content_repo import TOTAL_CAP

WAITING = ("pending", "queued", "searching", "cooldown")

_TITLE = """
    coalesce(s.title || ' S' || lpad(e.season_number::text, 2, '0')
             || 'E' || lpad(coalesce(e.episode_number, 0)::text, 2, '0'), m.title) AS title,
    coalesce(s.id, m.id) AS content_id,
    CASE WHEN r.content_type = 'episode' THEN s.id END AS series_id
"""
_JOINS = """
    LEFT JOIN episodes e ON e.id = r.episode_id
    LEFT JOIN series s ON s.connector_id = e.connector_id AND s.arr_id = e.series_arr_id
    LEFT JOIN movies m ON m.id = r.movie_id
"""
# A format-score upgrade says by how much its file falls short ("format score 40 < 100").
_UPGRADE_DETAIL = """
    CASE WHEN r.search_type = 'format' THEN (
        SELECT 'format score ' || coalesce(e.custom_format_score, m.custom_format_score)
               || ' < ' || qp.cutoff_format_score
        FROM quality_profiles qp WHERE qp.connector_id = r.connector_id
         AND qp.arr_id = coalesce(s.quality_profile_id, m.quality_profile_id)) END
        AS upgrade_detail
"""


@dataclass(frozen=True, slots=True, kw_only=True)
class Reason:
    """Why an entry waits (code for the UI, message for people)."""

    code: str
    message: str
    until: datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ConnectorView:
    """What holds back a connector's whole queue."""

    enabled: bool
    health: str
    paused_until: datetime | None
    queue_paused: bool
    profile: ThrottleProfile
    state: ThrottleState
    # Its search windows (estimates count only the time inside them) and what its windows
    # or its download queue hold back now: the dispatcher's own rules (comradarr_throttle).
    windows: tuple[SearchWindow, ...] = ()
    window_timezone: str = "UTC"
    hold: Hold | None = None


async def queue_pause_flags(conn: Connection) -> dict[int, bool]:
    """Paused flags by connector id (0 = the whole queue); empty without the table.

    One round trip: the read itself tells whether the table exists. Call it outside a
    transaction (a failed statement would abort one).
    """
    try:
        rows = await conn.fetch("SELECT connector_id, paused FROM queue_state")
    except asyncpg.UndefinedTableError:
        return {}
    return {r["connector_id"]: bool(r["paused"]) for r in rows}


# The queue in the order things happen: entries in flight, then entries eligible now by
# priority (the dispatcher's own order: priority DESC, id), then entries that wait (cooling
# down or not yet due) by when they become eligible. Each segment is read by an index of
# its own order (gateway migrations 0002, 0008), a page at a time.
_SEGMENTS: dict[str, tuple[str, str]] = {
    "in_flight": ("r.state IN ('queued', 'searching')", "r.priority DESC, r.id"),
    "eligible": (
        "r.state IN ('pending', 'cooldown') AND r.next_eligible_at <= $1",
        "r.priority DESC, r.id",
    ),
    "waiting": (
        "r.state IN ('pending', 'cooldown') AND r.next_eligible_at > $1",
        "r.next_eligible_at, r.priority DESC, r.id",
    ),
}
_ROW = (
    "r.id, r.connector_id, r.content_type, r.episode_id, r.movie_id, r.search_type,"
    " r.state, r.attempts, r.priority, r.priority_parts, r.user_priority,"
    f" r.next_eligible_at, r.last_searched_at, r.last_error, {_TITLE}, {_UPGRADE_DETAIL}"
)


def _filters(
    connector_id: int | None, state: str | None, search_type: str | None, *, first: int
) -> tuple[str, list[object]]:
    """' AND ...' for the given filters, their parameters numbered from $first."""
    args: list[object] = []
    clauses: list[str] = []
    given = (("connector_id", connector_id), ("state", state), ("search_type", search_type))
    for column, value in given:
        if value is not None:
            args.append(value)
            clauses.append(f"r.{column} = ${first + len(args) - 1}")
    return "".join(f" AND {c}" for c in clauses), args


async def page(
    conn: Connection,
    *,
    connector_id: int | None,
    state: str | None,
    limit: int,
    offset: int,
    now: datetime,
    with_total: bool = True,
    search_type: str | None = None,
) -> tuple[list[dict[str, Any]], int | None]:
    """Entries not exhausted in the order they go out (in flight, eligible by priority,
    then waiting by eligibility time), and how many there are (counted up to a cap; None
    without with_total)."""
    rows: list[dict[str, Any]] = []
    skip, need = offset, limit
    for name, (where, order) in _SEGMENTS.items():
        if need <= 0:
            break
        timed = "$1" in where  # $1 is now; the filters' parameters follow
        extra, args = _filters(connector_id, state, search_type, first=2 if timed else 1)
        params = [now, *args] if timed else args
        # LIMIT/OFFSET as literals (validated ints) keep one generic plan per shape.
        got = await conn.fetch(
            f"SELECT {_ROW} FROM search_registry r {_JOINS}"  # noqa: S608
            f" WHERE {where}{extra} ORDER BY {order}"
            f" LIMIT {int(need):d} OFFSET {int(skip):d}",
            *params,
        )
        rows += [dict(r) for r in got]
        need -= len(got)
        if got or skip == 0:
            skip = 0  # the page started in this segment (or at its start): the next from 0
        elif name != "waiting":
            # The page starts past this segment: skip it whole.
            size = await conn.fetchval(
                f"SELECT count(*) FROM search_registry r WHERE {where}{extra}",  # noqa: S608
                *params,
            )
            skip = max(0, skip - int(size or 0))
    if not with_total:
        return rows, None
    extra, args = _filters(connector_id, state, search_type, first=1)
    total = await conn.fetchval(
        "SELECT count(*) FROM (SELECT 1 FROM search_registry r"  # noqa: S608
        f" WHERE r.state <> 'exhausted'{extra} LIMIT {TOTAL_CAP + 1:d}) t",
        *args,
    )
    return rows, int(total or 0)


async def connector_views(
    conn: Connection, *, connector_ids: set[int], flags: dict[int, bool], now: datetime
) -> dict[int, ConnectorView]:
    """Health, pauses, profile and throttle counters of each connector."""
    if not connector_ids:
        return {}
    rows = await conn.fetch(
        "SELECT c.id, c.enabled, c.health_status, c.paused_until, c.queue_limit,"
        " c.search_windows, c.search_timezone, d.total_count, d.checked_at"
        " FROM connectors c LEFT JOIN download_queue_readings d ON d.connector_id = c.id"
        " WHERE c.id = ANY ($1)",
        sorted(connector_ids),
    )
    throttles = await throttle_of(conn, connector_ids=[r["id"] for r in rows])
    views: dict[int, ConnectorView] = {}
    for r in rows:
        cid = r["id"]
        profile, state = throttles[cid]
        windows, hold = connector_hold(r, now=now)
        views[cid] = ConnectorView(
            enabled=r["enabled"],
            health=r["health_status"],
            paused_until=r["paused_until"],
            queue_paused=flags.get(0, False) or flags.get(cid, False),
            profile=profile,
            state=state,
            windows=windows,
            window_timezone=r["search_timezone"],
            hold=hold,
        )
    return views


async def eligible_ahead(
    conn: Connection, *, connector_id: int, priority: float, entry_id: int, now: datetime
) -> int:
    """Eligible entries of a connector that go before (priority, id)."""
    value = await conn.fetchval(
        "SELECT count(*) FROM search_registry WHERE connector_id = $1"
        " AND state IN ('pending', 'cooldown') AND next_eligible_at <= $2"
        " AND (priority > $3 OR (priority = $3 AND id < $4))",
        connector_id,
        now,
        priority,
        entry_id,
    )
    return int(value or 0)


def explain(
    row: dict[str, Any],
    view: ConnectorView | None,
    *,
    ahead: int,
    now: datetime,
    tz: str = "UTC",
    search_types: tuple[str, ...] = SEARCH_TYPES,
) -> tuple[list[Reason], datetime | None]:
    """Why an entry waits, in words (times in tz), and its estimated dispatch time (None
    when it cannot be known). search_types: the ones Settings → Search lets run (the
    dispatcher sends no others)."""
    reasons: list[Reason] = []
    eligible_at = now
    if row["state"] == "searching":
        reasons.append(Reason(code="in_flight", message="searching: the command was sent"))
    elif row["state"] == "queued":
        reasons.append(Reason(code="in_flight", message="queued: picked for the next command"))
    elif row["next_eligible_at"] > now:
        until = row["next_eligible_at"]
        max_attempts = view.profile.max_attempts if view is not None else 0
        reasons.append(
            Reason(
                code="cooldown",
                message=retry_words(
                    until, attempts=row["attempts"], max_attempts=max_attempts, now=now, tz=tz
                ),
                until=until,
            )
        )
        eligible_at = until
    if view is None:
        reasons.append(Reason(code="connector_missing", message="connector not found"))
        return reasons, None
    blocked = row["state"] in ("queued", "searching")
    if view.queue_paused:
        reasons.append(Reason(code="queue_paused", message="the queue is paused"))
        blocked = True
    if not view.enabled:
        reasons.append(Reason(code="connector_disabled", message="connector disabled"))
        blocked = True
    if view.health in BLOCKING_HEALTH:
        reasons.append(
            Reason(
                code="connector_unhealthy",
                message=f"connector {view.health}: dispatching waits until it is healthy",
            )
        )
        blocked = True
    if row["search_type"] not in search_types:
        kind = "gaps" if row["search_type"] == "gap" else "upgrades"
        reasons.append(
            Reason(
                code="search_type_off",
                message=f"searching {kind} is turned off (Settings → Search)",
            )
        )
        blocked = True
    if view.paused_until is not None and view.paused_until > now:
        reasons.append(
            Reason(
                code="connector_paused",
                message=f"connector paused until {clock_words(view.paused_until, now=now, tz=tz)}",
                until=view.paused_until,
            )
        )
        eligible_at = max(eligible_at, view.paused_until)
    if view.hold is not None:
        held = view.hold
        reasons.append(Reason(code=held.code, message=held.message, until=held.until))
        # A full download queue says nothing about when it drains; outside the windows
        # the estimate below counts to the next one.
        blocked = blocked or held.code == "download_queue"
    st, prof = view.state, view.profile
    if st.paused_until is not None and st.paused_until > now:
        text = st.pause_reason or "throttled"
        code = "budget_spent" if "budget" in text else "throttle_paused"
        at = clock_words(st.paused_until, now=now, tz=tz)
        reasons.append(Reason(code=code, message=f"{text} until {at}", until=st.paused_until))
    else:
        start, end = budget_window(
            now=now,
            reset_time=prof.budget_reset_time,
            timezone=prof.timezone,
            period_hours=prof.budget_period_hours,
        )
        if st.window_start == start and st.window_used >= prof.daily_budget:
            reasons.append(
                Reason(
                    code="budget_spent",
                    message=f"request budget spent ({st.window_used}/{prof.daily_budget});"
                    f" it renews at {clock_words(end, now=now, tz=tz)}",
                    until=end,
                )
            )
    if blocked:
        return reasons, None
    per_command = max(1, prof.batch_size)
    estimate = estimate_dispatch_times(
        prof,
        st,
        now=max(now, eligible_at),
        batches_ahead=ahead // per_command,
        windows=view.windows,
        window_timezone=view.window_timezone,
    )
    if not reasons:
        reasons.append(
            Reason(code="next", message="next for its connector")
            if ahead == 0
            else Reason(
                code="waiting_turn",
                message=f"{ahead} higher-priority entries ahead (about {ahead // per_command}"
                f" commands at {prof.requests_per_minute:g}/min, profile {prof.name})",
            )
        )
    return reasons, estimate


async def recent(conn: Connection, *, connector_id: int | None, limit: int) -> list[dict[str, Any]]:
    """Searches that ended, newest first, with their content's title."""
    rows = await conn.fetch(
        # The history names its content itself: a found item's entry may be gone.
        "SELECT h.id, h.registry_id, h.connector_id, r.content_type, h.command_name,"  # noqa: S608
        " h.search_type, h.outcome, h.error, h.started_at, h.ended_at,"
        f" {_TITLE} FROM search_history h"
        " LEFT JOIN search_registry g ON g.id = h.registry_id"
        " CROSS JOIN LATERAL (SELECT coalesce(h.content_type, g.content_type) AS content_type,"
        "   coalesce(h.episode_id, g.episode_id) AS episode_id,"
        "   coalesce(h.movie_id, g.movie_id) AS movie_id) r"
        f" {_JOINS} WHERE h.ended_at IS NOT NULL"
        " AND ($1::int IS NULL OR h.connector_id = $1)"
        " ORDER BY h.started_at DESC, h.id DESC LIMIT $2",
        connector_id,
        limit,
    )
    return [dict(r) for r in rows]


async def entry(conn: Connection, *, entry_id: int) -> dict[str, Any] | None:
    """One registry entry with its title."""
    row = await conn.fetchrow(
        "SELECT r.id, r.connector_id, r.content_type, r.episode_id, r.movie_id, r.search_type,"  # noqa: S608
        " r.state, r.attempts, r.priority, r.priority_parts, r.user_priority,"
        f" r.next_eligible_at, r.last_searched_at, r.last_error, {_TITLE}, {_UPGRADE_DETAIL}"
        f" FROM search_registry r {_JOINS} WHERE r.id = $1",
        entry_id,
    )
    return None if row is None else dict(row)


async def set_user_priority(conn: Connection, *, entry_id: int, value: int | None) -> bool:
    """The user's nudge (-100..100, None clears), re-ranking the entry at once."""
    return await mirror_set_user_priority(conn, entry_id=entry_id, user_priority=value)


async def remove(conn: Connection, *, entry_id: int) -> str:
    """Delete one entry unless in flight: 'deleted', 'in_flight' or 'missing'."""
    async with conn.transaction():
        state = await conn.fetchval(
            "SELECT state FROM search_registry WHERE id = $1 FOR UPDATE", entry_id
        )
        if state is None:
            return "missing"
        if state in ("queued", "searching"):
            return "in_flight"
        await conn.execute("DELETE FROM search_registry WHERE id = $1", entry_id)
    return "deleted"
