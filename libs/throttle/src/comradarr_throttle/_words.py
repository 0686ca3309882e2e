"""Times and waits in words, as the queue shows them to people."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def _zone(tz: str) -> ZoneInfo:
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def clock_words(when: datetime, *, now: datetime, tz: str) -> str:
    """'14:20' today, 'Tue 14:20' within the week, else '3 Mar 14:20' (in tz)."""
    zone = _zone(tz)
    local, today = when.astimezone(zone), now.astimezone(zone)
    if local.date() == today.date():
        return f"{local:%H:%M}"
    if timedelta(0) < local - today < timedelta(days=6):
        return f"{local:%a %H:%M}"
    return f"{local.day} {local:%b %H:%M}"


def retry_words(
    until: datetime, *, attempts: int, max_attempts: int, now: datetime, tz: str
) -> str:
    """Why a searched entry waits: 'retry after 14:20, attempt 2 of 8'."""
    at = clock_words(until, now=now, tz=tz)
    if attempts <= 0:
        return f"waits until {at}"
    return f"retry after {at}, attempt {attempts + 1} of {max_attempts}"
