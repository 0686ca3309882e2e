"""Throttle arithmetic with an injected clock: nothing here waits."""

from __future__ import annotations

import dataclasses
import itertools
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest
from comradarr_arr import parse_retry_after
from comradarr_throttle import (
    AGGRESSIVE,
    CONSERVATIVE,
    MODERATE,
    PRESETS,
    RATE_SAFETY_MARGIN,
    ThrottleProfile,
    ThrottleState,
    budget_window,
    cooldown_seconds,
    decide,
    estimate_dispatch_times,
    is_exhausted,
    rate_limit_pause_seconds,
    take_slot,
)

T0 = datetime(2025, 3, 29, 12, 0, tzinfo=UTC)


def profile(**changes: object) -> ThrottleProfile:
    return dataclasses.replace(MODERATE, is_preset=False, **changes)  # type: ignore[arg-type]


def run(p: ThrottleProfile, times: list[datetime]) -> list[datetime]:
    """Ask for a slot at each time; return the times that were allowed."""
    state = ThrottleState(connector_id=1)
    allowed = []
    for t in times:
        d = decide(p, state, now=t)
        if d.allowed:
            assert d.state is not None
            state = d.state
            allowed.append(t)
    return allowed


def test_rpm_spacing_never_exceeds_the_rate() -> None:
    p = profile(requests_per_minute=6)  # one per 10 s, plus the safety margin
    assert p.interval_seconds == pytest.approx(10 * (1 + RATE_SAFETY_MARGIN))
    asks = [T0 + timedelta(seconds=s) for s in range(0, 122)]
    sent = run(p, asks)
    # Slots at 0, 10.05, 20.1, ... 120.6: asked every second, the first ask after each.
    assert sent == [T0] + [T0 + timedelta(seconds=10 * k + 1) for k in range(1, 13)]
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(sent)]
    assert min(gaps) >= 10
    # Over the whole run: never faster than configured.
    assert (len(sent) - 1) / (sent[-1] - sent[0]).total_seconds() * 60 <= 6


def test_slot_keeps_its_anchor_when_slightly_late() -> None:
    interval = 10.0
    first = take_slot(next_slot_at=None, now=T0, interval=interval)
    assert first.allowed and first.next_slot_at == T0 + timedelta(seconds=10)
    late = take_slot(
        next_slot_at=first.next_slot_at, now=T0 + timedelta(seconds=10.5), interval=interval
    )
    # Anchored: jitter does not lower the long-run rate.
    assert late.next_slot_at == T0 + timedelta(seconds=20)
    idle = take_slot(
        next_slot_at=late.next_slot_at, now=T0 + timedelta(seconds=100), interval=interval
    )
    # After a long gap it re-anchors at now: no burst for having been idle.
    assert idle.next_slot_at == T0 + timedelta(seconds=110)
    early = take_slot(
        next_slot_at=idle.next_slot_at, now=T0 + timedelta(seconds=105), interval=interval
    )
    assert not early.allowed and early.next_slot_at == T0 + timedelta(seconds=110)


def test_concurrency_limit() -> None:
    p = profile(max_concurrent_per_connector=2)
    state = ThrottleState(connector_id=1)
    assert decide(p, state, now=T0, in_flight=1).allowed
    d = decide(p, state, now=T0, in_flight=2)
    assert not d.allowed and "in flight" in (d.reason or "")


def test_daily_budget_pauses_until_local_midnight() -> None:
    p = profile(daily_budget=3, requests_per_minute=600, timezone="America/New_York")
    state = ThrottleState(connector_id=1)
    now = datetime(2025, 6, 1, 20, 0, tzinfo=UTC)  # 16:00 in New York
    for i in range(3):
        d = decide(p, state, now=now + timedelta(seconds=i))
        assert d.allowed and d.state is not None
        state = d.state
    spent = decide(p, state, now=now + timedelta(seconds=5))
    assert not spent.allowed and "budget" in (spent.reason or "")
    # Next New York midnight is 04:00 UTC (EDT, UTC-4).
    assert spent.wait_until == datetime(2025, 6, 2, 4, 0, tzinfo=UTC)
    after = decide(p, state, now=datetime(2025, 6, 2, 4, 0, 1, tzinfo=UTC))
    assert after.allowed and after.state is not None and after.state.window_used == 1


def test_budget_window_across_dst_changes() -> None:
    # Europe/Berlin springs forward on 2025-03-30 (23 h day) and falls back on 2025-10-26.
    start, end = budget_window(
        now=datetime(2025, 3, 30, 12, tzinfo=UTC), reset_time=time(0, 0), timezone="Europe/Berlin"
    )
    assert start == datetime(2025, 3, 29, 23, tzinfo=UTC)
    assert end == datetime(2025, 3, 30, 22, tzinfo=UTC)
    assert end - start == timedelta(hours=23)
    start, end = budget_window(
        now=datetime(2025, 10, 26, 12, tzinfo=UTC), reset_time=time(0, 0), timezone="Europe/Berlin"
    )
    assert end - start == timedelta(hours=25)
    # A reset time inside the spring-forward gap (02:30) still resets once that day.
    start, end = budget_window(
        now=datetime(2025, 3, 30, 12, tzinfo=UTC), reset_time=time(2, 30), timezone="Europe/Berlin"
    )
    assert start.astimezone(UTC).date() == datetime(2025, 3, 30).date()
    assert end > start


def test_budget_periods_shorter_than_a_day() -> None:
    start, end = budget_window(
        now=datetime(2025, 6, 1, 7, 30, tzinfo=UTC),
        reset_time=time(0, 0),
        timezone="UTC",
        period_hours=6,
    )
    assert (start.hour, end.hour) == (6, 12)


def test_cooldown_backoff_is_exponential_and_capped() -> None:
    p = profile(cooldown_base_seconds=60, cooldown_factor=2, cooldown_max_seconds=600)
    assert [cooldown_seconds(p, attempts=a) for a in range(1, 7)] == [60, 120, 240, 480, 600, 600]
    assert cooldown_seconds(p, attempts=10_000) == 600
    assert not is_exhausted(p, attempts=p.max_attempts - 1)
    assert is_exhausted(p, attempts=p.max_attempts)


def test_retry_after_seconds_and_http_date() -> None:
    now = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
    assert parse_retry_after("120", now=now) == 120
    assert parse_retry_after("Sun, 01 Jun 2025 12:05:00 GMT", now=now) == 300
    assert parse_retry_after("Sun, 01 Jun 2025 11:00:00 GMT", now=now) == 0
    assert parse_retry_after("soon", now=now) is None
    assert parse_retry_after(None, now=now) is None
    p = profile(rate_limit_cooldown_seconds=900)
    assert rate_limit_pause_seconds(p, retry_after=120) == 120
    assert rate_limit_pause_seconds(p, retry_after=None) == 900  # extended cooldown
    assert rate_limit_pause_seconds(p, retry_after=10**9) == 6 * 3600  # capped


def test_pause_and_resume() -> None:
    p = profile()
    until = T0 + timedelta(minutes=5)
    paused = ThrottleState(connector_id=1, paused_until=until, pause_reason="rate limited (429)")
    d = decide(p, paused, now=T0)
    assert not d.allowed and d.wait_until == until and d.reason == "rate limited (429)"
    assert decide(p, paused, now=until + timedelta(seconds=1)).allowed
    resumed = dataclasses.replace(paused, paused_until=None, pause_reason=None)
    assert decide(p, resumed, now=T0).allowed


def test_estimate_walks_rate_and_budget() -> None:
    p = profile(requests_per_minute=6, daily_budget=10, timezone="UTC")
    state = ThrottleState(connector_id=1)
    now = datetime(2025, 6, 1, 23, 0, tzinfo=UTC)
    assert estimate_dispatch_times(p, state, now=now, batches_ahead=0) == now
    assert estimate_dispatch_times(p, state, now=now, batches_ahead=3) == now + timedelta(
        seconds=30 * (1 + RATE_SAFETY_MARGIN)
    )
    # The 11th command waits for the next day's budget.
    assert estimate_dispatch_times(p, state, now=now, batches_ahead=10) == datetime(
        2025, 6, 2, tzinfo=UTC
    )


def test_presets_are_documented_numbers_and_match_the_migration() -> None:
    assert [p.name for p in PRESETS] == ["Conservative", "Moderate", "Aggressive"]
    assert CONSERVATIVE.requests_per_minute < MODERATE.requests_per_minute
    assert MODERATE.requests_per_minute < AGGRESSIVE.requests_per_minute
    assert MODERATE.is_default and not AGGRESSIVE.is_default
    sql = (
        Path(__file__).resolve().parents[3]
        / "libs/throttle/src/comradarr_throttle/migrations/0001_throttle.sql"
    ).read_text()
    for p in PRESETS:
        row = (
            f"('{p.name}', {p.requests_per_minute:g}, {p.batch_size}, {p.cooldown_base_seconds:g},"
            f" {p.cooldown_factor:g}, {p.cooldown_max_seconds:g}, {p.max_attempts},"
            f" {p.daily_budget}, {p.max_concurrent_per_connector},"
            f" {p.max_concurrent_per_series}, {p.rate_limit_cooldown_seconds:g}"
        )
        assert row in sql, row


def test_invalid_profiles_are_refused() -> None:
    with pytest.raises(ValueError, match="batch_size"):
        profile(batch_size=11)
    with pytest.raises(ValueError, match="time zone"):
        profile(timezone="Mars/Olympus")
    with pytest.raises(ValueError, match="budget_period_hours"):
        profile(budget_period_hours=5)
