"""Search windows and download-queue backpressure: the rules the dispatcher obeys and the
gateway explains, with an injected clock (across midnight, across DST changes)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, time, timedelta

import pytest
from comradarr_throttle import (
    MODERATE,
    RATE_SAFETY_MARGIN,
    ThrottleState,
    describe_windows,
    estimate_dispatch_times,
    intervals,
    parse_windows,
    queue_holds,
    queue_words,
    window_status,
)

pytestmark = pytest.mark.unit

NIGHTLY = parse_windows([{"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                          "start": "01:00", "end": "07:00"}])  # fmt: skip


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def test_windows_parse_and_refuse_what_is_wrong() -> None:
    (w,) = parse_windows([{"days": ["Fri", "sat"], "start": "22:00", "end": "02:00"}])
    assert w.days == frozenset({4, 5}) and (w.start, w.end) == (time(22), time(2))
    assert w.to_json() == {"days": ["fri", "sat"], "start": "22:00", "end": "02:00"}
    assert parse_windows([{"start": "01:00", "end": "07:00"}]) == NIGHTLY  # every day
    assert parse_windows(None) == () and parse_windows([]) == ()
    for bad, words in (
        ([{"days": ["funday"], "start": "01:00", "end": "02:00"}], "not a day"),
        ([{"days": [], "start": "01:00", "end": "02:00"}], "non-empty"),
        ([{"start": "25:00", "end": "02:00"}], "HH:MM"),
        ([{"start": "1:00", "end": "02:00"}], "HH:MM"),
        ([{"start": "01:00"}], "end must be"),
        ([{"start": "01:00", "end": "02:00", "tz": "UTC"}], "unknown field"),
        ([{"start": "01:00", "end": "02:00"}] * 15, "at most 14"),
        ({"start": "01:00"}, "must be a list"),
    ):
        with pytest.raises(ValueError, match=words):
            parse_windows(bad)
    assert describe_windows(NIGHTLY, "UTC") == "01:00-07:00 every day (UTC)"


def test_open_and_closed_with_when_it_changes() -> None:
    assert window_status((), "UTC", now=utc(2025, 6, 2, 12)).open
    closed = window_status(NIGHTLY, "UTC", now=utc(2025, 6, 2, 12))
    assert not closed.open and closed.until == utc(2025, 6, 3, 1)
    opened = window_status(NIGHTLY, "UTC", now=utc(2025, 6, 3, 3))
    assert opened.open and opened.until == utc(2025, 6, 3, 7)
    # The end is not in the window; the start is.
    assert not window_status(NIGHTLY, "UTC", now=utc(2025, 6, 3, 7)).open
    assert window_status(NIGHTLY, "UTC", now=utc(2025, 6, 3, 1)).open


def test_a_range_across_midnight_belongs_to_the_day_it_starts() -> None:
    friday_night = parse_windows([{"days": ["fri"], "start": "22:00", "end": "02:00"}])
    tz = "Europe/Berlin"  # UTC+2 in June
    # Friday 2025-06-06 23:00 local: open until Saturday 02:00 local.
    status = window_status(friday_night, tz, now=utc(2025, 6, 6, 21))
    assert status.open and status.until == utc(2025, 6, 7, 0)
    # Saturday 01:00 local: still Friday's window.
    assert window_status(friday_night, tz, now=utc(2025, 6, 6, 23)).open
    # Saturday 23:00 local: closed until next Friday 22:00 local.
    later = window_status(friday_night, tz, now=utc(2025, 6, 7, 21))
    assert not later.open and later.until == utc(2025, 6, 13, 20)
    # start = end: the whole day.
    whole = parse_windows([{"days": ["mon"], "start": "00:00", "end": "00:00"}])
    spans = intervals(whole, "UTC", start=utc(2025, 6, 2), days=1)
    assert (utc(2025, 6, 2), utc(2025, 6, 3)) in spans


def test_dst_changes_keep_local_times() -> None:
    tz = "Europe/Berlin"
    # Spring forward, 2025-03-30 02:00 -> 03:00: 01:00-07:00 local is five hours that night.
    spring = intervals(NIGHTLY, tz, start=utc(2025, 3, 29), days=3)
    assert (utc(2025, 3, 30, 0), utc(2025, 3, 30, 5)) in spring
    assert (utc(2025, 3, 29, 0), utc(2025, 3, 29, 6)) in spring  # the day before: CET
    assert (utc(2025, 3, 30, 23), utc(2025, 3, 31, 5)) in spring  # the day after: CEST
    # Fall back, 2025-10-26 03:00 -> 02:00: seven hours that night.
    autumn = intervals(NIGHTLY, tz, start=utc(2025, 10, 25), days=3)
    assert (utc(2025, 10, 25, 23), utc(2025, 10, 26, 6)) in autumn
    # A start the spring change skips resolves later (02:30 -> 03:30 summer time).
    skipped = parse_windows([{"days": ["sun"], "start": "02:30", "end": "04:00"}])
    (span,) = intervals(skipped, tz, start=utc(2025, 3, 30), days=0)
    assert span == (utc(2025, 3, 30, 1, 30), utc(2025, 3, 30, 2))
    # And the status across the change reads the same local 01:00 before and after it.
    assert window_status(NIGHTLY, tz, now=utc(2025, 3, 29, 12)).until == utc(2025, 3, 30, 0)
    assert window_status(NIGHTLY, tz, now=utc(2025, 3, 30, 12)).until == utc(2025, 3, 30, 23)


def test_estimates_count_only_the_time_inside_the_windows() -> None:
    p = dataclasses.replace(
        MODERATE, is_preset=False, requests_per_minute=1, daily_budget=1000, timezone="UTC"
    )
    state = ThrottleState(connector_id=1)
    step = timedelta(seconds=60 * (1 + RATE_SAFETY_MARGIN))
    noon = utc(2025, 6, 2, 12)
    # Outside the window: the first search goes out when it opens.
    first = estimate_dispatch_times(p, state, now=noon, batches_ahead=0, windows=NIGHTLY)
    assert first == utc(2025, 6, 3, 1)
    third = estimate_dispatch_times(p, state, now=noon, batches_ahead=2, windows=NIGHTLY)
    assert third == utc(2025, 6, 3, 1) + 2 * step
    # Six hours hold 359 slots at one a minute (plus the margin): the 360th goes next night.
    fits = 359
    last = estimate_dispatch_times(p, state, now=noon, batches_ahead=fits - 1, windows=NIGHTLY)
    assert last < utc(2025, 6, 3, 7)
    spill = estimate_dispatch_times(p, state, now=noon, batches_ahead=fits, windows=NIGHTLY)
    assert spill == utc(2025, 6, 4, 1)
    # Inside the window: as without one.
    inside = utc(2025, 6, 3, 2)
    assert estimate_dispatch_times(
        p, state, now=inside, batches_ahead=5, windows=NIGHTLY
    ) == estimate_dispatch_times(p, state, now=inside, batches_ahead=5)
    # The budget still counts: 10 a day, the 11th waits for the next day's window.
    small = dataclasses.replace(p, daily_budget=10)
    nxt = estimate_dispatch_times(small, state, now=noon, batches_ahead=10, windows=NIGHTLY)
    assert nxt == utc(2025, 6, 4, 1)


def test_download_queue_backpressure() -> None:
    assert queue_holds(limit=20, total=23) and queue_holds(limit=20, total=20)
    assert not queue_holds(limit=20, total=19)
    assert not queue_holds(limit=None, total=500)  # no limit set
    assert not queue_holds(limit=20, total=None)  # unknown (the read failed): fail open
    assert queue_words(limit=20, total=23) == "download queue 23 ≥ 20"
