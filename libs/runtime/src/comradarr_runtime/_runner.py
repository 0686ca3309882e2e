"""Run one service or all of them in this process: open, serve, drain, close."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import structlog
import uvicorn
from comradarr_bus import Bus
from comradarr_crypto import Keyring
from comradarr_db import PoolConfig, apply_migrations, create_pool, discover, ping
from comradarr_logging import set_level
from comradarr_observability import Check, health_app
from comradarr_proto import BackupRestored, LogLevelChanged, SecretKeyRotated
from comradarr_settings import CoreSettings
from fastapi import FastAPI

from ._heap import freeze_heap, thaw_heap
from ._keys import apply_handoffs, on_rotated, watch_handoffs
from ._service import ServiceContext, ServiceDefinition
from .maintenance import maintenance_subscription

log = structlog.get_logger(__name__)


def pool_config(settings: CoreSettings) -> PoolConfig:
    """Pool sizing from the settings."""
    return PoolConfig(
        min_size=settings.db_pool_min,
        max_size=settings.db_pool_max,
        max_inactive_connection_lifetime=settings.db_pool_max_idle_seconds,
        max_queries=settings.db_pool_max_lifetime_queries,
    )


class _QuietServer(uvicorn.Server):
    """uvicorn without its own signal handling: SIGTERM belongs to the runner."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class Runner:
    """Owns the shared pool and bus and the services started on them."""

    def __init__(
        self,
        definitions: Sequence[ServiceDefinition],
        *,
        settings: CoreSettings,
        database_url: str,
        nats_url: str,
        http_port: int | None,
        client_name: str,
    ) -> None:
        self.definitions = list(definitions)
        self.settings = settings
        self.database_url = database_url
        self.nats_url = nats_url
        self.http_port = http_port
        self.client_name = client_name
        self.stopping = asyncio.Event()
        self.ready = asyncio.Event()
        self.finishing = False
        self.contexts: list[ServiceContext] = []
        self._loops: list[asyncio.Task[None]] = []
        self._http: uvicorn.Server | None = None
        self._http_task: asyncio.Task[None] | None = None
        self.bus: Bus | None = None

    def checks(self) -> Mapping[str, Check]:
        """Readiness checks: the database answers and NATS is connected."""

        async def database() -> bool:
            return bool(self.contexts) and await ping(self.contexts[0].pool)

        async def nats() -> bool:
            return self.bus is not None and self.bus.connected

        return {"database": database, "nats": nats}

    async def start(self) -> None:
        """Open resources in order: database, migrations, bus, services, HTTP."""
        started = time.perf_counter()
        s = self.settings
        # Resolved first: a missing key is generated and persisted before any secret is stored.
        secret_key = s.resolved_secret_key()
        pool = await create_pool(self.database_url, config=pool_config(s), retry_for=60.0)
        async with pool.acquire() as conn:
            await apply_migrations(conn, discover())
        self.bus = Bus(
            url=self.nats_url,
            prefix=s.bus_prefix,
            client_name=self.client_name,
            pool=pool,
            replicas=s.bus_replicas,
        )
        await self.bus.connect(retry_for=60.0)

        async def on_level(msg: LogLevelChanged) -> None:
            names = {d.name for d in self.definitions}
            if msg.service is None or msg.service in names:
                set_level(msg.level)
                log.info("log level changed", level=msg.level)

        await self.bus.listen(LogLevelChanged, on_level)
        # One keyring for the process: a rotation switches every service at once.
        keyring = Keyring(secret_key)
        await apply_handoffs(pool, keyring)

        async def on_key(msg: SecretKeyRotated) -> None:
            await on_rotated(pool, keyring, msg)

        await self.bus.listen(SecretKeyRotated, on_key)
        # And a look now and then: a rotation announced while the bus was away still lands.
        self._loops.append(
            asyncio.create_task(self._guard("keys", watch_handoffs(pool, keyring, self.stopping)))
        )

        async def on_restored(msg: BackupRestored) -> None:
            # Services read the database afresh each cycle (caches live a few seconds), so
            # the restored rows are in use without a restart; the log says when it happened.
            log.warning(
                "database restored from a backup; services continue on the restored rows",
                backup_created_at=msg.backup_created_at.isoformat(),
                rows=msg.rows,
            )

        await self.bus.listen(BackupRestored, on_restored)
        for definition in self.definitions:
            ctx = ServiceContext(
                name=definition.name,
                settings=s,
                pool=pool,
                bus=self.bus,
                secret_key=secret_key,
                stopping=self.stopping,
                keyring=keyring,
            )
            self.contexts.append(ctx)
            for sub in definition.subscriptions(ctx):
                await self.bus.subscribe(sub)
            if definition.maintenance is not None:
                await self.bus.subscribe(maintenance_subscription(ctx, definition.maintenance))
            for coro in definition.loops(ctx):
                self._loops.append(asyncio.create_task(self._guard(definition.name, coro)))
        # Past this point start() only waits for uvicorn to report itself up; a signal
        # arriving now (say, right after the first /health answered) lets it finish.
        self.finishing = True
        if self.http_port is not None:
            await self._start_http(self._http_app())
        freeze_heap()
        self.ready.set()
        log.info(
            "started",
            services=[d.name for d in self.definitions],
            seconds=round(time.perf_counter() - started, 3),
            http_port=self.http_port,
        )

    async def _guard(self, name: str, coro: Any) -> None:
        # A crashed loop is logged, not silently lost; the service keeps its other work.
        try:
            await coro
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("background loop crashed", service=name)

    def _http_app(self) -> FastAPI:
        gateway = next((d for d in self.definitions if d.http_app is not None), None)
        if gateway is not None and gateway.http_app is not None:
            ctx = next(c for c in self.contexts if c.name == gateway.name)
            app = gateway.http_app(ctx)
            app.state.health_checks = self.checks
            return app
        title = ", ".join(d.name for d in self.definitions)
        return health_app(title=f"comradarr {title}", checks=self.checks)

    async def _start_http(self, app: FastAPI) -> None:
        config = uvicorn.Config(
            app,
            host=self.settings.host,
            port=self.http_port or 0,
            log_config=None,
            access_log=False,
            lifespan="off",
            server_header=False,
            # The gateway alone decides whom to believe about the client's address (its
            # trusted-proxy list); uvicorn's own X-Forwarded-For rewrite would act first.
            proxy_headers=False,
        )
        self._http = _QuietServer(config)
        self._http_task = asyncio.create_task(self._http.serve())
        while not self._http.started:
            if self._http_task.done():
                self._http_task.result()
                raise RuntimeError(f"HTTP server could not start on port {self.http_port}")
            await asyncio.sleep(0.02)

    async def stop(self) -> None:
        """Close in reverse order; in-flight messages get the shutdown timeout to finish."""
        self.stopping.set()
        timeout = self.settings.shutdown_timeout_seconds
        if self._http is not None and self._http_task is not None:
            self._http.should_exit = True
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._http_task, timeout=5.0)
        if self._loops:
            _done, pending = await asyncio.wait(self._loops, timeout=timeout)
            for task in pending:
                task.cancel()
        if self.bus is not None:
            await self.bus.stop(timeout=timeout)
        if self.contexts:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.contexts[0].pool.close(), timeout=5.0)
        thaw_heap()
        log.info("stopped")


async def run_until_signalled(runner: Runner) -> None:
    """Start, wait for SIGTERM or SIGINT, then drain and stop."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    starting = asyncio.create_task(runner.start())
    stopped = asyncio.create_task(stop.wait())
    try:
        # A signal during a slow start (servers still coming up) must not wait for it.
        await asyncio.wait({starting, stopped}, return_when=asyncio.FIRST_COMPLETED)
        if starting.done() or runner.finishing:
            await starting
            await stopped
        else:
            starting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await starting
        log.info("shutdown requested; draining")
    finally:
        stopped.cancel()
        await runner.stop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
