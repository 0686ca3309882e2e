"""Throttle profiles, presets, cross-replica counters in PostgreSQL and the pure math.

Tables (migrations/, component "throttle"):

- ``throttle_profiles``: presets Conservative / Moderate (default) / Aggressive, seeded and
  read only, plus custom profiles that set every value.
- ``throttle_state``: one row per connector (next send slot, budget window and use, pause
  until/why), locked ``FOR UPDATE`` by whichever dispatcher sends next.
"""

from ._math import (
    BUDGET_PERIODS_HOURS,
    MAX_RETRY_AFTER_SECONDS,
    RATE_SAFETY_MARGIN,
    SPACING,
    Decision,
    Slot,
    ThrottleProfile,
    ThrottleState,
    budget_window,
    cooldown_seconds,
    decide,
    estimate_dispatch_times,
    is_exhausted,
    rate_limit_pause_seconds,
    take_slot,
    validate,
)
from ._presets import AGGRESSIVE, CONSERVATIVE, DEFAULT_PRESET, MODERATE, PRESETS
from ._repository import (
    EDITABLE,
    PresetReadOnlyError,
    ProfileNotFoundError,
    create_profile,
    default_profile,
    delete_profile,
    get_profile,
    get_state,
    list_profiles,
    lock_state,
    pause,
    profile_for_connector,
    resume,
    set_default_profile,
    store_spent,
    throttle_of,
    try_acquire,
    update_profile,
)
from ._words import clock_words, retry_words

__all__ = [
    "AGGRESSIVE",
    "BUDGET_PERIODS_HOURS",
    "CONSERVATIVE",
    "DEFAULT_PRESET",
    "EDITABLE",
    "MAX_RETRY_AFTER_SECONDS",
    "MODERATE",
    "PRESETS",
    "RATE_SAFETY_MARGIN",
    "SPACING",
    "Decision",
    "PresetReadOnlyError",
    "ProfileNotFoundError",
    "Slot",
    "ThrottleProfile",
    "ThrottleState",
    "budget_window",
    "clock_words",
    "cooldown_seconds",
    "create_profile",
    "decide",
    "default_profile",
    "delete_profile",
    "estimate_dispatch_times",
    "get_profile",
    "get_state",
    "is_exhausted",
    "list_profiles",
    "lock_state",
    "pause",
    "profile_for_connector",
    "rate_limit_pause_seconds",
    "resume",
    "retry_words",
    "set_default_profile",
    "store_spent",
    "take_slot",
    "throttle_of",
    "try_acquire",
    "update_profile",
    "validate",
]
