"""Ranges and buckets (DST, midnight, custom ranges, refusals), what events count, CSV cells."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from comradarr_analytics.fold import counts_of, request_counts
from comradarr_proto import (
    ArrRequestsMeasured,
    DiscoveryCompleted,
    RequestStats,
    SearchCompleted,
    SearchDispatched,
    SearchFailed,
    SyncCompleted,
)
from comradarr_timeseries import PeriodError, format_value, metric, resolve, safe_text
from comradarr_timeseries._export import slices

pytestmark = pytest.mark.unit

BERLIN = ZoneInfo("Europe/Berlin")
# 2026-03-29: clocks go from 02:00 to 03:00 in Berlin (a 23-hour day).
SPRING = datetime(2026, 3, 29, 12, 0, tzinfo=BERLIN)
LONG_AGO = datetime(2000, 1, 1, tzinfo=UTC)


def test_fixed_ranges_pick_their_buckets() -> None:
    now = datetime(2026, 3, 29, 10, 17, tzinfo=UTC)
    day = resolve(range_name="24h", now=now, tz=BERLIN, hourly_since=LONG_AGO)
    assert day.bucket == "hour" and len(day.buckets()) == 24
    assert day.end == datetime(2026, 3, 29, 11, tzinfo=UTC)  # the current hour included
    week = resolve(range_name="7d", now=now, tz=BERLIN, hourly_since=LONG_AGO)
    assert week.bucket == "hour" and len(week.buckets()) == 168
    month = resolve(range_name="30d", now=now, tz=BERLIN, hourly_since=LONG_AGO)
    assert month.bucket == "day" and len(month.buckets()) == 30
    assert month.buckets()[-1] == date(2026, 3, 29)
    quarter = resolve(range_name="90d", now=now, tz=BERLIN, hourly_since=LONG_AGO)
    assert quarter.bucket == "day" and len(quarter.buckets()) == 90


def test_a_dst_day_is_23_hours_and_labelled_in_local_time() -> None:
    period = resolve(
        range_name="custom",
        now=SPRING,
        tz=BERLIN,
        hourly_since=LONG_AGO,
        start="2026-03-29",
        end="2026-03-29",
        bucket="hour",
    )
    hours = period.buckets()
    assert len(hours) == 23
    labels = [period.label(h) for h in hours]
    assert labels[0] == "2026-03-29T00:00:00+01:00"
    assert labels[2] == "2026-03-29T03:00:00+02:00"  # 02:00 does not exist that night
    days = resolve(
        range_name="custom",
        now=SPRING,
        tz=BERLIN,
        hourly_since=LONG_AGO,
        start="2026-03-28",
        end="2026-03-30",
    )
    assert days.bucket == "hour"  # three days: hourly while the hours are kept
    by_day = resolve(
        range_name="custom",
        now=SPRING,
        tz=BERLIN,
        hourly_since=LONG_AGO,
        start="2026-03-28",
        end="2026-03-30",
        bucket="day",
    )
    assert [by_day.label(d) for d in by_day.buckets()] == [
        "2026-03-28T00:00:00+01:00",
        "2026-03-29T00:00:00+01:00",
        "2026-03-30T00:00:00+02:00",
    ]


def test_custom_ranges_fall_back_to_days_and_refuse_what_cannot_be_answered() -> None:
    now = datetime(2026, 6, 1, tzinfo=UTC)
    since = now - timedelta(days=30)
    old = resolve(
        range_name="custom",
        now=now,
        tz=UTC,
        hourly_since=since,
        start="2026-01-01",
        end="2026-01-03",
    )
    assert old.bucket == "day"  # those hours were rolled into days
    with pytest.raises(PeriodError) as hourly:
        resolve(
            range_name="custom",
            now=now,
            tz=UTC,
            hourly_since=since,
            start="2026-01-01",
            end="2026-01-03",
            bucket="hour",
        )
    assert hourly.value.field == "bucket" and "rolled into days" in str(hourly.value)
    with pytest.raises(PeriodError, match="after from"):
        resolve(
            range_name="custom",
            now=now,
            tz=UTC,
            hourly_since=since,
            start="2026-05-02",
            end="2026-05-01",
        )
    with pytest.raises(PeriodError, match="ISO 8601"):
        resolve(range_name="custom", now=now, tz=UTC, hourly_since=since, start="yesterday")
    with pytest.raises(PeriodError, match="between"):
        resolve(range_name="custom", now=now, tz=BERLIN, hourly_since=since, start="0001-01-01")
    with pytest.raises(PeriodError, match="between"):
        resolve(
            range_name="custom",
            now=now,
            tz=UTC,
            hourly_since=since,
            start="2026-01-01",
            end="9999-12-31",
        )
    with pytest.raises(PeriodError, match="needs from"):
        resolve(range_name="custom", now=now, tz=UTC, hourly_since=since)
    with pytest.raises(PeriodError, match="range=custom"):
        resolve(range_name="7d", now=now, tz=UTC, hourly_since=since, start="2026-05-01")
    with pytest.raises(PeriodError, match="at most"):
        resolve(
            range_name="custom",
            now=now,
            tz=UTC,
            hourly_since=LONG_AGO,
            start="2026-01-01",
            bucket="hour",
        )
    with pytest.raises(PeriodError, match="at most"):
        resolve(range_name="custom", now=now, tz=UTC, hourly_since=LONG_AGO, start="2000-01-01")
    # A date-time without an offset is the user's local time.
    local = resolve(
        range_name="custom",
        now=now,
        tz=BERLIN,
        hourly_since=since,
        start="2026-05-31T08:00:00",
        end="2026-05-31T10:00:00Z",
    )
    assert local.start == datetime(2026, 5, 31, 6, tzinfo=UTC)
    assert len(local.buckets()) == 4  # 06:00 to 10:00 UTC


def test_export_slices_cover_the_period_without_overlap() -> None:
    now = datetime(2026, 12, 31, 12, tzinfo=UTC)
    year = resolve(
        range_name="custom",
        now=now,
        tz=BERLIN,
        hourly_since=LONG_AGO,
        start="2026-01-01",
        bucket="day",
    )
    parts = slices(year)
    assert sum(len(p.buckets()) for p in parts) == len(year.buckets()) == 365
    assert all(a.end == b.start for a, b in itertools.pairwise(parts))
    week = resolve(range_name="7d", now=now, tz=BERLIN, hourly_since=LONG_AGO)
    hours = slices(week)
    assert len(hours) == 7 and sum(len(p.buckets()) for p in hours) == 168


def test_events_count_what_they_say() -> None:
    at = datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    dispatched = counts_of(
        SearchDispatched(
            connector_id=3,
            command_id=9,
            command_name="EpisodeSearch",
            registry_ids=[1, 2, 3],
            occurred_at=at,
        )
    )
    assert {(c.metric, c.dim, c.value) for c in dispatched} == {
        ("searches", "EpisodeSearch", 1),
        ("items_searched", "EpisodeSearch", 3),
    }
    assert all(c.at == at and c.connector_id == 3 and c.samples == 0 for c in dispatched)
    completed = counts_of(
        SearchCompleted(
            connector_id=3, command_id=9, registry_ids=[1, 2], found=0, command_name="MoviesSearch"
        )
    )
    # Nothing found: the zero is left out, the completed items still count.
    assert {(c.metric, c.value) for c in completed} == {
        ("searches_completed", 1),
        ("items_completed", 2),
    }
    failed = counts_of(SearchFailed(connector_id=3, registry_ids=[1], error="boom"))
    assert {(c.metric, c.dim) for c in failed} == {("searches_failed", ""), ("items_failed", "")}
    discovery = counts_of(
        DiscoveryCompleted(
            connector_id=3, gaps_new=5, gaps_removed=2, upgrades_new=1, upgrades_removed=0
        )
    )
    assert {(c.metric, c.value) for c in discovery} == {
        ("gaps_new", 5),
        ("gaps_closed", 2),
        ("upgrades_new", 1),
    }
    sync = counts_of(
        SyncCompleted(
            connector_id=3,
            sync_run_id=1,
            sync_mode="full",
            sweep_type="both",
            outcome="success",
            fetched=40,
        )
    )
    assert {(c.metric, c.dim, c.value) for c in sync} == {
        ("syncs", "success", 1),
        ("items_synced", "", 40),
    }


def test_request_stats_become_counts_and_histogram_rows() -> None:
    hour = datetime(2026, 3, 29, 1, tzinfo=UTC)
    counts, latency = request_counts(
        ArrRequestsMeasured(
            source="test",
            stats=[
                RequestStats(
                    hour=hour,
                    connector_id=2,
                    kind="command",
                    requests=5,
                    errors={"rate_limited": 2},
                    latency={20: 3, 24: 2},
                )
            ],
        )
    )
    assert {(c.metric, c.dim, c.value) for c in counts} == {
        ("arr_requests", "command", 5),
        ("arr_errors", "rate_limited", 2),
    }
    assert sorted((r.kind, r.bin, r.count) for r in latency) == [
        ("command", 20, 3),
        ("command", 24, 2),
    ]


def test_csv_cells() -> None:
    assert format_value(metric("searches"), 12.0) == "12"
    assert format_value(metric("success_rate"), 1 / 3) == "0.3333"
    assert format_value(metric("response_p95"), 123.456) == "123.5"
    assert format_value(metric("queue_depth"), None) == ""
    assert safe_text('=HYPERLINK("x")') == '\'=HYPERLINK("x")'
    assert safe_text("Sonarr 4K") == "Sonarr 4K"
