"""A registry entry's priority: the user's part of the score, shared by discovery (which
scores every entry on each pass) and the gateway (which re-ranks an entry the moment a user
changes its priority). The weights are Settings → Search (comradarr_mirror.search_settings).

The priority is the sum of weighted parts, each in [0, 1] or [-1, 1] before weighting:
``age`` (how recent the content is), ``missing`` (how long the entry has waited), ``user``
(the user's nudge, user_priority / 100), ``failures`` (minus the share of attempts spent)
and ``type`` (1 for gaps, 0 for upgrades). Parts are rounded to 3 places.
"""

from __future__ import annotations


def user_part_sql(*, weight: str, user_priority: str) -> str:
    """SQL for the user's part of the score from a weight and a user_priority expression."""
    return f"round(({weight}::float8 * coalesce({user_priority}, 0) / 100.0)::numeric, 3)::float8"


def set_user_priority_sql(*, value: str, weight: str) -> str:
    """The SET list giving an entry a new user_priority and re-ranking it at once: the old
    user part leaves the score and the new one enters it (what discovery's next pass would
    compute), so the queue's order changes now, not at the next sweep."""
    part = user_part_sql(weight=weight, user_priority=value)
    return (
        f"user_priority = {value},"
        f" priority = priority - coalesce((priority_parts->>'user')::float8, 0) + {part},"
        f" priority_parts = priority_parts || jsonb_build_object('user', {part})"
    )
