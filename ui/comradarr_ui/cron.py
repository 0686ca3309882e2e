"""Cron presets and a plain-words reading of a 5-field cron expression."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

PRESETS: dict[str, tuple[str, str]] = {
    "hourly": ("Every hour", "0 * * * *"),
    "every6h": ("Every 6 hours", "0 */6 * * *"),
    "daily": ("Every day at 03:00", "0 3 * * *"),
    "nightly": ("Every night at 01:30", "30 1 * * *"),
    "weekly": ("Every Sunday at 04:00", "0 4 * * 0"),
    "custom": ("Custom", ""),
}

_RANGES = [(0, 59), (0, 23), (1, 31), (1, 12), (0, 7)]
_NAMES = ["minute", "hour", "day of month", "month", "day of week"]
_DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def _valid_field(field: str, lo: int, hi: int) -> bool:
    for part in field.split(","):
        base, _, step = part.partition("/")
        if step and (not step.isdigit() or int(step) == 0):
            return False
        if base == "*":
            continue
        lo_s, _, hi_s = base.partition("-")
        for num in (lo_s, hi_s) if hi_s else (lo_s,):
            if not num.isdigit() or not lo <= int(num) <= hi:
                return False
    return True


def describe_cron(expr: str) -> str:
    """'Invalid: …' or a short description of when the expression fires."""
    fields = expr.split()
    if len(fields) != 5:
        return "Invalid: a cron expression has 5 fields (minute hour day month weekday)."
    for field, (lo, hi), name in zip(fields, _RANGES, _NAMES, strict=True):
        if not _valid_field(field, lo, hi):
            return f"Invalid {name} field: {field!r} (allowed {lo}-{hi}, *, lists, ranges, /n)."
    minute, hour, dom, month, dow = fields
    when = ""
    if minute.isdigit() and hour.isdigit():
        when = f"at {int(hour):02d}:{int(minute):02d}"
    elif minute.isdigit() and hour == "*":
        when = f"every hour at minute {int(minute)}"
    elif minute.isdigit() and hour.startswith("*/"):
        when = f"every {hour[2:]} hours at minute {int(minute)}"
    else:
        when = f"minute {minute}, hour {hour}"
    days = "every day"
    if dow != "*" and dow.isdigit():
        days = f"every {_DAYS[int(dow)]}"
    elif dow != "*":
        days = f"weekdays {dow}"
    if dom != "*":
        days = f"day {dom} of the month" + ("" if dow == "*" else f" and {days}")
    if month != "*":
        days += f", month {month}"
    return f"Runs {when}, {days}."


def _expand(field: str, lo: int, hi: int) -> set[int]:
    out: set[int] = set()
    for part in field.split(","):
        base, _, step_s = part.partition("/")
        step = int(step_s) if step_s else 1
        if base == "*":
            a, b = lo, hi
        else:
            a_s, _, b_s = base.partition("-")
            a = int(a_s)
            b = int(b_s) if b_s else (hi if step_s else a)
        out.update(range(a, b + 1, step))
    return out


def fire_times(expr: str, tz: str, start: datetime, hours: int = 48) -> list[datetime]:
    """When a valid 5-field expression fires in [start, start + hours) — local wall time in
    `tz` (standard cron day-of-month/day-of-week OR rule); returned in UTC. [] if invalid."""
    if describe_cron(expr).startswith("Invalid"):
        return []
    try:
        zone = ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    f = expr.split()
    minutes, hrs = _expand(f[0], 0, 59), _expand(f[1], 0, 23)
    doms, months = _expand(f[2], 1, 31), _expand(f[3], 1, 12)
    dows = {d % 7 for d in _expand(f[4], 0, 7)}
    dom_any, dow_any = f[2] == "*", f[4] == "*"
    t = start.astimezone(zone).replace(second=0, microsecond=0) + timedelta(minutes=1)
    end = start + timedelta(hours=hours)
    out: list[datetime] = []
    while t.astimezone(UTC) < end and len(out) < 500:
        if t.month in months and t.hour in hrs:
            dom_ok, dow_ok = t.day in doms, (t.isoweekday() % 7) in dows
            day_ok = (dom_ok and dow_ok) if dom_any or dow_any else (dom_ok or dow_ok)
            if day_ok:
                for m in sorted(minutes):
                    at = t.replace(minute=m)
                    if at >= t and at.astimezone(UTC) < end:
                        out.append(at.astimezone(UTC))
            t = (t + timedelta(hours=1)).replace(minute=0)
        else:
            t = (t + timedelta(hours=1)).replace(minute=0)
    return out
