"""API for automation (issue 20): per-key request limits, security schemes in the OpenAPI
document, /docs with no internet access, and BASE_URL behind a reverse proxy."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import httpx
import pytest
import uvicorn
from comradarr_bus import Bus
from comradarr_crypto import PasswordHasher
from comradarr_embedded import free_port
from comradarr_gateway.service import create_app
from comradarr_runtime import ServiceContext
from comradarr_settings import CoreSettings

from tests.support.proxy import ReverseProxy

from .conftest import ADMIN, PASSWORD, Harness, make_settings

pytestmark = pytest.mark.integration

BASE = "/comradarr"


async def test_each_key_has_its_own_request_limit(
    harness: Harness, admin: httpx.AsyncClient
) -> None:
    r = await admin.post(
        "/api/v1/api-keys", json={"description": "cron", "scope": "read", "rate_per_minute": 2}
    )
    assert r.status_code == 201, r.text
    assert (r.json()["rate_per_minute"], r.json()["effective_rate_per_minute"]) == (2, 2)
    slow_id, slow = r.json()["id"], r.json()["key"]
    _, other = await harness.api_key(admin, "read")  # the server default (1000 here)
    async with harness.client() as c:
        codes = [
            (await c.get("/api/v1/connectors", headers={"X-API-Key": slow})).status_code
            for _ in range(3)
        ]
        assert codes == [200, 200, 429]
        r = await c.get("/api/v1/connectors", headers={"X-API-Key": slow})
        assert 1 <= int(r.headers["Retry-After"]) <= 60
        for _ in range(5):
            assert (await c.get("/api/v1/connectors", headers={"X-API-Key": other})).is_success
        # A key cannot lift its own limit; a signed-in person can.
        r = await c.patch(
            f"/api/v1/api-keys/{slow_id}",
            json={"rate_per_minute": 1000},
            headers={"X-API-Key": slow},
        )
        assert r.status_code in (403, 429)
    for bad in (0, -1, 100_001, 1.5, "many"):
        r = await admin.patch(f"/api/v1/api-keys/{slow_id}", json={"rate_per_minute": bad})
        assert r.status_code == 422, (bad, r.text)
    r = await admin.patch(f"/api/v1/api-keys/{slow_id}", json={"rate_per_minute": None})
    assert r.status_code == 200
    assert (r.json()["rate_per_minute"], r.json()["effective_rate_per_minute"]) == (None, 1000)
    async with harness.client() as c:
        assert (await c.get("/api/v1/connectors", headers={"X-API-Key": slow})).status_code == 200
    listed = {k["id"]: k for k in (await admin.get("/api/v1/api-keys")).json()}
    assert listed[slow_id]["description"] == "cron"
    assert (await admin.patch("/api/v1/api-keys/999999", json={})).status_code == 404


async def test_openapi_declares_the_security_schemes(harness: Harness) -> None:
    async with harness.client() as anon:
        spec = (await anon.get("/openapi.json")).json()
    schemes = spec["components"]["securitySchemes"]
    assert schemes["ApiKey"] == {**schemes["ApiKey"], "type": "apiKey", "in": "header"}
    assert schemes["ApiKey"]["name"] == "X-API-Key"
    assert (schemes["Session"]["in"], schemes["Session"]["name"]) == ("cookie", "comradarr_session")
    assert schemes["CsrfToken"]["name"] == "X-CSRF-Token"
    checked = 0
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if path in ("/api/v1/setup", "/api/v1/setup/status", "/api/v1/auth/login"):
                assert op["security"] == []
            elif path == "/api/v1/webhooks/arr/{connector_id}":
                assert op["security"] == [{"WebhookBasic": []}, {"WebhookToken": []}]
            elif path.startswith("/api/v1"):
                assert {"ApiKey": []} in op["security"], (method, path)
                session = {"Session": []} if method == "get" else {"Session": [], "CsrfToken": []}
                assert session in op["security"], (method, path)
                checked += 1
    assert checked > 20


async def test_docs_are_served_with_no_internet(harness: Harness) -> None:
    async with harness.client() as anon:
        r = await anon.get("/docs")
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
        page = r.text
        assert not re.search(r"(src|href)=\"(https?:)?//", page)  # nothing from elsewhere
        csp = r.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "http" not in csp and "unsafe-eval" not in csp
        for asset in re.findall(r"(?:src|href)=\"(docs/assets/[^\"]+)\"", page):
            got = await anon.get("/" + asset)
            assert got.status_code == 200 and len(got.content) > 100, asset
        js = await anon.get("/docs/assets/swagger-ui-bundle.js")
        assert "SwaggerUIBundle" in js.text[:2000]
        for bad in ("../service.py", "..%2Fservice.py", "nope.js", "%2e%2e%2fdocs.py"):
            assert (await anon.get(f"/docs/assets/{bad}")).status_code == 404
        # Only the docs relax the policy.
        r = await anon.get("/api/v1/setup/status")
        assert r.headers["content-security-policy"].startswith("default-src 'none'")


class _Server(uvicorn.Server):
    def install_signal_handlers(self) -> None:  # the test owns signals
        return None

    def capture_signals(self):  # type: ignore[no-untyped-def]
        import contextlib

        return contextlib.nullcontext()


@pytest.fixture
async def behind_proxy(
    pool: asyncpg.Pool,
    nats_url: str,
    bus_prefix: str,
    private_tmp: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[ReverseProxy]:
    """The gateway with BASE_URL=/comradarr on a real port, behind a proxy forwarding only
    /comradarr/ (unstripped) and naming an outside client in X-Forwarded-For."""
    monkeypatch.delenv("SECRET_KEY", raising=False)
    core = CoreSettings(
        COMRADARR_DATA_DIR=private_tmp, COMRADARR_BUS_PREFIX=bus_prefix, base_url=BASE
    )
    bus = Bus(url=nats_url, prefix=bus_prefix, client_name="gateway-base-url", pool=pool)
    await bus.connect(retry_for=5)
    ctx = ServiceContext(
        name="gateway", settings=core, pool=pool, bus=bus, secret_key=core.resolved_secret_key()
    )
    app = create_app(
        ctx,
        settings=make_settings(trusted_proxies="127.0.0.1/32"),
        hasher=PasswordHasher.cheap(),
    )
    port = free_port()
    server = _Server(
        uvicorn.Config(
            app, host="127.0.0.1", port=port, lifespan="off", log_config=None, proxy_headers=False
        )
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        assert not task.done()
        await asyncio.sleep(0.02)
    proxy = await ReverseProxy(
        routes=[(BASE, f"http://127.0.0.1:{port}")], client_address="198.51.100.77"
    ).start()
    try:
        yield proxy
    finally:
        await proxy.stop()
        server.should_exit = True
        await task
        await bus.stop(timeout=1)


async def test_base_url_behind_a_reverse_proxy(
    behind_proxy: ReverseProxy, pool: asyncpg.Pool
) -> None:
    async with httpx.AsyncClient(base_url=behind_proxy.url + BASE, timeout=20) as c:
        assert (await c.get("/health")).status_code == 200
        assert (await c.get("/api/v1/setup/status")).json()["setup_required"] is True
        r = await c.post("/api/v1/setup", json={"username": ADMIN, "password": PASSWORD})
        assert r.status_code == 201
        assert f"Path={BASE}" in r.headers["set-cookie"]
        c.headers["X-CSRF-Token"] = r.json()["csrf_token"]
        assert (await c.get("/api/v1/auth/me")).json()["username"] == ADMIN
        r = await c.post("/api/v1/api-keys", json={"description": "through the proxy"})
        assert r.status_code == 201
        spec = (await c.get("/openapi.json")).json()
        assert spec["servers"] == [{"url": BASE}]
        docs = await c.get("/docs")
        assert docs.status_code == 200
        for asset in re.findall(r"(?:src|href)=\"(docs/assets/[^\"]+)\"", docs.text):
            assert (await c.get("/" + asset)).status_code == 200
        # The proxy's X-Forwarded-For was believed (a trusted proxy): the session has it.
        assert await pool.fetchval("SELECT client_ip FROM sessions") == "198.51.100.77"
        r = await c.post("/api/v1/auth/logout")
        assert r.status_code == 200 and f"Path={BASE}" in r.headers["set-cookie"]
    async with httpx.AsyncClient(base_url=behind_proxy.url, timeout=20) as c:
        assert (await c.get("/api/v1/setup/status")).status_code == 404  # outside BASE_URL
