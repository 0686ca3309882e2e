"""Fakes of gatherarr's TargetClient port and helpers shared by the unit tests."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from gatherarr import Config, GrabEvent, TargetConfig, TargetType, WantedItem
from gatherarr._config import RetryPolicy

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


class FakeClock:
    """A settable wall clock."""

    def __init__(self, start: datetime = T0) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass
class FakeClient:
    """In-memory TargetClient: scripted wanted items, grabs and failures per operation."""

    items: list[WantedItem] = field(default_factory=list)
    grabs: list[GrabEvent] = field(default_factory=list)
    failures: dict[str, list[BaseException]] = field(default_factory=dict)
    calls: list[tuple[str, object]] = field(default_factory=list)
    closed: bool = False
    observe: Callable[[float, bool], None] | None = None

    def _maybe_fail(self, op: str) -> None:
        queue = self.failures.get(op)
        failing = bool(queue)
        if self.observe is not None:
            self.observe(0.001, not failing)  # one simulated HTTP request per operation
        if queue:
            raise queue.pop(0)

    async def check_auth(self) -> None:
        self.calls.append(("check_auth", None))
        self._maybe_fail("check_auth")

    async def wanted(self) -> list[WantedItem]:
        self.calls.append(("wanted", None))
        self._maybe_fail("wanted")
        return list(self.items)

    async def search(self, item: WantedItem) -> int | None:
        self.calls.append(("search", item))
        self._maybe_fail("search")
        return len(self.calls)

    async def grabbed_since(self, since: datetime) -> list[GrabEvent]:
        self.calls.append(("grabbed_since", since))
        self._maybe_fail("grabbed_since")
        return [g for g in self.grabs if g.date > since]

    async def aclose(self) -> None:
        self.closed = True

    def searched(self) -> list[WantedItem]:
        return [arg for op, arg in self.calls if op == "search"]  # type: ignore[misc]


def make_config(
    tmp_path: Path,
    *,
    targets: Mapping[str, TargetType] | None = None,
    global_limit: int = 20,
    target_limit: int = 10,
    research: float = 3600.0,
    dry_run: bool = False,
    retry: RetryPolicy | None = None,
    interval: float = 60.0,
) -> Config:
    """A valid Config without going through the environment."""
    targets = targets if targets is not None else {"movies": TargetType.RADARR}
    return Config(
        targets=tuple(
            TargetConfig(
                name=name,
                type=kind,
                url=f"http://127.0.0.1:1/{name}",
                api_key=f"key-{name}-0123456789abcdef",
                max_searches_per_run=target_limit,
                research_interval_seconds=research,
            )
            for name, kind in targets.items()
        ),
        interval_seconds=interval,
        state_file=tmp_path / "state.json",
        listen_host="127.0.0.1",
        listen_port=0,
        log_level="DEBUG",
        dry_run=dry_run,
        max_searches_per_run=global_limit,
        http_timeout_seconds=5.0,
        retry=retry or RetryPolicy(max_attempts=3, base_delay=0.0, max_delay=0.0),
        shutdown_timeout_seconds=5.0,
    )
