"""Prometheus metrics on a registry of gatherarr's own."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

_LABELS = ("target", "type")

CONTENT_TYPE = CONTENT_TYPE_LATEST


class Metrics:
    """All gatherarr metrics; one instance per process (or per test)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.runs = Counter(
            "gatherarr_run", "Runs per target by outcome.", (*_LABELS, "status"), registry=r
        )
        self.requests = Counter(
            "gatherarr_requests",
            "HTTP requests sent to a target, retries included.",
            _LABELS,
            registry=r,
        )
        self.request_errors = Counter(
            "gatherarr_request_errors",
            "HTTP requests to a target that failed (transport error or status >= 400).",
            _LABELS,
            registry=r,
        )
        self.request_duration = Histogram(
            "gatherarr_request_duration_seconds",
            "Duration of single requests to a target.",
            _LABELS,
            buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0),
            registry=r,
        )
        self.searches = Counter(
            "gatherarr_searches", "Search commands sent to a target.", _LABELS, registry=r
        )
        self.grabs = Counter(
            "gatherarr_grabs",
            "Items grabbed by a target after gatherarr searched for them.",
            _LABELS,
            registry=r,
        )
        self.skips = Counter(
            "gatherarr_skips",
            "Wanted items not searched because they were searched within the re-search interval.",
            _LABELS,
            registry=r,
        )
        self.last_success = Gauge(
            "gatherarr_last_success_timestamp_seconds",
            "Unix time of the last fully successful run of a target.",
            _LABELS,
            registry=r,
        )
        self.state_write_failures = Counter(
            "gatherarr_state_write_failures", "Failed attempts to write the state file.", registry=r
        )

    def init_target(self, *, target: str, type_: str) -> None:
        """Create every labelled series at zero so dashboards see them before the first run."""
        for metric in (
            self.requests,
            self.request_errors,
            self.searches,
            self.grabs,
            self.skips,
        ):
            metric.labels(target=target, type=type_)
        self.request_duration.labels(target=target, type=type_)
        for status in ("success", "partial", "failure"):
            self.runs.labels(target=target, type=type_, status=status)

    def request_observer(self, *, target: str, type_: str) -> Callable[[float, bool], None]:
        """Callback recording one HTTP request's duration and whether it failed."""
        requests = self.requests.labels(target=target, type=type_)
        errors = self.request_errors.labels(target=target, type=type_)
        duration = self.request_duration.labels(target=target, type=type_)

        def observe(seconds: float, ok: bool) -> None:
            requests.inc()
            duration.observe(seconds)
            if not ok:
                errors.inc()

        return observe

    def render(self) -> bytes:
        """Text exposition format of the registry."""
        return generate_latest(self.registry)
