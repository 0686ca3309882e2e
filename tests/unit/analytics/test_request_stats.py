"""Request statistics: mergeable response-time histograms, the in-process collector, the
publisher's retry with the same message id, and what the client records per request."""

from __future__ import annotations

import asyncio
import math
import random
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from comradarr_arr import (
    ArrClient,
    ArrError,
    ConnectorConfig,
    RequestStatsCollector,
    RequestStatsPublisher,
    RetryPolicy,
    endpoint_kind,
    error_category,
)
from comradarr_arr import _stats as stats_module
from comradarr_proto import ArrRequestsMeasured
from comradarr_proto.latency import MAX_BIN, bin_bounds, latency_bin, merge, percentile

pytestmark = pytest.mark.unit


def test_bins_cover_every_time_in_order() -> None:
    assert latency_bin(0) == 0
    assert latency_bin(0.5) == 0
    for ms in (1.2, 3.0, 10.0, 47.3, 250.0, 1000.0, 29_999.0):
        low, high = bin_bounds(latency_bin(ms))
        assert low <= ms < high, (ms, low, high)
    assert latency_bin(10**9) == MAX_BIN


def test_percentile_is_within_a_bin_of_the_exact_value() -> None:
    rng = random.Random(7)
    samples = [rng.lognormvariate(math.log(80), 0.8) for _ in range(20_000)]
    histogram: dict[int, int] = {}
    for s in samples:
        histogram[latency_bin(s)] = histogram.get(latency_bin(s), 0) + 1
    ordered = sorted(samples)
    for q in (0.5, 0.95):
        exact = ordered[math.ceil(q * len(ordered)) - 1]
        estimate = percentile(histogram, q)
        assert estimate is not None
        assert abs(estimate - exact) / exact < 0.10, (q, exact, estimate)
    assert percentile({}, 0.5) is None


def test_histograms_merge_exactly_across_processes_and_hours() -> None:
    rng = random.Random(3)
    parts: list[dict[int, int]] = []
    everything: dict[int, int] = {}
    for _ in range(12):  # twelve process-minutes
        part: dict[int, int] = {}
        for _ in range(rng.randrange(1, 300)):
            b = latency_bin(rng.uniform(1, 2000))
            part[b] = part.get(b, 0) + 1
            everything[b] = everything.get(b, 0) + 1
        parts.append(part)
    merged = merge(parts)
    assert merged == everything
    # Merging in two steps (hours, then a day) is the same as merging once.
    assert merge([merge(parts[:5]), merge(parts[5:])]) == merged
    assert percentile(merged, 0.95) == percentile(everything, 0.95)


def test_endpoint_kinds_and_error_categories() -> None:
    assert endpoint_kind("command") == "command"
    assert endpoint_kind("command/{id}") == "command_status"
    assert endpoint_kind("history/since") == "history"
    assert endpoint_kind("wanted/missing") == "library"
    assert endpoint_kind("episode") == "library"
    assert endpoint_kind("system/status") == "system"
    assert endpoint_kind("indexerstatus") == "indexer"
    assert error_category("authentication") == "auth"
    assert error_category("timeout") == "network"
    assert error_category("connection_refused") == "network"
    assert error_category("rate_limited") == "rate_limited"
    assert error_category("server") == "server"
    assert error_category("application") == "client"


def test_collector_counts_by_hour_connector_and_kind() -> None:
    now = [datetime(2026, 3, 29, 0, 59, 59, tzinfo=UTC).timestamp()]
    collector = RequestStatsCollector(wall=lambda: now[0])
    collector.record(connector_id=1, endpoint="command", seconds=0.020)
    collector.record(connector_id=1, endpoint="command", seconds=0.030, error="server")
    now[0] += 2  # the next hour
    collector.record(connector_id=1, endpoint="command", seconds=0.020)
    collector.record(connector_id=2, endpoint="episode", seconds=0.5, error="timeout")
    stats = collector.drain()
    assert collector.drain() == []
    by_key = {(s.hour.hour, s.connector_id, s.kind): s for s in stats}
    assert set(by_key) == {(0, 1, "command"), (1, 1, "command"), (1, 2, "library")}
    first = by_key[(0, 1, "command")]
    assert first.requests == 2 and first.errors == {"server": 1}
    assert sum(first.latency.values()) == 2
    assert by_key[(1, 2, "library")].errors == {"network": 1}


async def test_publisher_retries_a_batch_with_the_same_message_id() -> None:
    sent: list[ArrRequestsMeasured] = []
    failing = [True]

    async def publish(msg: ArrRequestsMeasured) -> None:
        if failing[0]:
            raise ConnectionError("bus away")
        sent.append(msg)

    collector = RequestStatsCollector()
    publisher = RequestStatsPublisher(publish=publish, collector=collector)
    collector.record(connector_id=1, endpoint="command", seconds=0.01)
    assert await publisher.flush() == 1  # kept
    collector.record(connector_id=1, endpoint="command", seconds=0.01)
    failing[0] = False
    assert await publisher.flush() == 0
    assert len(sent) == 2
    assert sent[0].message_id != sent[1].message_id
    assert sum(s.requests for m in sent for s in m.stats) == 2
    assert await publisher.flush() == 0 and len(sent) == 2  # nothing new: nothing sent


async def test_client_records_each_request_once_with_its_category(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    collector = RequestStatsCollector()
    monkeypatch.setattr("comradarr_arr._client.REQUEST_STATS", collector)
    answers = iter([200, 500, 401])

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/ping"):
            return httpx.Response(next(answers), json={"status": "OK"})
        raise httpx.ConnectError("refused", request=request)

    def client(connector_id: int | None) -> ArrClient:
        config = ConnectorConfig(
            name="c",
            url="http://arr",
            api_key="k" * 32,
            connector_id=connector_id,
            retry=RetryPolicy(max_retries=0),
        )
        return ArrClient(config, transport=httpx.MockTransport(handler))

    async with client(7) as c:
        await c.ping()
        for _ in range(2):
            with pytest.raises(ArrError):
                await c.ping()
        with pytest.raises(ArrError):
            await c.api_info()
    async with client(None) as c:  # a connection test: not a stored connector, not counted
        with pytest.raises(ArrError):
            await c.api_info()
    stats = collector.drain()
    totals: dict[str, Any] = {}
    for s in stats:
        assert s.connector_id == 7
        totals[s.kind] = (s.requests, s.errors)
    assert totals == {
        "system": (4, {"server": 1, "auth": 1, "network": 1}),
    }


async def test_one_stats_loop_per_process_and_a_last_flush_on_stop() -> None:
    collector = RequestStatsCollector()
    sent: list[ArrRequestsMeasured] = []
    gate = asyncio.Event()
    rounds = iter([True, False])

    async def publish(msg: ArrRequestsMeasured) -> None:
        sent.append(msg)

    async def sleep(_seconds: float) -> bool:
        await gate.wait()
        gate.clear()
        return next(rounds)

    first = asyncio.create_task(
        stats_module.publish_request_stats(
            publish, sleep=sleep, interval=60, key=12345, collector=collector
        )
    )
    await asyncio.sleep(0)
    # A second service of the same process: returns at once, the first loop publishes.
    await stats_module.publish_request_stats(
        publish, sleep=sleep, interval=60, key=12345, collector=collector
    )
    collector.record(connector_id=1, endpoint="command", seconds=0.01)
    gate.set()  # one interval passes
    await asyncio.sleep(0.01)
    collector.record(connector_id=1, endpoint="command", seconds=0.01)
    gate.set()  # stopping: what the last interval counted goes out too
    await asyncio.wait_for(first, 2)
    assert [sum(s.requests for s in m.stats) for m in sent] == [1, 1]
