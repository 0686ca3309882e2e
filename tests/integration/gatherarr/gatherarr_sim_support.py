"""Simulator helpers for gatherarr's integration tests: in-process ASGI or uvicorn on 127.0.0.1."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from comradarr_arrsim import Behaviour, Fault, Flavor, LibrarySpec, ManualClock, Simulator
from gatherarr import App, Config, TargetConfig, TargetType
from gatherarr._arr_adapter import ArrTargetClient
from gatherarr._config import RetryPolicy

__all__ = [
    "Behaviour",
    "Fault",
    "Flavor",
    "LibrarySpec",
    "ManualClock",
    "ServedApp",
    "Simulator",
    "make_app",
    "make_sim",
    "sim_clock",
    "sim_config",
    "with_key",
]

API_KEY = "sim-api-key-5f2b9c1d7e"
SMALL = LibrarySpec(seed=7, series=4, seasons=3, episodes_per_season=4, movies=24)


def make_sim(
    flavor: Flavor,
    *,
    spec: LibrarySpec = SMALL,
    behaviour: Behaviour | None = None,
    clock: Any = None,
) -> Simulator:
    """A small deterministic simulator with the shared API key."""
    return Simulator(
        flavor=flavor,
        api_key=API_KEY,
        spec=spec,
        behaviour=behaviour or Behaviour(find_probability=1.0),
        clock=clock,
    )


def sim_config(
    tmp_path: Path,
    *,
    targets: dict[str, tuple[TargetType, str]],
    api_key: str = API_KEY,
    limit: int = 100,
    global_limit: int = 1000,
    research: float = 3600.0,
    timeout: float = 5.0,
    attempts: int = 3,
) -> Config:
    """Configuration pointing at simulators; ``targets`` maps name to (type, url)."""
    return Config(
        targets=tuple(
            TargetConfig(
                name=name,
                type=kind,
                url=url,
                api_key=api_key,
                max_searches_per_run=limit,
                research_interval_seconds=research,
            )
            for name, (kind, url) in targets.items()
        ),
        interval_seconds=3600.0,
        state_file=tmp_path / "state.json",
        listen_host="127.0.0.1",
        listen_port=0,
        log_level="DEBUG",
        dry_run=False,
        max_searches_per_run=global_limit,
        http_timeout_seconds=timeout,
        retry=RetryPolicy(max_attempts=attempts, base_delay=0.01, max_delay=0.05),
        shutdown_timeout_seconds=5.0,
    )


def make_app(
    config: Config,
    *,
    sims: dict[str, Simulator] | None = None,
    clock: Callable[[], datetime] | None = None,
) -> App:
    """An App whose targets reach ``sims`` in-process (ASGI) or, without one, over the network."""
    sims = sims or {}

    def factory(target: TargetConfig, cfg: Config, observe: Callable[[float, bool], None]) -> Any:
        sim = sims.get(target.name)
        transport = httpx.ASGITransport(app=sim.app) if sim is not None else None
        return ArrTargetClient(
            name=target.name,
            type_=target.type,
            url=target.url,
            api_key=target.api_key,
            timeout_seconds=cfg.http_timeout_seconds,
            observe=observe,
            transport=transport,
        )

    if clock is None:
        return App(config=config, client_factory=factory)
    return App(config=config, client_factory=factory, clock=clock)


def sim_clock(sim: Simulator) -> Callable[[], datetime]:
    """Gatherarr's wall clock following the simulator's clock."""
    return lambda: datetime.fromtimestamp(sim.clock.now(), UTC)


def with_key(config: Config, api_key: str) -> Config:
    """The same configuration with another API key on every target."""
    return replace(config, targets=tuple(replace(t, api_key=api_key) for t in config.targets))


class ServedApp:
    """An ASGI app served by uvicorn in a thread on 127.0.0.1, stopped on exit."""

    def __init__(self, app: Any) -> None:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self.port: int = self._sock.getsockname()[1]
        config = uvicorn.Config(
            app, log_level="warning", lifespan="off", ws="none", access_log=False
        )
        self.server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self._sock]}, daemon=True
        )

    @property
    def url(self) -> str:
        """Base URL of the served app."""
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> ServedApp:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self._thread.join(timeout=10)
        self._sock.close()
