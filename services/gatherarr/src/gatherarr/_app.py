"""Wiring: state, metrics, clients, scheduler and status server under one lifecycle."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Callable

import structlog

from gatherarr._arr_adapter import ArrTargetClient
from gatherarr._config import Config, TargetConfig
from gatherarr._http import StatusServer
from gatherarr._metrics import Metrics
from gatherarr._port import TargetClient
from gatherarr._runner import Clock, Target, Worker, utc_now
from gatherarr._scheduler import Scheduler
from gatherarr._state import StateStore

RequestObserver = Callable[[float, bool], None]
ClientFactory = Callable[[TargetConfig, Config, RequestObserver], TargetClient]
_log = structlog.get_logger("gatherarr.app")


def default_client_factory(
    target: TargetConfig, config: Config, observe: RequestObserver
) -> TargetClient:
    """Build the comradarr_arr-backed client for one target."""
    return ArrTargetClient(
        name=target.name,
        type_=target.type,
        url=target.url,
        api_key=target.api_key,
        timeout_seconds=config.http_timeout_seconds,
        observe=observe,
    )


class App:
    """One gatherarr process: ready once configured and scheduled, stopped by SIGTERM/SIGINT."""

    def __init__(
        self,
        *,
        config: Config,
        client_factory: ClientFactory = default_client_factory,
        clock: Clock = utc_now,
        metrics: Metrics | None = None,
    ) -> None:
        self.config = config
        self.metrics = metrics if metrics is not None else Metrics()
        self.stop = asyncio.Event()
        self.store = StateStore(path=config.state_file)
        self.state = self.store.load(now=clock())
        self.targets = [
            Target(
                config=t,
                client=client_factory(
                    t,
                    config,
                    self.metrics.request_observer(target=t.name, type_=t.type.value),
                ),
            )
            for t in config.targets
        ]
        self.worker = Worker(
            config=config,
            targets=self.targets,
            store=self.store,
            state=self.state,
            metrics=self.metrics,
            stop=self.stop,
            clock=clock,
        )
        self.scheduler = Scheduler(
            interval=config.interval_seconds, run=self.worker.run_once, stop=self.stop
        )
        self.server = StatusServer(metrics=self.metrics, ready=self.ready)

    def ready(self) -> bool:
        """Live and ready: the configuration validated and the scheduler loop started."""
        return self.scheduler.initialised and not self.stop.is_set()

    def request_stop(self) -> None:
        """Ask the loop to finish the in-flight request and state write, then exit."""
        if not self.stop.is_set():
            _log.debug("shutdown_requested")
        self.stop.set()

    async def run(self) -> int:
        """Serve and schedule until stopped; always return 0 after a shutdown."""
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, self.request_stop)
        if self.config.dry_run:
            _log.warning("dry_run_enabled", detail="searches are chosen and logged, not sent")
        await self.server.start(host=self.config.listen_host, port=self.config.listen_port)
        self.worker.save_state()  # records process_start and proves the directory is writable
        loop_task = asyncio.create_task(self.scheduler.run_forever(), name="gatherarr-scheduler")
        stop_task = asyncio.create_task(self.stop.wait(), name="gatherarr-stop")
        try:
            await asyncio.wait({loop_task, stop_task}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            self.stop.set()
            await self._shutdown(loop_task)
            stop_task.cancel()
        return 0

    async def _shutdown(self, loop_task: asyncio.Task[None]) -> None:
        try:
            await asyncio.wait_for(
                asyncio.shield(loop_task), timeout=self.config.shutdown_timeout_seconds
            )
        except TimeoutError:
            _log.warning("shutdown_timeout", timeout_seconds=self.config.shutdown_timeout_seconds)
            loop_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await loop_task
        self.worker.save_state()
        for target in self.targets:
            with contextlib.suppress(Exception):
                await target.client.aclose()
        await self.server.close()
        _log.debug("stopped")
