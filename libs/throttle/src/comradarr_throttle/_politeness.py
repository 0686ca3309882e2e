"""Politeness rules per connector, shared by the dispatcher (which obeys them) and the
gateway (which explains them): search windows and download-queue backpressure. Pure: no
I/O, every function takes `now`.

Search windows: allowed time ranges on days of the week in a time zone, e.g. 01:00-07:00
every night. A range whose end is not after its start runs past midnight into the next
day (22:00-02:00 on Friday is Friday 22:00 to Saturday 02:00); start = end is the whole
day. Times are wall-clock times in the zone: across a DST change a range keeps its local
times, so it is an hour shorter or longer that night. No window at all means always
allowed.

Backpressure: while the app's download queue (queue/status totalCount, read at most once
per QUEUE_CHECK_SECONDS) holds at least the connector's limit, its searches wait. A failed
read holds nothing (fail open).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MAX_WINDOWS = 14
# How often the dispatcher reads an app's download queue (at most).
QUEUE_CHECK_SECONDS = 60.0
_CLOCK = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


@dataclass(frozen=True, slots=True, kw_only=True)
class SearchWindow:
    """One allowed range: from start to end (past midnight when end <= start) on the given
    days (the day the range starts)."""

    days: frozenset[int]  # 0 = Monday … 6 = Sunday
    start: time
    end: time

    def to_json(self) -> dict[str, Any]:
        """The stored and API form: {"days": ["mon", …], "start": "01:00", "end": "07:00"}."""
        return {
            "days": [DAYS[d] for d in sorted(self.days)],
            "start": self.start.strftime("%H:%M"),
            "end": self.end.strftime("%H:%M"),
        }

    def describe(self) -> str:
        """'01:00-07:00 every day', '22:00-02:00 fri, sat'."""
        days = "every day" if len(self.days) == 7 else ", ".join(DAYS[d] for d in sorted(self.days))
        return f"{self.start:%H:%M}-{self.end:%H:%M} {days}"


def _clock(value: Any, what: str) -> time:
    if not isinstance(value, str) or not _CLOCK.match(value):
        raise ValueError(f"{what} must be a time as HH:MM (00:00-23:59), not {value!r}")
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


def parse_windows(raw: Any) -> tuple[SearchWindow, ...]:
    """Windows from their JSON form (a list of {days, start, end}); ValueError saying what
    is wrong otherwise."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise ValueError("search windows must be a list")
    if len(raw) > MAX_WINDOWS:
        raise ValueError(f"at most {MAX_WINDOWS} search windows")
    out = []
    for n, item in enumerate(raw, 1):
        if not isinstance(item, Mapping):
            raise ValueError(f"window {n} must be an object with days, start and end")
        unknown = set(item) - {"days", "start", "end"}
        if unknown:
            raise ValueError(f"window {n}: unknown field(s) {', '.join(sorted(unknown))}")
        days = item.get("days", list(DAYS))
        if not isinstance(days, list) or not days:
            raise ValueError(f"window {n}: days must be a non-empty list of {', '.join(DAYS)}")
        picked = set()
        for day in days:
            key = str(day).lower()[:3] if isinstance(day, str) else None
            if key not in DAYS:
                raise ValueError(f"window {n}: {day!r} is not a day ({', '.join(DAYS)})")
            picked.add(DAYS.index(key))
        out.append(
            SearchWindow(
                days=frozenset(picked),
                start=_clock(item.get("start"), f"window {n}: start"),
                end=_clock(item.get("end"), f"window {n}: end"),
            )
        )
    return tuple(out)


def zone(timezone: str) -> ZoneInfo:
    """The IANA zone; ValueError naming it when unknown."""
    try:
        return ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {timezone!r}") from None


def _at(day: date, at: time, tz: ZoneInfo) -> datetime:
    """A local wall time as a UTC instant. As budget windows do: a time the spring change
    skips resolves with fold=0 (02:30 in a 02:00-03:00 gap is 03:30 summer time), a time
    the autumn change repeats is its first occurrence."""
    return datetime.combine(day, at, tzinfo=tz).astimezone(UTC)


def intervals(
    windows: Sequence[SearchWindow], timezone: str, *, start: datetime, days: int = 9
) -> list[tuple[datetime, datetime]]:
    """The allowed intervals (UTC, merged, sorted) overlapping [start, start + days)."""
    return list(_intervals(tuple(windows), timezone, start.astimezone(UTC).date(), days))


@lru_cache(maxsize=512)
def _intervals(
    windows: tuple[SearchWindow, ...], timezone: str, first: date, days: int
) -> tuple[tuple[datetime, datetime], ...]:
    tz = zone(timezone)
    spans: list[tuple[datetime, datetime]] = []
    for offset in range(-2, days + 1):
        day = first + timedelta(days=offset)
        for w in windows:
            if day.weekday() not in w.days:
                continue
            begin = _at(day, w.start, tz)
            end_day = day if w.end > w.start else day + timedelta(days=1)
            end = _at(end_day, w.end, tz)
            if end > begin:
                spans.append((begin, end))
    spans.sort()
    merged: list[tuple[datetime, datetime]] = []
    for begin, end in spans:
        if merged and begin <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((begin, end))
    return tuple(merged)


@dataclass(frozen=True, slots=True)
class WindowStatus:
    """Whether searches may go out now; `until` is when that changes (None: never)."""

    open: bool
    until: datetime | None


def window_status(windows: Sequence[SearchWindow], timezone: str, *, now: datetime) -> WindowStatus:
    """Open (until it closes) or closed (until it opens) at `now`."""
    if not windows:
        return WindowStatus(True, None)
    # Within a week and a day every weekday's windows come round.
    for begin, end in intervals(windows, timezone, start=now, days=9):
        if end <= now:
            continue
        if begin <= now:
            return WindowStatus(True, end)
        return WindowStatus(False, begin)
    return WindowStatus(False, None)  # pragma: no cover - every weekday is in 9 days


def describe_windows(windows: Iterable[SearchWindow], timezone: str) -> str:
    """'01:00-07:00 every day (Europe/Berlin)'."""
    return "; ".join(w.describe() for w in windows) + f" ({timezone})"


# --- download-queue backpressure --------------------------------------------------------------


def queue_holds(*, limit: int | None, total: int | None) -> bool:
    """Whether a connector's searches wait for its download queue (unknown: they go on)."""
    return limit is not None and total is not None and total >= limit


def queue_words(*, limit: int, total: int) -> str:
    """'download queue 23 ≥ 20'."""
    return f"download queue {total} ≥ {limit}"


@dataclass(frozen=True, slots=True)
class Hold:
    """Why a connector's searches wait now (code for the UI, words for people) and until
    when that is known to last (None: until it changes)."""

    code: str  # outside_window | download_queue
    message: str
    until: datetime | None


def politeness_hold(
    *,
    windows: Sequence[SearchWindow],
    timezone: str,
    queue_limit: int | None,
    queue_total: int | None,
    queue_checked_at: datetime | None,
    now: datetime,
    window: WindowStatus | None = None,
) -> Hold | None:
    """What holds a connector's searches back now, if anything: outside its search windows
    (until the next opens), or its download queue at or over its limit (until the next
    reading, QUEUE_CHECK_SECONDS after the last). `window` is window_status(...) when the
    caller has it already."""
    if windows:
        status = window or window_status(windows, timezone, now=now)
        if not status.open:
            return Hold(
                "outside_window",
                f"outside its search windows ({describe_windows(windows, timezone)})",
                status.until,
            )
    if queue_limit is None or queue_total is None:
        return None
    if not queue_holds(limit=queue_limit, total=queue_total):
        return None
    every = timedelta(seconds=QUEUE_CHECK_SECONDS)
    next_check = None if queue_checked_at is None else queue_checked_at + every
    return Hold(
        "download_queue",
        "waiting: " + queue_words(limit=queue_limit, total=queue_total),
        next_check,
    )


def connector_hold(
    row: Mapping[str, Any], *, now: datetime
) -> tuple[tuple[SearchWindow, ...], Hold | None]:
    """A connector's windows and what holds it back now, from a row with its
    search_windows, search_timezone and queue_limit and its last download-queue reading
    (total_count, checked_at; NULL without one)."""
    windows = parse_windows(row["search_windows"])
    return windows, politeness_hold(
        windows=windows,
        timezone=row["search_timezone"],
        queue_limit=row["queue_limit"],
        queue_total=row["total_count"],
        queue_checked_at=row["checked_at"],
        now=now,
    )
