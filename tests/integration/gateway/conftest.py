"""Gateway harness: the real app on a real ServiceContext (PostgreSQL + NATS), driven by httpx."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from comradarr_bus import Bus
from comradarr_crypto import PasswordHasher
from comradarr_gateway.config import GatewaySettings
from comradarr_gateway.service import create_app
from comradarr_gateway.state import Gateway
from comradarr_runtime import ServiceContext
from comradarr_settings import CoreSettings
from fastapi import FastAPI

ADMIN = "admin"
PASSWORD = "Admin-Password-123!"
OUTSIDE = ("203.0.113.7", 40000)  # a public address: never local, never a trusted proxy
LAN = ("192.168.1.20", 40000)
PROXY = ("10.9.9.9", 40000)  # in the test's trusted-proxy list


class Clock:
    """Wall clock plus an offset the test can advance (lockouts, session expiry)."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, **kw: float) -> None:
        self.offset += timedelta(**kw)


@dataclass
class Harness:
    """One gateway app and what it runs on."""

    app: FastAPI
    ctx: ServiceContext
    pool: asyncpg.Pool
    bus: Bus
    clock: Clock
    data_dir: Path
    clients: list[httpx.AsyncClient] = field(default_factory=list)

    @property
    def gw(self) -> Gateway:
        gw: Gateway = self.app.state.gateway
        return gw

    def client(
        self, peer: tuple[str, int] = OUTSIDE, *, base: str = "http://testserver"
    ) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=self.app, client=peer)
        c = httpx.AsyncClient(transport=transport, base_url=base, timeout=30)
        self.clients.append(c)
        return c

    async def setup_admin(self) -> None:
        async with self.client() as c:
            r = await c.post("/api/v1/setup", json={"username": ADMIN, "password": PASSWORD})
            assert r.status_code == 201, r.text

    async def login(self, peer: tuple[str, int] = OUTSIDE) -> httpx.AsyncClient:
        """A client holding an admin session, sending its CSRF token on every request."""
        c = self.client(peer)
        r = await c.post("/api/v1/auth/login", json={"username": ADMIN, "password": PASSWORD})
        assert r.status_code == 200, r.text
        c.headers["X-CSRF-Token"] = r.json()["csrf_token"]
        return c

    async def api_key(self, admin: httpx.AsyncClient, scope: str = "full") -> tuple[int, str]:
        r = await admin.post("/api/v1/api-keys", json={"description": f"k-{scope}", "scope": scope})
        assert r.status_code == 201, r.text
        return r.json()["id"], r.json()["key"]

    async def add_connector(
        self, admin: httpx.AsyncClient, name: str = "TV", *, kind: str = "sonarr"
    ) -> int:
        """A connector at a dead address, then marked healthy (as a passing test would):
        the queue treats an offline connector's entries as blocked."""
        r = await admin.post(
            "/api/v1/connectors",
            json={
                "type": kind,
                "name": name,
                "url": f"http://127.0.0.1:9/{name.lower()}",
                "api_key": "k" * 32,
            },
        )
        assert r.status_code == 201, r.text
        cid = int(r.json()["id"])
        await self.pool.execute(
            "UPDATE connectors SET health_status = 'healthy' WHERE id = $1", cid
        )
        return cid

    async def set_auth_mode(self, admin: httpx.AsyncClient, mode: str) -> None:
        r = await admin.patch(
            "/api/v1/settings",
            json={"security": {"auth_mode": mode}, "current_password": PASSWORD},
        )
        assert r.status_code == 200, r.text


def make_settings(**kw: Any) -> GatewaySettings:
    base: dict[str, Any] = {
        "trusted_proxies": "10.9.9.0/24",
        "login_max_failures": 5,
        "login_ip_max_failures": 50,
        "lockout_seconds": 300,
        "api_key_rate_per_minute": 1000,
    }
    base.update(kw)
    return GatewaySettings(**base)


@pytest.fixture
def gateway_settings() -> GatewaySettings:
    """Override in a test module for other limits."""
    return make_settings()


@pytest.fixture
def hasher() -> PasswordHasher:
    return PasswordHasher.cheap()


@pytest.fixture
async def harness(
    pool: asyncpg.Pool,
    nats_url: str,
    bus_prefix: str,
    private_tmp: Path,
    monkeypatch: pytest.MonkeyPatch,
    gateway_settings: GatewaySettings,
    hasher: PasswordHasher,
) -> AsyncIterator[Harness]:
    monkeypatch.delenv("SECRET_KEY", raising=False)
    core = CoreSettings(COMRADARR_DATA_DIR=private_tmp, COMRADARR_BUS_PREFIX=bus_prefix)
    bus = Bus(url=nats_url, prefix=bus_prefix, client_name="gateway-test", pool=pool)
    await bus.connect(retry_for=5)
    ctx = ServiceContext(
        name="gateway", settings=core, pool=pool, bus=bus, secret_key=core.resolved_secret_key()
    )
    clock = Clock()
    app = create_app(ctx, settings=gateway_settings, hasher=hasher, clock=clock)
    h = Harness(app=app, ctx=ctx, pool=pool, bus=bus, clock=clock, data_dir=private_tmp)
    try:
        yield h
    finally:
        for c in h.clients:
            await c.aclose()
        await bus.stop(timeout=1)


@pytest.fixture
async def admin(harness: Harness) -> httpx.AsyncClient:
    await harness.setup_admin()
    return await harness.login()
