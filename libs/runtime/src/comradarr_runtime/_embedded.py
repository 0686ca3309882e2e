"""Start embedded servers for whatever the environment does not provide."""

from __future__ import annotations

import asyncio
import json
import os
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

    def stop(self) -> None:
        """Stop owned servers, NATS first (nothing publishes after the database is gone)."""
        for server in reversed(self.owned):
            server.stop()
        self.owned.clear()


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


def start_database(*, data_dir: Path, database_url: str | None) -> Servers:
    """Only the database: embedded PostgreSQL when database_url is None (for `migrate`).

    Nothing is published for `comradarr service` to attach to: this process has no NATS.
    """
    if database_url is not None:
        return Servers(database_url=database_url, nats_url=None)
    pg = EmbeddedPostgres(_embedded_root(data_dir) / "postgres")
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
