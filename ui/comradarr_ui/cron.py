"""Cron presets and a plain-words reading of a 5-field cron expression."""

from __future__ import annotations

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
