"""Cron arithmetic in a schedule's own time zone."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from croniter import croniter


def next_fire(cron: str, *, tz: str, after: datetime) -> datetime:
    """The first fire time strictly after `after`, computed in tz (DST-correct), in UTC."""
    local = after.astimezone(ZoneInfo(tz))
    nxt: datetime = croniter(cron, local).get_next(datetime)
    return nxt.astimezone(UTC)


def is_valid(cron: str) -> bool:
    """True for a five-field cron expression croniter accepts."""
    return len(cron.split()) == 5 and bool(croniter.is_valid(cron))
