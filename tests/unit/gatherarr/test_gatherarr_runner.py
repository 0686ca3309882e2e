"""Runs against the fake port: selection, limits, outcomes, state and metrics."""

from __future__ import annotations

import asyncio
import os
import tempfile
from datetime import timedelta
from pathlib import Path

import pytest
from gatherarr import GrabEvent, TargetType, WantedItem
from gatherarr._config import RetryPolicy
from gatherarr._metrics import Metrics
from gatherarr._port import AuthError, PermanentError, TransientError
from gatherarr._runner import Target, Worker
from gatherarr._selection import dedupe, select_items
from gatherarr._state import ItemState, StateStore
from gatherarr_fakes import T0, FakeClient, FakeClock, make_config

pytestmark = pytest.mark.unit

M = WantedItem.movie
S = WantedItem.season


def value(metrics: Metrics, name: str, **labels: str) -> float:
    result = metrics.registry.get_sample_value(name, labels)
    return 0.0 if result is None else result


def build(
    tmp_path: Path,
    clients: dict[str, FakeClient],
    *,
    types: dict[str, TargetType] | None = None,
    clock: FakeClock | None = None,
    **kwargs: object,
) -> tuple[Worker, Metrics, StateStore]:
    types = types or dict.fromkeys(clients, TargetType.RADARR)
    config = make_config(tmp_path, targets=types, **kwargs)  # type: ignore[arg-type]
    metrics = Metrics()
    store = StateStore(path=config.state_file)
    clock = clock or FakeClock()
    for t in config.targets:
        clients[t.name].observe = metrics.request_observer(target=t.name, type_=t.type.value)
    worker = Worker(
        config=config,
        targets=[Target(config=t, client=clients[t.name]) for t in config.targets],
        store=store,
        state=store.load(now=clock()),
        metrics=metrics,
        stop=asyncio.Event(),
        clock=clock,
    )
    return worker, metrics, store


def test_dedupe_prefers_missing() -> None:
    items = dedupe([S(1, 1, reason="cutoff"), S(1, 1), S(1, 2, reason="cutoff")])
    assert items == [S(1, 1), S(1, 2, reason="cutoff")]


def test_selection_orders_never_searched_first_then_oldest() -> None:
    items = {
        "movie:1": ItemState(last_processed=T0.replace(hour=1), last_result="searched"),
        "movie:2": ItemState(last_processed=T0.replace(hour=11, minute=30), last_result="searched"),
        "movie:3": ItemState(last_processed=T0.replace(hour=11, minute=59), last_result="error"),
    }
    selection = select_items(
        wanted=[M(1), M(2), M(3), M(5, reason="cutoff"), M(4)],
        items=items,
        now=T0,
        research_interval_seconds=3600,
        limit=3,
    )
    assert selection.chosen == (M(4), M(5, reason="cutoff"), M(1))
    assert selection.recently_searched == (M(2),)
    assert selection.over_limit == 1  # movie 3 failed recently but stays eligible


async def test_radarr_run_searches_each_movie_once_and_records(tmp_path: Path) -> None:
    client = FakeClient(items=[M(1), M(2, reason="cutoff")])
    worker, metrics, store = build(tmp_path, {"movies": client})
    outcomes = await worker.run_once()
    assert outcomes["movies"].status == "success"
    assert client.searched() == [M(1), M(2, reason="cutoff")]
    state = store.load(now=T0)
    assert state.total_runs == 1
    ts = state.targets["movies"]
    assert ts.last_status == "success" and ts.last_success == T0 and ts.consecutive_failures == 0
    assert set(ts.items) == {"movie:1", "movie:2"}
    labels = {"target": "movies", "type": "radarr"}
    assert value(metrics, "gatherarr_run_total", **labels, status="success") == 1
    assert value(metrics, "gatherarr_searches_total", **labels) == 2
    # check_auth + wanted + 2 searches
    assert value(metrics, "gatherarr_requests_total", **labels) == 4
    assert value(metrics, "gatherarr_request_duration_seconds_count", **labels) == 4
    assert value(metrics, "gatherarr_last_success_timestamp_seconds", **labels) == T0.timestamp()


async def test_items_within_research_interval_are_skipped(tmp_path: Path) -> None:
    clock = FakeClock()
    client = FakeClient(items=[M(1), M(2)])
    worker, metrics, _ = build(tmp_path, {"movies": client}, clock=clock, research=3600)
    await worker.run_once()
    clock.advance(1800)
    await worker.run_once()
    assert len(client.searched()) == 2
    assert value(metrics, "gatherarr_skips_total", target="movies", type="radarr") == 2
    clock.advance(1801)
    await worker.run_once()
    assert len(client.searched()) == 4


async def test_per_target_and_global_limits(tmp_path: Path) -> None:
    a = FakeClient(items=[M(i) for i in range(1, 6)])
    b = FakeClient(items=[M(i) for i in range(1, 6)])
    worker, _, _ = build(tmp_path, {"a": a, "b": b}, target_limit=3, global_limit=4)
    await worker.run_once()
    assert [i.movie_id for i in a.searched()] == [1, 2, 3]
    assert [i.movie_id for i in b.searched()] == [1]


async def test_sonarr_seasons_are_searched_per_season(tmp_path: Path) -> None:
    client = FakeClient(items=[S(7, 1), S(7, 2, reason="cutoff"), S(7, 1, reason="cutoff")])
    worker, _metrics, store = build(tmp_path, {"tv": client}, types={"tv": TargetType.SONARR})
    await worker.run_once()
    assert client.searched() == [S(7, 1), S(7, 2, reason="cutoff")]
    assert set(store.load(now=T0).targets["tv"].items) == {"season:7:1", "season:7:2"}


async def test_transient_errors_retry_then_succeed(tmp_path: Path) -> None:
    client = FakeClient(
        items=[M(1)],
        failures={
            "wanted": [TransientError("503")],
            "search": [TransientError("429", retry_after=0)],
        },
    )
    worker, metrics, _ = build(tmp_path, {"movies": client})
    outcomes = await worker.run_once()
    assert outcomes["movies"].status == "success"
    labels = {"target": "movies", "type": "radarr"}
    assert value(metrics, "gatherarr_request_errors_total", **labels) == 2
    assert value(metrics, "gatherarr_requests_total", **labels) == 5


async def test_failed_search_is_partial_and_not_held_back(tmp_path: Path) -> None:
    clock = FakeClock()
    client = FakeClient(items=[M(1), M(2)], failures={"search": [PermanentError("400 bad")]})
    worker, _metrics, store = build(tmp_path, {"movies": client}, clock=clock)
    outcomes = await worker.run_once()
    assert outcomes["movies"].status == "partial"
    ts = store.load(now=T0).targets["movies"]
    assert ts.items["movie:1"].last_result == "client: 400 bad"
    assert ts.consecutive_failures == 1 and ts.last_success is None
    assert ts.last_error == "1 search(es) failed"
    clock.advance(60)
    await worker.run_once()
    assert [i.movie_id for i in client.searched()] == [1, 2, 1]
    assert store.load(now=T0).targets["movies"].consecutive_failures == 0


async def test_auth_failure_fails_the_target_and_others_continue(tmp_path: Path) -> None:
    bad = FakeClient(items=[M(1)], failures={"check_auth": [AuthError("401 Unauthorized")]})
    good = FakeClient(items=[M(1)])
    worker, metrics, store = build(tmp_path, {"bad": bad, "good": good})
    outcomes = await worker.run_once()
    assert outcomes["bad"].status == "failure"
    assert outcomes["good"].status == "success"
    assert bad.searched() == []
    ts = store.load(now=T0).targets["bad"]
    assert ts.last_status == "failure" and ts.last_error == "auth: 401 Unauthorized"
    assert value(metrics, "gatherarr_run_total", target="bad", type="radarr", status="failure") == 1


async def test_auth_failure_during_search_stops_that_target(tmp_path: Path) -> None:
    client = FakeClient(items=[M(1), M(2)], failures={"search": [AuthError("403")]})
    worker, _, _ = build(tmp_path, {"movies": client})
    outcomes = await worker.run_once()
    assert outcomes["movies"].status == "failure"
    assert len(client.searched()) == 1


async def test_exhausted_retries_fail_the_target(tmp_path: Path) -> None:
    client = FakeClient(items=[M(1)], failures={"wanted": [TransientError("timeout")] * 3})
    worker, metrics, store = build(tmp_path, {"movies": client})
    await worker.run_once()
    ts = store.load(now=T0).targets["movies"]
    assert (ts.last_status, ts.consecutive_failures) == ("failure", 1)
    assert ts.last_error == "transient: timeout"
    await worker.run_once()  # the scripted failures are used up: this run succeeds
    assert store.load(now=T0).targets["movies"].consecutive_failures == 0
    assert value(metrics, "gatherarr_request_errors_total", target="movies", type="radarr") == 3


async def test_grabs_after_a_search_are_counted_once(tmp_path: Path) -> None:
    clock = FakeClock()
    client = FakeClient(items=[M(1), M(2)])
    worker, metrics, store = build(tmp_path, {"movies": client}, clock=clock)
    await worker.run_once()
    client.grabs = [
        GrabEvent(item_key="movie:1", date=T0.replace(minute=5)),
        GrabEvent(item_key="movie:1", date=T0.replace(minute=6)),
        GrabEvent(item_key="movie:9", date=T0.replace(minute=6)),
        GrabEvent(item_key="movie:2", date=T0.replace(hour=11)),  # before the search
    ]
    clock.advance(600)
    outcomes = await worker.run_once()
    assert outcomes["movies"].grabs == 1
    assert value(metrics, "gatherarr_grabs_total", target="movies", type="radarr") == 1
    assert store.load(now=T0).targets["movies"].items["movie:1"].grab_seen
    clock.advance(600)
    await worker.run_once()
    assert value(metrics, "gatherarr_grabs_total", target="movies", type="radarr") == 1


async def test_history_failure_does_not_block_searching(tmp_path: Path) -> None:
    clock = FakeClock()
    client = FakeClient(items=[M(1)])
    worker, _, _ = build(tmp_path, {"movies": client}, clock=clock, research=0)
    await worker.run_once()
    client.failures["grabbed_since"] = [PermanentError("500")]
    clock.advance(10)
    # research=0 prunes items at once, so re-add one pending item to force a history read
    worker.state.target("movies").items["movie:1"] = ItemState(
        last_processed=clock(), last_result="searched"
    )
    outcomes = await worker.run_once()
    assert outcomes["movies"].status == "success"
    assert len(client.searched()) == 2


async def test_history_auth_failure_fails_the_target(tmp_path: Path) -> None:
    client = FakeClient(items=[M(1)])
    worker, _, _ = build(tmp_path, {"movies": client})
    await worker.run_once()
    client.failures["grabbed_since"] = [AuthError("401")]
    outcomes = await worker.run_once()
    assert outcomes["movies"].status == "failure"


async def test_dry_run_sends_nothing_and_records_no_items(tmp_path: Path) -> None:
    client = FakeClient(items=[M(1), M(2)])
    worker, metrics, store = build(tmp_path, {"movies": client}, dry_run=True)
    outcomes = await worker.run_once()
    assert outcomes["movies"].searched == ["movie:1", "movie:2"]
    assert client.searched() == []
    assert store.load(now=T0).targets["movies"].items == {}
    assert value(metrics, "gatherarr_searches_total", target="movies", type="radarr") == 0


async def test_stop_between_items_finishes_cleanly(tmp_path: Path) -> None:
    client = FakeClient(items=[M(1), M(2), M(3)])
    worker, _, store = build(tmp_path, {"movies": client})
    original = client.search

    async def search_then_stop(item: WantedItem) -> int | None:
        worker.stop.set()
        return await original(item)

    client.search = search_then_stop  # type: ignore[method-assign]
    await worker.run_once()
    assert len(client.searched()) == 1
    assert set(store.load(now=T0).targets["movies"].items) == {"movie:1"}


async def test_stop_during_backoff_interrupts_the_run(tmp_path: Path) -> None:
    client = FakeClient(items=[M(1)], failures={"wanted": [TransientError("503")] * 3})
    worker, _, _store = build(
        tmp_path,
        {"movies": client},
        retry=RetryPolicy(max_attempts=3, base_delay=30.0, max_delay=30.0),
    )
    asyncio.get_running_loop().call_later(0.05, worker.stop.set)
    outcomes = await asyncio.wait_for(worker.run_once(), timeout=5)
    assert outcomes["movies"].status == "failure"
    assert outcomes["movies"].error == "interrupted by shutdown"


async def test_read_only_state_directory_counts_failures_and_keeps_going(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = FakeClient(items=[M(1), M(2)])
    worker, metrics, _ = build(tmp_path, {"movies": client})
    tmp_path.chmod(0o500)
    if os.geteuid() == 0:
        # root ignores mode bits, so make temp-file creation fail like a read-only mount would.
        def refuse(*args: object, **kwargs: object) -> tuple[int, str]:
            raise PermissionError(13, "Permission denied")

        monkeypatch.setattr(tempfile, "mkstemp", refuse)
    try:
        outcomes = await worker.run_once()
    finally:
        tmp_path.chmod(0o700)
    assert outcomes["movies"].status == "success"
    assert len(client.searched()) == 2
    # one write per search, one per target finish, one per run
    assert value(metrics, "gatherarr_state_write_failures_total") == 4
    monkeypatch.undo()
    await worker.run_once()
    assert value(metrics, "gatherarr_state_write_failures_total") == 4


async def test_last_success_gauge_is_restored_from_state(tmp_path: Path) -> None:
    client = FakeClient(items=[])
    worker, _, _ = build(tmp_path, {"movies": client})
    await worker.run_once()
    _, metrics, _ = build(tmp_path, {"movies": client})
    assert (
        value(metrics, "gatherarr_last_success_timestamp_seconds", target="movies", type="radarr")
        == T0.timestamp()
    )


async def test_history_reads_start_at_the_last_check_minus_overlap(tmp_path: Path) -> None:
    clock = FakeClock()
    client = FakeClient(items=[M(1)])
    worker, _, _ = build(tmp_path, {"movies": client}, clock=clock, research=86400)
    await worker.run_once()  # searches movie 1 at T0; nothing pending before, no history read
    clock.advance(3600)
    await worker.run_once()  # first history read: since the search
    clock.advance(3600)
    await worker.run_once()  # later reads: since the previous check, minus 5 minutes
    reads = [arg for op, arg in client.calls if op == "grabbed_since"]
    assert reads == [T0, T0 + timedelta(seconds=3600 - 300)]
