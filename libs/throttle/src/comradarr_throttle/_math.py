"""Pure throttle arithmetic: no I/O, every function takes `now` so tests need no waiting."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from ._politeness import SearchWindow, window_status

# Periods that tile a day evenly, so every window starts at the same local times each day.
BUDGET_PERIODS_HOURS = (1, 2, 3, 4, 6, 8, 12, 24)
# A bad or hostile Retry-After must not park a connector for days.
MAX_RETRY_AFTER_SECONDS = 6 * 3600.0
# Commands are spaced this much wider than the configured rate asks for. Slots are exact,
# but a command reaches the *arr app (and the indexers behind it) after a varying delay:
# event-loop wake-up, the claim's database round trips, the HTTP send. A chain of slots at
# exactly the configured rate can therefore arrive slightly faster than configured over a
# short stretch (an early command delayed more than a later one). Half a percent is 300 ms
# over a minute at 1 rpm and 60 ms over 12 s at 600 rpm: more than that jitter, and a rate
# nobody notices is lower. The configured rate is a ceiling, never a target to overshoot.
RATE_SAFETY_MARGIN = 0.005
# Decision.reason when a command waits for its send slot.
SPACING = "request spacing"


@dataclass(frozen=True, slots=True, kw_only=True)
class ThrottleProfile:
    """Every limit the dispatcher obeys for one connector."""

    id: int | None = None
    name: str
    requests_per_minute: float
    batch_size: int
    cooldown_base_seconds: float
    cooldown_factor: float
    cooldown_max_seconds: float
    max_attempts: int
    daily_budget: int
    budget_reset_time: time
    budget_period_hours: int
    timezone: str
    max_concurrent_per_connector: int
    max_concurrent_per_series: int
    rate_limit_cooldown_seconds: float
    is_preset: bool = False
    is_default: bool = False

    def __post_init__(self) -> None:
        problems = validate(self)
        if problems:
            raise ValueError("; ".join(problems))

    @property
    def interval_seconds(self) -> float:
        """Spacing between two commands of one connector: the configured rate's interval
        plus RATE_SAFETY_MARGIN, so the rate seen by the app never exceeds the configured."""
        return 60.0 / self.requests_per_minute * (1 + RATE_SAFETY_MARGIN)


def validate(p: ThrottleProfile) -> list[str]:
    """Human-readable problems with a profile's values (empty when it is usable)."""
    problems: list[str] = []
    if not p.name.strip():
        problems.append("name is required")
    if not 0 < p.requests_per_minute <= 600:
        problems.append("requests_per_minute must be in (0, 600]")
    if not 1 <= p.batch_size <= 10:
        problems.append("batch_size must be 1..10 (the *arr apps take at most 10 ids)")
    if p.cooldown_base_seconds <= 0 or p.cooldown_max_seconds < p.cooldown_base_seconds:
        problems.append("cooldowns must be positive and max >= base")
    if p.cooldown_factor < 1:
        problems.append("cooldown_factor must be >= 1")
    if p.max_attempts < 1:
        problems.append("max_attempts must be >= 1")
    if p.daily_budget < 1:
        problems.append("daily_budget must be >= 1")
    if p.budget_period_hours not in BUDGET_PERIODS_HOURS:
        problems.append(f"budget_period_hours must be one of {BUDGET_PERIODS_HOURS}")
    try:
        ZoneInfo(p.timezone)
    except (KeyError, ValueError):
        problems.append(f"unknown time zone {p.timezone!r}")
    if p.max_concurrent_per_connector < 1 or p.max_concurrent_per_series < 1:
        problems.append("concurrency limits must be >= 1")
    if p.rate_limit_cooldown_seconds <= 0:
        problems.append("rate_limit_cooldown_seconds must be positive")
    return problems


# --- rate: one slot per interval, shared by every replica through next_slot_at --------------


@dataclass(frozen=True, slots=True)
class Slot:
    """The outcome of asking for a send slot."""

    allowed: bool
    # When allowed: the next slot to store. When refused: the stored slot (wait until it).
    next_slot_at: datetime


def take_slot(*, next_slot_at: datetime | None, now: datetime, interval: float) -> Slot:
    """Take a send slot if one is due (a GCRA without burst).

    Slots stay anchored to the previous slot while we are only slightly late (up to half an
    interval, at most a second), so scheduling jitter does not lower the achieved rate; after
    a longer gap the chain re-anchors at now, so an idle connector never earns a burst.
    Either way slot k is at least (k-1) intervals after slot 1: the rate is never exceeded.
    """
    step = timedelta(seconds=interval)
    if next_slot_at is not None and next_slot_at > now:
        return Slot(False, next_slot_at)
    tolerance = timedelta(seconds=min(interval / 2, 1.0))
    if next_slot_at is None or now - next_slot_at > tolerance:
        return Slot(True, now + step)
    return Slot(True, next_slot_at + step)


# --- cooldown ---------------------------------------------------------------------------------


def cooldown_seconds(profile: ThrottleProfile, *, attempts: int) -> float:
    """Backoff after the attempts-th unsuccessful search: base * factor^(attempts-1), capped."""
    exponent = max(attempts - 1, 0)
    # Cap the exponent so a huge attempt count cannot overflow the float.
    delay = profile.cooldown_base_seconds * profile.cooldown_factor ** min(exponent, 64)
    return float(min(delay, profile.cooldown_max_seconds))


def is_exhausted(profile: ThrottleProfile, *, attempts: int) -> bool:
    """Whether an item with this many unsuccessful attempts is not searched again."""
    return attempts >= profile.max_attempts


# --- daily budget -----------------------------------------------------------------------------


def _local(day: date, at: time, tz: ZoneInfo, hours: int) -> datetime:
    # Wall-clock arithmetic on purpose: "every 6 h from 00:00" means 00/06/12/18 local on a
    # DST day too. A time that does not exist (spring gap) resolves with fold=0, i.e. later.
    naive = datetime.combine(day, at) + timedelta(hours=hours)
    return naive.replace(tzinfo=tz)


@lru_cache(maxsize=256)
def budget_window(
    *, now: datetime, reset_time: time, timezone: str, period_hours: int = 24
) -> tuple[datetime, datetime]:
    """The budget window containing now, as (start, end) in UTC, reset at local wall times.

    Cached: a pure function asked with the same arguments for every entry of a queue page
    or dispatch round (one now each); ~20 zone conversions and a sort per call otherwise.
    """
    tz = ZoneInfo(timezone)
    today = now.astimezone(tz).date()
    starts = sorted(
        _local(today + timedelta(days=d), reset_time, tz, k * period_hours).astimezone(UTC)
        for d in (-2, -1, 0, 1, 2)
        for k in range(24 // period_hours)
    )
    start = max(s for s in starts if s <= now)
    end = min(s for s in starts if s > now)
    return start, end


# --- 429 ----------------------------------------------------------------------------------------


def rate_limit_pause_seconds(profile: ThrottleProfile, *, retry_after: float | None) -> float:
    """How long a connector pauses after a 429: Retry-After if given, else the extended
    cooldown; never shorter than a few seconds, never longer than MAX_RETRY_AFTER_SECONDS."""
    seconds = profile.rate_limit_cooldown_seconds if retry_after is None else retry_after
    return float(min(max(seconds, 1.0), MAX_RETRY_AFTER_SECONDS))


# --- the decision -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class ThrottleState:
    """A connector's shared counters (one row per connector in throttle_state)."""

    connector_id: int
    next_slot_at: datetime | None = None
    window_start: datetime | None = None
    window_used: int = 0
    paused_until: datetime | None = None
    pause_reason: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Decision:
    """Whether a command may be sent now; if not, why and until when."""

    allowed: bool
    reason: str | None = None
    wait_until: datetime | None = None
    state: ThrottleState | None = None  # the state to store when allowed


def decide(
    profile: ThrottleProfile,
    state: ThrottleState,
    *,
    now: datetime,
    in_flight: int = 0,
    cost: int = 1,
) -> Decision:
    """Apply pause, concurrency, daily budget and rate, in that order, to one send request.

    `cost` is how many budget units the command spends (one per command: the budget counts
    requests to the indexers' front door, the *arr app, not items).
    """
    if state.paused_until is not None and state.paused_until > now:
        reason = state.pause_reason or "paused"
        return Decision(allowed=False, reason=reason, wait_until=state.paused_until)
    if in_flight >= profile.max_concurrent_per_connector:
        return Decision(
            allowed=False,
            reason=f"{in_flight} searches in flight (limit {profile.max_concurrent_per_connector})",
        )
    start, end = budget_window(
        now=now,
        reset_time=profile.budget_reset_time,
        timezone=profile.timezone,
        period_hours=profile.budget_period_hours,
    )
    used = state.window_used if state.window_start == start else 0
    if used + cost > profile.daily_budget:
        return Decision(
            allowed=False,
            reason=f"request budget spent ({used}/{profile.daily_budget}) until next reset",
            wait_until=end,
        )
    slot = take_slot(next_slot_at=state.next_slot_at, now=now, interval=profile.interval_seconds)
    if not slot.allowed:
        return Decision(allowed=False, reason=SPACING, wait_until=slot.next_slot_at)
    new_state = ThrottleState(
        connector_id=state.connector_id,
        next_slot_at=slot.next_slot_at,
        window_start=start,
        window_used=used + cost,
        paused_until=None,
        pause_reason=None,
    )
    return Decision(allowed=True, state=new_state)


def estimate_dispatch_times(
    profile: ThrottleProfile,
    state: ThrottleState,
    *,
    now: datetime,
    batches_ahead: int,
    windows: Sequence[SearchWindow] = (),
    window_timezone: str = "UTC",
) -> datetime:
    """When the batch after `batches_ahead` others would go out, from pause, rate, budget and
    the connector's search windows (commands go out only inside them).

    An estimate: it assumes every earlier batch is one command and nothing else changes.
    """
    t = now
    if state.paused_until is not None and state.paused_until > t:
        t = state.paused_until
    if state.next_slot_at is not None and state.next_slot_at > t:
        t = state.next_slot_at
    interval = timedelta(seconds=profile.interval_seconds)
    remaining = batches_ahead
    budget_start: datetime | None = None
    left = 0
    # Each turn runs to the end of a search window or a budget window: a few per day.
    for _ in range(10_000):
        window_end: datetime | None = None
        if windows:
            status = window_status(windows, window_timezone, now=t)
            if not status.open:
                if status.until is None:
                    return t
                t = status.until
                continue
            window_end = status.until
        start, end = budget_window(
            now=t,
            reset_time=profile.budget_reset_time,
            timezone=profile.timezone,
            period_hours=profile.budget_period_hours,
        )
        if start != budget_start:
            budget_start = start
            used = state.window_used if state.window_start == start else 0
            left = profile.daily_budget - used
        if left <= 0:
            t = end
            continue
        stop = end if window_end is None else min(end, window_end)
        # Slots at t, t + interval, ... before the window or the budget period ends.
        n = min(max(1, math.ceil((stop - t) / interval)), left)
        if remaining < n:
            return t + interval * remaining
        remaining -= n
        left -= n
        t += interval * n
        if left <= 0:
            t = max(t, end)
    return t
