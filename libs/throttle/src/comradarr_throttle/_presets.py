"""The three built-in profiles. Numbers are chosen to stay far below what public indexers
tolerate; Moderate is the default for a connector without a profile of its own."""

from __future__ import annotations

from datetime import time

from ._math import ThrottleProfile

HOUR = 3600.0
DAY = 24 * HOUR

CONSERVATIVE = ThrottleProfile(
    name="Conservative",
    requests_per_minute=2,
    batch_size=5,
    cooldown_base_seconds=6 * HOUR,
    cooldown_factor=2.0,
    cooldown_max_seconds=7 * DAY,
    max_attempts=5,
    daily_budget=100,
    budget_reset_time=time(0, 0),
    budget_period_hours=24,
    timezone="UTC",
    max_concurrent_per_connector=1,
    max_concurrent_per_series=1,
    rate_limit_cooldown_seconds=2 * HOUR,
    is_preset=True,
)
MODERATE = ThrottleProfile(
    name="Moderate",
    requests_per_minute=5,
    batch_size=10,
    cooldown_base_seconds=2 * HOUR,
    cooldown_factor=2.0,
    cooldown_max_seconds=3 * DAY,
    max_attempts=8,
    daily_budget=500,
    budget_reset_time=time(0, 0),
    budget_period_hours=24,
    timezone="UTC",
    max_concurrent_per_connector=2,
    max_concurrent_per_series=1,
    rate_limit_cooldown_seconds=HOUR,
    is_preset=True,
    is_default=True,
)
AGGRESSIVE = ThrottleProfile(
    name="Aggressive",
    requests_per_minute=15,
    batch_size=10,
    cooldown_base_seconds=30 * 60.0,
    cooldown_factor=2.0,
    cooldown_max_seconds=DAY,
    max_attempts=12,
    daily_budget=2000,
    budget_reset_time=time(0, 0),
    budget_period_hours=24,
    timezone="UTC",
    max_concurrent_per_connector=4,
    max_concurrent_per_series=2,
    rate_limit_cooldown_seconds=15 * 60.0,
    is_preset=True,
)
PRESETS: tuple[ThrottleProfile, ...] = (CONSERVATIVE, MODERATE, AGGRESSIVE)
DEFAULT_PRESET = MODERATE
