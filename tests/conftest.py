"""Shared fixtures: real PostgreSQL and NATS, from TEST_* variables or embedded servers.

With TEST_DATABASE_URL / TEST_NATS_URL unset (a fresh machine, and CI) the session starts
an embedded PostgreSQL and nats-server itself. Each test gets its own database (a copy of a
migrated template) and its own subject/stream prefix.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
import structlog
from comradarr_bus import Bus, delete_streams
from comradarr_db import discover, migrate
from comradarr_embedded import EmbeddedNats, EmbeddedPostgres
from comradarr_logging import CHATTY

REPO = Path(__file__).resolve().parents[1]


def private_dir(tag: str) -> Path:
    """A directory outside pytest's basetemp, which a concurrent pytest run may rotate away
    while our embedded servers still live in it."""
    return Path(tempfile.mkdtemp(prefix=f"comradarr-test-{tag}-"))


def with_database(url: str, name: str) -> str:
    """The same server URL pointing at another database."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark tests by folder, so `-m unit` and `-m integration` select what they say."""
    for item in items:
        path = Path(str(item.fspath)).relative_to(REPO).parts
        if len(path) > 1 and path[1] in {
            "unit",
            "integration",
            "e2e",
            "benchmarks",
            "containers",
            "distributed",
        }:
            marker = "benchmark" if path[1] == "benchmarks" else path[1]
            item.add_marker(getattr(pytest.mark, marker))


def _server_url(
    env_var: str, tag: str, make: Callable[[Path], EmbeddedPostgres | EmbeddedNats]
) -> Iterator[str]:
    """The server named by env_var, or an embedded one for the session."""
    url = os.environ.get(env_var)
    if url:
        yield url
        return
    root = private_dir(tag)
    server = make(root)
    try:
        yield server.start()
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(autouse=True)
def _restore_logging_state() -> Iterator[None]:
    """Undo process-wide logging set-up (CLIs and configure_logging change it) per test."""
    root = logging.getLogger()
    level, handlers = root.level, root.handlers[:]
    chatty = {name: logging.getLogger(name).level for name in CHATTY}
    was_configured = structlog.is_configured()
    config = structlog.get_config()
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        for name, was in chatty.items():
            logging.getLogger(name).setLevel(was)
        if was_configured:
            structlog.configure(**config)
        else:
            structlog.reset_defaults()


@pytest.fixture(scope="session")
def pg_admin_url() -> Iterator[str]:
    """URL of a PostgreSQL server where tests may create databases."""
    yield from _server_url(
        "TEST_DATABASE_URL", "pg", lambda root: EmbeddedPostgres(root / "pgdata")
    )


@pytest.fixture(scope="session")
def nats_url() -> Iterator[str]:
    """URL of a NATS server with JetStream."""
    yield from _server_url("TEST_NATS_URL", "nats", lambda root: EmbeddedNats(root / "nats"))


async def _admin(pg_admin_url: str) -> asyncpg.Connection:
    return await asyncpg.connect(pg_admin_url)


@pytest.fixture(scope="session")
async def migrated_template(pg_admin_url: str) -> AsyncIterator[str]:
    """A database with every migration applied, copied for each test."""
    name = f"comradarr_tmpl_{uuid.uuid4().hex[:10]}"
    conn = await _admin(pg_admin_url)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    try:
        await migrate(with_database(pg_admin_url, name), migrations=discover())
        yield name
    finally:
        # A new connection: one held for the whole session may have been dropped.
        conn = await _admin(pg_admin_url)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()


async def _fresh_database(pg_admin_url: str, template: str | None) -> AsyncIterator[str]:
    name = f"comradarr_t_{uuid.uuid4().hex[:12]}"
    conn = await _admin(pg_admin_url)
    try:
        clause = f' TEMPLATE "{template}"' if template else ""
        await conn.execute(f'CREATE DATABASE "{name}"{clause}')
        yield with_database(pg_admin_url, name)
    finally:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.close()


@pytest.fixture
def private_tmp() -> Iterator[Path]:
    """Like tmp_path, but safe for servers that outlive a concurrent pytest's cleanup."""
    root = private_dir("tmp")
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
async def database_url(pg_admin_url: str, migrated_template: str) -> AsyncIterator[str]:
    """A fresh database of this test's own, with every migration applied."""
    async for url in _fresh_database(pg_admin_url, migrated_template):
        yield url


@pytest.fixture
async def empty_database_url(pg_admin_url: str) -> AsyncIterator[str]:
    """A fresh database of this test's own, with nothing in it."""
    async for url in _fresh_database(pg_admin_url, None):
        yield url


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    """A small pool on the test's database."""
    from comradarr_db import PoolConfig, create_pool

    p = await create_pool(database_url, config=PoolConfig(min_size=1, max_size=5))
    try:
        yield p
    finally:
        await p.close()


@pytest.fixture
async def bus_prefix(nats_url: str) -> AsyncIterator[str]:
    """A subject/stream prefix of this test's own, its streams deleted afterwards."""
    prefix = f"t{uuid.uuid4().hex[:12]}"
    yield prefix
    cleaner = Bus(url=nats_url, prefix=prefix, client_name="test-cleanup")
    await cleaner.connect(retry_for=5)
    await delete_streams(cleaner.js, prefix=prefix)
    await cleaner.stop(timeout=1)
