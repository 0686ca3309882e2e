"""Time ranges and their buckets: UTC hours, or calendar days in the user's time zone.

Hourly buckets are UTC hours (an instant each, so a DST change neither merges nor splits
one). Daily buckets are the dates of the configured time zone: a day of a DST change is
23 or 25 hours long, and an hour belongs to the day its start falls in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

Bucket = Literal["hour", "day"]
RangeName = Literal["24h", "7d", "30d", "90d", "custom"]

HOUR = timedelta(hours=1)
# Longest span per bucket size, so one answer stays a chart's worth of points.
MAX_HOURS = 24 * 92
MAX_DAYS = 3660
# A custom range up to this long gets hourly buckets (when they are still kept).
HOURLY_UP_TO = timedelta(days=7)
# Dates outside these years are refused (nothing was measured; and no date arithmetic on
# them can overflow).
FIRST_YEAR, LAST_YEAR = 2000, 2200


class PeriodError(ValueError):
    """A range that cannot be answered; the message says why (for a 4xx)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def start_of_hour(at: datetime) -> datetime:
    """The UTC hour `at` falls in."""
    return at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def local_midnight(day: date, tz: ZoneInfo) -> datetime:
    """The instant a calendar day starts in tz."""
    return datetime.combine(day, time(0), tzinfo=tz)


def local_day(at: datetime, tz: ZoneInfo) -> date:
    """The calendar date of an instant in tz."""
    return at.astimezone(tz).date()


@dataclass(frozen=True, slots=True)
class Period:
    """A resolved range: [start, end) cut into buckets of one size."""

    start: datetime
    end: datetime
    bucket: Bucket
    tz: ZoneInfo

    @property
    def first_day(self) -> date:
        """The first day (day buckets)."""
        return local_day(self.start, self.tz)

    @property
    def end_day(self) -> date:
        """The day after the last one (day buckets)."""
        return local_day(self.end, self.tz)

    def buckets(self) -> list[datetime] | list[date]:
        """Every bucket's key in order: UTC hour starts, or dates."""
        if self.bucket == "hour":
            hours = int((self.end - self.start) / HOUR)
            return [self.start + i * HOUR for i in range(hours)]
        first = self.first_day
        return [first + timedelta(days=i) for i in range((self.end_day - first).days)]

    def label(self, key: datetime | date) -> str:
        """A bucket's start as ISO 8601 with the time zone's offset."""
        if isinstance(key, datetime):
            return key.astimezone(self.tz).isoformat()
        return local_midnight(key, self.tz).isoformat()


def parse_instant(value: str, tz: ZoneInfo, *, field: str, end: bool) -> datetime:
    """An ISO 8601 date or date-time; a date means its local midnight (for an end, the
    midnight after it: the end date is included); no offset means the user's zone."""
    text = value.strip()
    day: date | None = None
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
        else:
            at = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise PeriodError(
            field, "not an ISO 8601 date or date-time (2026-03-29 or 2026-03-29T08:00:00Z)"
        ) from None
    if not FIRST_YEAR <= (day or at).year <= LAST_YEAR:
        raise PeriodError(field, f"must be between {FIRST_YEAR} and {LAST_YEAR}")
    if day is not None:
        return local_midnight(day + timedelta(days=1) if end else day, tz)
    return at.replace(tzinfo=tz) if at.tzinfo is None else at


def resolve(
    *,
    range_name: RangeName,
    now: datetime,
    tz: ZoneInfo,
    hourly_since: datetime,
    start: str | None = None,
    end: str | None = None,
    bucket: Bucket | None = None,
    max_hours: int | None = MAX_HOURS,
) -> Period:
    """The period a request names. `hourly_since` is where hourly buckets begin (older
    ones were rolled into days); `max_hours` bounds an hourly answer (None: an export)."""
    if range_name == "custom":
        if not start:
            raise PeriodError("from", "a custom range needs from (and optionally to)")
        begin = parse_instant(start, tz, field="from", end=False)
        finish = parse_instant(end, tz, field="to", end=True) if end else now
        if finish <= begin:
            raise PeriodError("to", "must be after from")
        chosen: Bucket = bucket or (
            "hour" if finish - begin <= HOURLY_UP_TO and begin >= hourly_since else "day"
        )
    else:
        if start or end:
            raise PeriodError("from", "from and to go with range=custom")
        chosen = bucket or ("hour" if range_name in ("24h", "7d") else "day")
        if range_name in ("24h", "7d"):
            finish = start_of_hour(now) + HOUR
            begin = finish - (timedelta(hours=24) if range_name == "24h" else timedelta(days=7))
        else:
            today = local_day(now, tz)
            days = 30 if range_name == "30d" else 90
            finish = local_midnight(today + timedelta(days=1), tz)
            begin = local_midnight(today - timedelta(days=days - 1), tz)
    if chosen == "hour":
        begin = start_of_hour(begin)
        finish = start_of_hour(finish - timedelta(microseconds=1)) + HOUR
        if begin < hourly_since:
            raise PeriodError(
                "bucket",
                "hourly buckets are kept since"
                f" {hourly_since.astimezone(tz).isoformat()} (older hours were rolled into"
                " days): use bucket=day or a later from",
            )
        if max_hours is not None and (finish - begin) / HOUR > max_hours:
            raise PeriodError("bucket", f"at most {max_hours} hourly buckets; use bucket=day")
    else:
        first = local_day(begin, tz)
        last = local_day(finish - timedelta(microseconds=1), tz)
        begin = local_midnight(first, tz)
        finish = local_midnight(last + timedelta(days=1), tz)
        if (last - first).days + 1 > MAX_DAYS:
            raise PeriodError("from", f"at most {MAX_DAYS} days")
    return Period(start=begin.astimezone(UTC), end=finish.astimezone(UTC), bucket=chosen, tz=tz)
