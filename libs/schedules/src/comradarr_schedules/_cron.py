"""Cron arithmetic and descriptions, in a schedule's own time zone."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cron_descriptor import Options, get_description
from croniter import croniter


def default_timezone() -> str:
    """The TZ the process runs with (CoreSettings.tz reads the same variable), else UTC."""
    return os.environ.get("TZ") or "UTC"


def is_valid_timezone(tz: str) -> bool:
    """True for an IANA zone name zoneinfo knows."""
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def is_valid(cron: str) -> bool:
    """True for a five-field cron expression croniter accepts."""
    return len(cron.split()) == 5 and bool(croniter.is_valid(cron))


def next_fire(cron: str, *, tz: str, after: datetime) -> datetime:
    """The first fire time strictly after `after`, computed in tz (DST-correct), in UTC."""
    local = after.astimezone(ZoneInfo(tz))
    nxt: datetime = croniter(cron, local).get_next(datetime)
    return nxt.astimezone(UTC)


def next_runs(cron: str, *, tz: str, after: datetime, count: int = 5) -> list[datetime]:
    """The next `count` fire times after `after`, in UTC (convert to tz for display)."""
    runs: list[datetime] = []
    t = after
    for _ in range(max(count, 0)):
        t = next_fire(cron, tz=tz, after=t)
        runs.append(t)
    return runs


def describe(cron: str) -> str:
    """A human sentence for a cron expression, e.g. "At 03:00 AM, only on Monday"."""
    options = Options()
    options.use_24hour_time_format = True
    options.verbose = False
    return str(get_description(cron, options))
