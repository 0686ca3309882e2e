"""Start embedded servers for whatever the environment does not provide."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import structlog
from comradarr_embedded import EmbeddedNats, EmbeddedPostgres, free_port

log = structlog.get_logger(__name__)

DATABASE_NAME = "comradarr"


@dataclass
class Servers:
    """The URLs in use and the embedded servers this process owns."""

    database_url: str
    nats_url: str | None
    owned: list[EmbeddedPostgres | EmbeddedNats] = field(default_factory=list)

    async def supervise(self, stopping: asyncio.Event, *, interval: float = 0.5) -> None:
        """Restart an owned server that died, until stopping is set.

        The pool and the bus reconnect by themselves once it answers again.
        """
        while not stopping.is_set():
            for server in list(self.owned):
                if stopping.is_set() or server.running:
                    continue
                log.warning("embedded server died; restarting it", server=server.name)
                try:
                    await asyncio.to_thread(server.restart)
                except Exception as exc:  # retried on the next round
                    log.warning(
                        "embedded server did not restart; trying again",
                        server=server.name,
                        error=str(exc)[:300],
                    )
                else:
                    log.info("embedded server restarted", server=server.name)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), interval)

    def stop(self) -> None:
        """Stop owned servers, NATS first (nothing publishes after the database is gone)."""
        for server in reversed(self.owned):
            server.stop()
        self.owned.clear()


class DataDirInUseError(RuntimeError):
    """Another `comradarr up` holds this data directory."""


@contextlib.contextmanager
def hold_data_dir(data_dir: Path) -> Iterator[None]:
    """One `comradarr up` per data directory: an exclusive lock for this process's life.

    A second one would start a second nats-server on the live JetStream store. The lock goes
    with the process however it ends (flock), so a crash never leaves a stale lock behind.
    """
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(data_dir / "comradarr.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.read(fd, 32).decode("ascii", "replace").strip() or "?"
        os.close(fd)
        raise DataDirInUseError(
            f"another `comradarr up` (pid {holder}) is already running on {data_dir}; "
            "stop it first, or give this one its own COMRADARR_DATA_DIR"
        ) from None
    try:
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        yield
    finally:
        os.close(fd)


def _state_file(data_dir: Path) -> Path:
    return data_dir / "embedded" / "servers.json"


def _stable_nats_port(data_dir: Path) -> int:
    # Keep the port across restarts so `comradarr service` can attach to the same server.
    path = data_dir / "embedded" / "nats.port"
    if path.exists():
        try:
            return int(path.read_text().strip())
        except ValueError:
            pass
    port = free_port()
    path.write_text(str(port))
    return port


def _embedded_root(data_dir: Path) -> Path:
    root = data_dir / "embedded"
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    return root


def has_embedded_database(data_dir: Path) -> bool:
    """Whether an embedded PostgreSQL was ever created under data_dir."""
    return (data_dir / "embedded" / "postgres" / "PG_VERSION").exists()


def start_database(*, data_dir: Path, database_url: str | None) -> Servers:
    """Only the database: embedded PostgreSQL when database_url is None (for `migrate`).

    Nothing is published for `comradarr service` to attach to: this process has no NATS.
    """
    if database_url is not None:
        return Servers(database_url=database_url, nats_url=None)
    pg = EmbeddedPostgres(_embedded_root(data_dir) / "postgres")  # see has_embedded_database
    admin = pg.start()
    try:
        url = _ensure_database(pg, admin)
    except BaseException:
        pg.stop()
        raise
    log.info("embedded PostgreSQL started", data=str(pg.pgdata))
    return Servers(database_url=url, nats_url=None, owned=[pg])


def start_missing(*, data_dir: Path, database_url: str | None, nats_url: str | None) -> Servers:
    """Embedded PostgreSQL when database_url is None, embedded NATS when nats_url is None."""
    root = _embedded_root(data_dir)
    database = start_database(data_dir=data_dir, database_url=database_url)
    owned: list[EmbeddedPostgres | EmbeddedNats] = list(database.owned)
    database_url = database.database_url
    try:
        if nats_url is None:
            nats = EmbeddedNats(root / "nats", port=_stable_nats_port(data_dir))
            nats_url = nats.start()
            owned.append(nats)
            log.info("embedded nats-server started", url=nats_url, store=str(nats.store_dir))
    except BaseException:
        for server in reversed(owned):
            server.stop()
        raise
    servers = Servers(database_url=database_url, nats_url=nats_url, owned=owned)
    if owned:
        state = {"database_url": database_url, "nats_url": nats_url, "pid": os.getpid()}
        _state_file(data_dir).write_text(json.dumps(state))
    return servers


def _ensure_database(pg: EmbeddedPostgres, admin_url: str) -> str:
    async def create() -> None:
        conn = await asyncpg.connect(admin_url)
        try:
            exists = await conn.fetchval(
                "SELECT 1 FROM pg_database WHERE datname = $1", DATABASE_NAME
            )
            if not exists:
                await conn.execute(f'CREATE DATABASE "{DATABASE_NAME}"')
        finally:
            await conn.close()

    asyncio.run(create())
    return pg.url(DATABASE_NAME)


def attach_to_running(data_dir: Path) -> tuple[str | None, str | None]:
    """URLs of the embedded servers a running `comradarr up` published, if any."""
    path = _state_file(data_dir)
    if not path.exists():
        return None, None
    try:
        state = json.loads(path.read_text())
        os.kill(int(state["pid"]), 0)
    except (ValueError, KeyError, OSError):
        return None, None
    return state.get("database_url"), state.get("nats_url")
