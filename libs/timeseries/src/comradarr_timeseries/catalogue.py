"""What is measured: every metric the API offers, and the stored series it is made of.

Stored rows are (bucket, connector, metric, dim, value, samples). A counter adds to value
(samples stays 0); a gauge adds one reading to value and 1 to samples, so a bucket's mean
is value / samples whatever the bucket's size. Response times live in their own tables as
histograms (comradarr_proto.latency).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["counter", "gauge", "ratio", "latency"]
Unit = Literal["count", "items", "fraction", "ms"]

# Stored metric names (what the analytics service writes).
GAPS_NEW = "gaps_new"
GAPS_CLOSED = "gaps_closed"
UPGRADES_NEW = "upgrades_new"
UPGRADES_CLOSED = "upgrades_closed"
SEARCHES = "searches"
ITEMS_SEARCHED = "items_searched"
SEARCHES_COMPLETED = "searches_completed"
ITEMS_COMPLETED = "items_completed"
ITEMS_FOUND = "items_found"
SEARCHES_FAILED = "searches_failed"
ITEMS_FAILED = "items_failed"
ITEMS_EXHAUSTED = "items_exhausted"
RATE_LIMITED = "rate_limited"
SYNCS = "syncs"
ITEMS_SYNCED = "items_synced"
ARR_REQUESTS = "arr_requests"
ARR_ERRORS = "arr_errors"
QUEUE_DEPTH = "queue_depth"
LIBRARY_MONITORED = "library_monitored"
LIBRARY_WITH_FILE = "library_with_file"

QUEUE_STATES = ("pending", "queued", "searching", "cooldown", "exhausted")


@dataclass(frozen=True, slots=True, kw_only=True)
class Metric:
    """One metric of the API: how it is computed from stored series."""

    name: str
    label: str
    kind: Kind
    unit: Unit
    description: str
    # What the dim of its stored rows means ('' when it has none).
    dim_label: str = ""
    # A ratio: numerator / denominator (stored names); split by dim, the numerator's dim
    # is divided by the denominator's same dim unless the denominator is undivided.
    numerator: str = ""
    denominator: str = ""
    denominator_by_dim: bool = True
    # A latency metric: which quantile of the histogram.
    quantile: float = 0.0

    @property
    def stored(self) -> tuple[str, ...]:
        """The stored metric names it reads."""
        if self.kind == "ratio":
            return (self.numerator, self.denominator)
        if self.kind == "latency":
            return ()
        return (self.name,)


def _counter(
    name: str, label: str, description: str, *, dim: str = "", unit: Unit = "count"
) -> Metric:
    return Metric(
        name=name, label=label, kind="counter", unit=unit, description=description, dim_label=dim
    )


METRICS: tuple[Metric, ...] = (
    _counter(GAPS_NEW, "New gaps", "Missing items discovery added to the queue.", unit="items"),
    _counter(
        GAPS_CLOSED,
        "Closed gaps",
        "Queued missing items that got their file (or stopped being wanted).",
        unit="items",
    ),
    _counter(
        UPGRADES_NEW,
        "New upgrades",
        "Items below their quality cutoff (cutoff) or custom-format cutoff score (format)"
        " added to the queue.",
        dim="reason",
        unit="items",
    ),
    _counter(
        UPGRADES_CLOSED,
        "Closed upgrades",
        "Queued upgrades that met their cutoff (or stopped being wanted).",
        dim="reason",
        unit="items",
    ),
    _counter(SEARCHES, "Searches", "Search commands sent to the apps.", dim="command"),
    _counter(
        ITEMS_SEARCHED,
        "Items searched",
        "Items in the search commands sent.",
        dim="command",
        unit="items",
    ),
    _counter(
        SEARCHES_COMPLETED,
        "Searches completed",
        "Search commands that ran to the end.",
        dim="command",
    ),
    _counter(
        ITEMS_COMPLETED,
        "Items completed",
        "Items of the search commands that ran to the end.",
        dim="command",
        unit="items",
    ),
    _counter(
        ITEMS_FOUND,
        "Items found",
        "Items a completed search grabbed a release for.",
        dim="command",
        unit="items",
    ),
    _counter(
        SEARCHES_FAILED,
        "Searches failed",
        "Search commands that failed or timed out.",
        dim="command",
    ),
    _counter(
        ITEMS_FAILED,
        "Items failed",
        "Items of failed search commands.",
        dim="command",
        unit="items",
    ),
    _counter(
        ITEMS_EXHAUSTED,
        "Items exhausted",
        "Items that reached their maximum attempts without a find.",
        unit="items",
    ),
    _counter(RATE_LIMITED, "Rate limited", "Times an app (or its proxy) answered 429."),
    _counter(SYNCS, "Syncs", "Library syncs, by outcome.", dim="outcome"),
    _counter(ITEMS_SYNCED, "Items synced", "Records the syncs fetched.", unit="items"),
    _counter(ARR_REQUESTS, "Requests", "HTTP requests sent to the apps.", dim="endpoint"),
    _counter(ARR_ERRORS, "Request errors", "Failed requests to the apps.", dim="category"),
    Metric(
        name="success_rate",
        label="Success rate",
        kind="ratio",
        unit="fraction",
        description="Items found / items of completed searches.",
        dim_label="command",
        numerator=ITEMS_FOUND,
        denominator=ITEMS_COMPLETED,
    ),
    Metric(
        name="error_rate",
        label="Error rate",
        kind="ratio",
        unit="fraction",
        description="Failed requests / requests to the apps.",
        dim_label="category",
        numerator=ARR_ERRORS,
        denominator=ARR_REQUESTS,
        denominator_by_dim=False,
    ),
    Metric(
        name=QUEUE_DEPTH,
        label="Queue depth",
        kind="gauge",
        unit="items",
        description="Queue entries, sampled every few minutes (mean over the bucket).",
        dim_label="state",
    ),
    Metric(
        name="completion",
        label="Library completion",
        kind="ratio",
        unit="fraction",
        description="Monitored items with a file / monitored items that are out (aired or"
        " released), sampled hourly (mean over the bucket).",
        numerator=LIBRARY_WITH_FILE,
        denominator=LIBRARY_MONITORED,
    ),
    Metric(
        name=LIBRARY_MONITORED,
        label="Monitored items",
        kind="gauge",
        unit="items",
        description="Monitored items that are out (aired or released), sampled hourly.",
    ),
    Metric(
        name=LIBRARY_WITH_FILE,
        label="Items with a file",
        kind="gauge",
        unit="items",
        description="Monitored items that have a file, sampled hourly.",
    ),
    Metric(
        name="response_p50",
        label="Response time p50",
        kind="latency",
        unit="ms",
        description="Median response time of the apps (within 10%).",
        dim_label="endpoint",
        quantile=0.5,
    ),
    Metric(
        name="response_p95",
        label="Response time p95",
        kind="latency",
        unit="ms",
        description="95th percentile response time of the apps (within 10%).",
        dim_label="endpoint",
        quantile=0.95,
    ),
)

BY_NAME: dict[str, Metric] = {m.name: m for m in METRICS}
GAUGES = frozenset(m.name for m in METRICS if m.kind == "gauge")


def metric(name: str) -> Metric:
    """The metric of that name; KeyError names the known ones."""
    try:
        return BY_NAME[name]
    except KeyError:
        raise KeyError(f"unknown metric {name!r}; known: {', '.join(BY_NAME)}") from None
