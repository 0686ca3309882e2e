"""What each event adds to the analytics tables."""

from __future__ import annotations

from comradarr_proto import (
    ArrRequestsMeasured,
    DiscoveryCompleted,
    Event,
    RateLimited,
    SearchCompleted,
    SearchDispatched,
    SearchExhausted,
    SearchFailed,
    SyncCompleted,
)
from comradarr_timeseries import Count, LatencyCount
from comradarr_timeseries import catalogue as m


def counts_of(msg: Event) -> list[Count]:
    """The counters one event adds to, at the time it happened (zero amounts left out)."""
    at = msg.occurred_at
    parts: list[tuple[str, str, int]] = []
    if isinstance(msg, SyncCompleted):
        parts = [(m.SYNCS, msg.outcome, 1), (m.ITEMS_SYNCED, "", msg.fetched)]
    elif isinstance(msg, DiscoveryCompleted):
        parts = [
            (m.GAPS_NEW, "", msg.gaps_new),
            (m.GAPS_CLOSED, "", msg.gaps_removed),
            # Upgrades by why: the quality is below the cutoff, or the custom-format score.
            (m.UPGRADES_NEW, "cutoff", msg.upgrades_new),
            (m.UPGRADES_CLOSED, "cutoff", msg.upgrades_removed),
            (m.UPGRADES_NEW, "format", msg.formats_new),
            (m.UPGRADES_CLOSED, "format", msg.formats_removed),
        ]
    elif isinstance(msg, SearchDispatched):
        parts = [
            (m.SEARCHES, msg.command_name, 1),
            (m.ITEMS_SEARCHED, msg.command_name, len(msg.registry_ids)),
        ]
    elif isinstance(msg, SearchCompleted):
        command = msg.command_name or ""
        parts = [
            (m.SEARCHES_COMPLETED, command, 1),
            (m.ITEMS_COMPLETED, command, len(msg.registry_ids)),
            (m.ITEMS_FOUND, command, msg.found),
        ]
    elif isinstance(msg, SearchFailed):
        command = msg.command_name or ""
        parts = [(m.SEARCHES_FAILED, command, 1), (m.ITEMS_FAILED, command, len(msg.registry_ids))]
    elif isinstance(msg, SearchExhausted):
        parts = [(m.ITEMS_EXHAUSTED, "", len(msg.registry_ids))]
    elif isinstance(msg, RateLimited):
        parts = [(m.RATE_LIMITED, "", 1)]
    connector_id: int = getattr(msg, "connector_id", 0)
    return [
        Count(at=at, connector_id=connector_id, metric=name, dim=dim, value=value)
        for name, dim, value in parts
        if value
    ]


def request_counts(msg: ArrRequestsMeasured) -> tuple[list[Count], list[LatencyCount]]:
    """Requests and errors per hour, connector and kind/category, and their histograms."""
    counts: list[Count] = []
    latency: list[LatencyCount] = []
    for s in msg.stats:
        counts.append(
            Count(
                at=s.hour,
                connector_id=s.connector_id,
                metric=m.ARR_REQUESTS,
                dim=s.kind,
                value=s.requests,
            )
        )
        counts.extend(
            Count(
                at=s.hour, connector_id=s.connector_id, metric=m.ARR_ERRORS, dim=category, value=n
            )
            for category, n in s.errors.items()
            if n
        )
        latency.extend(
            LatencyCount(hour=s.hour, connector_id=s.connector_id, kind=s.kind, bin=b, count=n)
            for b, n in s.latency.items()
            if n
        )
    return counts, latency
