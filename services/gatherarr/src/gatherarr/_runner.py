"""One run: for each target, pick wanted items and send one search per item."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import structlog

from gatherarr._config import Config, TargetConfig
from gatherarr._metrics import Metrics
from gatherarr._port import AuthError, GrabEvent, TargetClient, TargetError, WantedItem
from gatherarr._retry import call_with_retry
from gatherarr._selection import SEARCHED, select_items
from gatherarr._state import ItemState, State, StateStore, StateWriteError, TargetState

T = TypeVar("T")
Clock = Callable[[], datetime]
_log = structlog.get_logger("gatherarr.runner")
_HISTORY_OVERLAP = timedelta(minutes=5)


def utc_now() -> datetime:
    """Wall-clock time in UTC."""
    return datetime.now(UTC)


class ShutdownRequested(Exception):
    """Raised inside a run when a stop was requested during a backoff wait."""


@dataclass(frozen=True, slots=True)
class Target:
    """A configured target together with the client that talks to it."""

    config: TargetConfig
    client: TargetClient


@dataclass(slots=True)
class TargetOutcome:
    """What one target's part of a run did."""

    status: str = "success"
    searched: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    skipped: int = 0
    grabs: int = 0
    error: str | None = None


class Worker:
    """Performs runs over all targets, recording outcomes in state and metrics."""

    def __init__(
        self,
        *,
        config: Config,
        targets: Sequence[Target],
        store: StateStore,
        state: State,
        metrics: Metrics,
        stop: asyncio.Event,
        clock: Clock = utc_now,
        sleep: Callable[[float], Awaitable[None]] | None = None,
    ) -> None:
        self.config = config
        self.targets = tuple(targets)
        self.store = store
        self.state = state
        self.metrics = metrics
        self.stop = stop
        self.clock = clock
        self._sleep = sleep if sleep is not None else self._interruptible_sleep
        for target in self.targets:
            labels = {"target": target.config.name, "type": target.config.type.value}
            metrics.init_target(target=labels["target"], type_=labels["type"])
            last = state.targets.get(target.config.name)
            if last is not None and last.last_success is not None:
                metrics.last_success.labels(**labels).set(last.last_success.timestamp())

    async def _interruptible_sleep(self, delay: float) -> None:
        try:
            await asyncio.wait_for(self.stop.wait(), timeout=delay)
        except TimeoutError:
            return
        raise ShutdownRequested

    def save_state(self) -> bool:
        """Persist state; count and log a failure but never let it stop the worker."""
        try:
            self.store.save(self.state)
        except StateWriteError as exc:
            self.metrics.state_write_failures.inc()
            _log.error("state_write_failed", error=str(exc))
            return False
        return True

    async def run_once(self) -> dict[str, TargetOutcome]:
        """Run every target once and return what happened per target name."""
        run_id = uuid.uuid4().hex[:12]
        self.state.total_runs += 1
        budget = self.config.max_searches_per_run
        outcomes: dict[str, TargetOutcome] = {}
        with structlog.contextvars.bound_contextvars(run_id=run_id):
            _log.debug("run_started", targets=len(self.targets))
            for target in self.targets:
                if self.stop.is_set():
                    break
                with structlog.contextvars.bound_contextvars(
                    target_name=target.config.name, target_type=target.config.type.value
                ):
                    outcome = await self._run_target(target, budget=budget)
                budget -= len(outcome.searched) + len(outcome.failed)
                outcomes[target.config.name] = outcome
            self.save_state()
            _log.debug("run_finished", total_runs=self.state.total_runs)
        return outcomes

    async def _call(self, operation: Callable[[], Awaitable[T]]) -> T:
        def on_retry(attempt_no: int, delay: float, exc: TargetError) -> None:
            _log.warning("request_retry", attempt=attempt_no, delay_seconds=delay, error=str(exc))

        return await call_with_retry(
            operation, policy=self.config.retry, sleep=self._sleep, on_retry=on_retry
        )

    async def _run_target(self, target: Target, *, budget: int) -> TargetOutcome:
        cfg = target.config
        labels = {"target": cfg.name, "type": cfg.type.value}
        ts = self.state.target(cfg.name)
        started = self.clock()
        ts.last_run = started
        outcome = TargetOutcome()
        try:
            await self._call(target.client.check_auth)
            outcome.grabs = await self._detect_grabs(target, ts, started)
            wanted = await self._call(target.client.wanted)
            selection = select_items(
                wanted=wanted,
                items=ts.items,
                now=started,
                research_interval_seconds=cfg.research_interval_seconds,
                limit=min(cfg.max_searches_per_run, max(0, budget)),
            )
            outcome.skipped = len(selection.recently_searched)
            self.metrics.skips.labels(**labels).inc(outcome.skipped)
            _log.debug(
                "items_selected",
                wanted=len(wanted),
                chosen=len(selection.chosen),
                recently_searched=outcome.skipped,
                over_limit=selection.over_limit,
            )
            for item in selection.chosen:
                if self.stop.is_set():
                    break
                await self._search(target, ts, item, outcome)
        except ShutdownRequested:
            _log.debug("run_interrupted_by_shutdown")
            outcome.status = "partial" if outcome.searched else "failure"
            outcome.error = "interrupted by shutdown"
        except TargetError as exc:
            outcome.status = "failure"
            outcome.error = exc.summary
            _log.error("target_run_failed", error=exc.summary)
        else:
            if outcome.failed:
                outcome.status = "partial"
                outcome.error = outcome.error or f"{len(outcome.failed)} search(es) failed"
        self._finish_target(target, ts, outcome, started)
        return outcome

    async def _detect_grabs(self, target: Target, ts: TargetState, now: datetime) -> int:
        pending = [i.last_processed for i in ts.items.values() if not i.grab_seen]
        if not pending:
            return 0
        since = min(pending)
        if ts.history_checked is not None:
            # Older events were examined by earlier runs; the overlap absorbs clock skew.
            since = max(since, ts.history_checked - _HISTORY_OVERLAP)
        try:
            events: list[GrabEvent] = await self._call(lambda: target.client.grabbed_since(since))
        except AuthError:
            raise
        except TargetError as exc:
            # Grab accounting is informational; it must not block searching.
            _log.warning("history_read_failed", error=exc.summary)
            return 0
        grabs = 0
        for event in sorted(events, key=lambda e: e.date):
            item = ts.items.get(event.item_key)
            if item is None or item.grab_seen or item.last_result != SEARCHED:
                continue
            if event.date >= item.last_processed:
                item.grab_seen = True
                grabs += 1
                _log.debug("grab_detected", item=event.item_key, grabbed_at=event.date.isoformat())
        if grabs:
            self.metrics.grabs.labels(target=target.config.name, type=target.config.type.value).inc(
                grabs
            )
        ts.history_checked = now
        return grabs

    async def _search(
        self, target: Target, ts: TargetState, item: WantedItem, outcome: TargetOutcome
    ) -> None:
        cfg = target.config
        labels = {"target": cfg.name, "type": cfg.type.value}
        fields = item.log_fields()
        command = "MoviesSearch" if item.movie_id is not None else "SeasonSearch"
        if self.config.dry_run:
            _log.debug("search_skipped_dry_run", command=command, reason=item.reason, **fields)
            outcome.searched.append(item.key)
            return
        try:
            command_id = await self._call(lambda: target.client.search(item))
        except AuthError:
            raise
        except TargetError as exc:
            outcome.failed.append(item.key)
            ts.items[item.key] = ItemState(last_processed=self.clock(), last_result=exc.summary)
            _log.warning("search_failed", command=command, error=exc.summary, **fields)
        else:
            outcome.searched.append(item.key)
            self.metrics.searches.labels(**labels).inc()
            ts.items[item.key] = ItemState(last_processed=self.clock(), last_result=SEARCHED)
            _log.info(
                "search_sent", command=command, command_id=command_id, reason=item.reason, **fields
            )
        self.save_state()

    def _finish_target(
        self, target: Target, ts: TargetState, outcome: TargetOutcome, started: datetime
    ) -> None:
        cfg = target.config
        labels = {"target": cfg.name, "type": cfg.type.value}
        ts.last_status = outcome.status
        ts.last_error = outcome.error
        if outcome.status == "success":
            ts.consecutive_failures = 0
            ts.last_success = started
            self.metrics.last_success.labels(**labels).set(started.timestamp())
        else:
            ts.consecutive_failures += 1
        self.metrics.runs.labels(**labels, status=outcome.status).inc()
        # Items past the re-search interval are eligible anyway; dropping them bounds the file.
        horizon = started - timedelta(seconds=cfg.research_interval_seconds)
        for key in [k for k, v in ts.items.items() if v.last_processed <= horizon]:
            del ts.items[key]
        _log.debug(
            "target_run_finished",
            status=outcome.status,
            searched=len(outcome.searched),
            failed=len(outcome.failed),
            skipped=outcome.skipped,
            grabs=outcome.grabs,
        )
        self.save_state()
