"""Security suite: the peer review's probes (peer-review-probes.md), as black-box attacks.

Each test names the probe row it answers (#1 ... #18, C1). Rows 9, 10, 17, 19, 20 are not
HTTP-visible in this service (no XML parsing, no installer, container checks live in deploy/).
"""

from __future__ import annotations

import asyncio
import io
import json
import re
import time
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import structlog
from comradarr_gateway.routes_auth import PUBLIC_PATHS
from comradarr_gateway.security import token_hash

from .conftest import ADMIN, LAN, OUTSIDE, PASSWORD, PROXY, Harness, make_settings

pytestmark = pytest.mark.integration

CANARY = "canary-5f1e0c2b9a8d7e6f4a3b2c1d0e9f8a7b"


def _fill(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


def _operations(app: Any) -> list[tuple[str, str]]:
    spec = app.openapi()
    ops = []
    for path, item in spec["paths"].items():
        for method in item:
            ops.append((method.upper(), path))
    return sorted(ops)


def _auth_rejected(r: httpx.Response) -> bool:
    return r.status_code in (401, 403) and "canary" not in r.text


# --- #13 (automated form) and "every route without credentials" --------------------------


async def test_openapi_lists_only_the_declared_public_routes(harness: Harness) -> None:
    public = {p for _, p in _operations(harness.app) if p.startswith("/api/v1")} & PUBLIC_PATHS
    assert public == set(PUBLIC_PATHS)


async def test_every_protected_operation_answers_401_without_credentials(harness: Harness) -> None:
    await harness.setup_admin()
    checked = 0
    async with harness.client() as anon:
        for method, path in _operations(harness.app):
            if path in PUBLIC_PATHS or not path.startswith("/api/v1"):
                continue
            r = await anon.request(method, _fill(path), json={})
            assert r.status_code == 401, (method, path, r.status_code, r.text)
            assert r.json() == {"detail": "authentication required"}
            checked += 1
    assert checked >= 20


# --- #1 and C1: anonymous settings writes ------------------------------------------------

SETTINGS_BODIES = [
    {"general": {"timezone": "Europe/Berlin"}},
    {},
    {"local_network_bypass": True, "auth_required": False, "proxy_auth_bypass": True},
    {"security": {"auth_mode": "local_bypass"}},
]


async def test_p01_c1_anonymous_settings_write_is_rejected(
    harness: Harness, admin: httpx.AsyncClient
) -> None:
    before = (await admin.get("/api/v1/settings")).json()
    paths = ["/api/v1/settings", "/api/v1/settings/general", "/api/v1/config", "/api/v1/config/"]
    async with harness.client(LAN) as anon:
        for method in ("POST", "PUT", "PATCH", "DELETE"):
            for path in paths:
                for body in SETTINGS_BODIES:
                    r = await anon.request(method, path, json=body)
                    assert r.status_code in (401, 403, 404, 405), r.text
                    assert "security" not in r.text
    harness.gw.forget_settings()
    assert (await admin.get("/api/v1/settings")).json() == before


async def test_c1_even_admin_needs_the_password_to_weaken_auth(
    harness: Harness, admin: httpx.AsyncClient
) -> None:
    r = await admin.patch("/api/v1/settings", json={"security": {"auth_mode": "local_bypass"}})
    assert r.status_code == 403
    r = await admin.patch(
        "/api/v1/settings",
        json={"security": {"auth_mode": "local_bypass"}, "current_password": "wrong-password"},
    )
    assert r.status_code == 403
    _, key = await harness.api_key(admin, "full")
    async with harness.client() as c:
        r = await c.patch(
            "/api/v1/settings",
            json={"security": {"auth_mode": "local_bypass"}, "current_password": PASSWORD},
            headers={"X-API-Key": key},
        )
    assert r.status_code == 403
    assert (await admin.get("/api/v1/settings")).json()["security"]["auth_mode"] == "required"


# --- #2, #3, #4, #5: identity link/unlink, 2FA, recovery keys ---------------------------

TAKEOVER_ROUTES = [
    "/api/v1/auth/plex/link",
    "/api/v1/auth/oidc/link",
    "/api/v1/auth/plex/unlink",
    "/api/v1/users/me/identities/1",
    "/api/v1/user/2fa/setup",
    "/api/v1/user/2fa/verify",
    "/api/v1/auth/totp/setup",
    "/api/v1/x/mfa/enroll",
    "/auth/recovery-key/generate",
    "/api/v1/auth/recovery-key/generate",
    "/api/v1/recovery",
]
TAKEOVER_BODIES = [{"setup_mode": True, "token": "probe"}, {}, {"username": ADMIN}, {"code": "1"}]


async def test_p02_to_p05_takeover_routes_do_not_exist_for_anyone(
    harness: Harness, admin: httpx.AsyncClient
) -> None:
    for path in TAKEOVER_ROUTES:
        for method in ("POST", "DELETE"):
            await _takeover(harness, admin, path, method)


async def _takeover(harness: Harness, admin: httpx.AsyncClient, path: str, method: str) -> None:
    async with harness.client() as anon:
        for body in TAKEOVER_BODIES:
            for extra in ({}, {"X-Setup-Mode": "1"}):
                r = await anon.request(method, path + "?setup_mode=1", json=body, headers=extra)
                assert r.status_code in (401, 403, 404, 405), r.text
                assert not re.search(r"otpauth|secret|recovery_key|token\"", r.text)
    r = await admin.request(method, path, json={"setup_mode": True})
    assert r.status_code in (404, 405)
    assert (await admin.get("/api/v1/auth/me")).json()["username"] == ADMIN


# --- #6: backup upload with zip-slip entries -----------------------------------------------


def _evil_zip(nonce: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr(f"../../../../static/zs-{nonce}.txt", "x")
        z.writestr(f"/tmp/zs-abs-{nonce}", "x")
        z.writestr(f"..\\..\\zs-win-{nonce}", "x")
        info = zipfile.ZipInfo(f"link-{nonce}")
        info.external_attr = 0o120777 << 16
        z.writestr(info, "/tmp")
        z.writestr(f"link-{nonce}/zs-through-{nonce}", "x")
    return buf.getvalue()


BACKUP_PATHS = [
    "/api/v1/backup/upload",
    "/api/v1/backups/upload",
    "/api/v1/backup/restore",
    "/api/v1/backups/restore",
    "/api/v1/backups",
    "/api/v1/backups/uploads",
]


async def test_p06_zip_slip_upload_is_refused_and_writes_nothing(
    harness: Harness, admin: httpx.AsyncClient
) -> None:
    """The backup upload exists now (POST /backups/uploads, the file as the body): anonymous
    callers are refused, and so is a LAN caller let in by local-bypass mode (uploads need a
    signed-in session); the admin's evil archive is refused whole (415 as multipart, 400 as
    the body); nothing lands anywhere."""
    nonce = f"{time.time_ns()}"
    for caller in ("anon", "admin", "anon-bypass"):
        if caller == "anon-bypass":
            await harness.set_auth_mode(admin, "local_bypass")
        peer = LAN if caller == "anon-bypass" else OUTSIDE
        client = admin if caller == "admin" else harness.client(peer)
        for path in BACKUP_PATHS:
            files = {"file": ("probe.zip", _evil_zip(nonce), "application/zip")}
            r = await client.post(path, files=files)
            assert r.status_code in (401, 403, 404, 405, 415, 422), r.text
            r = await client.post(
                path, content=_evil_zip(nonce), headers={"Content-Type": "application/zip"}
            )
            assert r.status_code in (400, 401, 403, 404, 405, 422), r.text
            if caller == "admin" and path.endswith("/uploads"):
                assert r.status_code == 400 and "not a name" in r.json()["detail"]
    backups = harness.data_dir / "backups"
    assert not backups.exists() or not list(backups.iterdir())
    for root in (Path("/tmp"), harness.data_dir, Path.cwd()):
        assert (
            not list(root.glob(f"**/zs-*{nonce}*"))
            if root != Path("/tmp")
            else not list(root.glob(f"zs-*{nonce}*"))
        )


# --- #7: setup can never be re-opened --------------------------------------------------------


SETUP_RESETS = [
    ("POST", "/api/v1/setup/clear"),
    ("DELETE", "/api/v1/setup/clear"),
    ("POST", "/api/v1/setup/reset"),
    ("DELETE", "/api/v1/setup/reset"),
    ("DELETE", "/api/v1/setup"),
    ("PUT", "/api/v1/setup"),
    ("POST", "/api/v1/setup"),
    ("POST", "/api/v1/SETUP"),
    ("POST", "/api/v1/setup/"),
]


async def test_p07_setup_cannot_be_reopened(harness: Harness) -> None:
    await harness.setup_admin()
    probe = {"username": "probe", "password": "Probe-123456-Aa1!"}
    async with harness.client(LAN) as anon:
        for method, path in SETUP_RESETS:
            r = await anon.request(method, path, json=probe)
            assert r.status_code in (401, 403, 404, 405, 409), r.text
        assert (await anon.get("/api/v1/setup/status")).json()["setup_required"] is False
        r = await anon.post("/api/v1/setup", json=probe)
        assert r.status_code == 409
        r = await anon.post("/api/v1/auth/login", json=probe)
        assert r.status_code == 401
    await harness.login()
    assert await harness.pool.fetchval("SELECT count(*) FROM users") == 1


async def test_p07_ten_concurrent_first_boot_setups_yield_exactly_one_owner(
    harness: Harness,
) -> None:
    async def attempt(i: int) -> int:
        async with harness.client() as c:
            r = await c.post(
                "/api/v1/setup", json={"username": f"owner{i}", "password": f"Password-{i}-xyz!"}
            )
            return r.status_code

    codes = await asyncio.gather(*(attempt(i) for i in range(10)))
    assert sorted(codes) == [201] + [409] * 9
    assert await harness.pool.fetchval("SELECT count(*) FROM users") == 1


# --- #8: local bypass and forwarded-header spoofing ----------------------------------------

SPOOFS = [
    {"X-Forwarded-For": "127.0.0.1"},
    {"X-Forwarded-For": "203.0.113.9, 192.168.1.10"},
    {"X-Real-IP": "10.0.0.2"},
    {"Forwarded": "for=127.0.0.1"},
    {"X-Client-IP": "127.0.0.1"},
    {"True-Client-IP": "127.0.0.1"},
    {"CF-Connecting-IP": "127.0.0.1"},
    {"X-Forwarded-For": "::1"},
    {"X-Forwarded-For": "::ffff:127.0.0.1"},
    {"X-Forwarded-Host": "localhost", "X-Forwarded-For": "10.1.1.1"},
]


async def test_p08_spoofed_forwarding_headers_never_grant_bypass(
    harness: Harness, admin: httpx.AsyncClient
) -> None:
    await harness.set_auth_mode(admin, "local_bypass")
    for headers in SPOOFS:
        await _spoof(harness, headers)


async def _spoof(harness: Harness, headers: dict[str, str]) -> None:
    async with harness.client(OUTSIDE) as anon:
        r = await anon.get("/api/v1/connectors", headers=headers)
        assert r.status_code == 401, r.text
    # A trusted proxy forwarding a public client: still no bypass.
    async with harness.client(PROXY) as via_proxy:
        r = await via_proxy.get(
            "/api/v1/connectors", headers={**headers, "X-Forwarded-For": "127.0.0.1, 203.0.113.9"}
        )
        assert r.status_code == 401, r.text


async def test_p08_bypass_is_granted_only_by_the_real_address(
    harness: Harness, admin: httpx.AsyncClient
) -> None:
    async with harness.client(LAN) as lan:
        assert (await lan.get("/api/v1/connectors")).status_code == 401  # mode is "required"
    await harness.set_auth_mode(admin, "local_bypass")
    async with harness.client(LAN) as lan:
        r = await lan.get("/api/v1/auth/me")
        assert r.status_code == 200
        assert r.json()["auth_mode"] == "local_bypass"
        # Writes in bypass still need the CSRF token (a web page cannot read it).
        body = {"general": {"app_name": "x"}}
        assert (await lan.patch("/api/v1/settings", json=body)).status_code == 403
        csrf = r.json()["csrf_token"]
        r = await lan.patch("/api/v1/settings", json=body, headers={"X-CSRF-Token": csrf})
        assert r.status_code == 200
        # The bypass cannot turn authentication settings (it has no password to show).
        r = await lan.patch(
            "/api/v1/settings",
            json={"security": {"auth_mode": "required"}, "current_password": PASSWORD},
            headers={"X-CSRF-Token": csrf},
        )
        assert r.status_code == 403
    async with harness.client(("127.0.0.1", 5)) as loop:
        assert (await loop.get("/api/v1/connectors")).status_code == 200
    async with harness.client(PROXY) as via_proxy:
        r = await via_proxy.get("/api/v1/connectors", headers={"X-Forwarded-For": "192.168.1.4"})
        assert r.status_code == 200


# --- #11: planted secrets never leave ------------------------------------------------------


async def test_p11_planted_secrets_never_appear_in_responses_or_logs(
    harness: Harness, admin: httpx.AsyncClient
) -> None:
    _, full_key = await harness.api_key(admin, "full")
    session_token = admin.cookies["comradarr_session"]
    bodies: list[str] = []
    with structlog.testing.capture_logs() as logs:
        r = await admin.post(
            "/api/v1/connectors",
            json={"type": "sonarr", "name": "TV", "url": "http://127.0.0.1:9", "api_key": CANARY},
        )
        cid = r.json()["id"]
        bodies.append(r.text)
        # Error paths carrying the canary: validation, conflict, bad update.
        for body in (
            {"type": "sonarr", "name": "TV", "url": "ftp://x", "api_key": CANARY},
            {"type": "sonarr", "name": "TV", "url": "http://127.0.0.1:9", "api_key": CANARY},
            {"type": "nope", "name": "Y", "url": "http://a", "api_key": CANARY, "extra": CANARY},
        ):
            bodies.append((await admin.post("/api/v1/connectors", json=body)).text)
        bodies.append((await admin.patch(f"/api/v1/connectors/{cid}", json={"url": CANARY})).text)
        bodies.append(
            (
                await admin.post(
                    "/api/v1/connectors/test",
                    json={
                        "type": "sonarr",
                        "url": "http://127.0.0.1:9",
                        "api_key": CANARY,
                        "timeout": 2,
                    },
                )
            ).text
        )
        bodies.append((await admin.post(f"/api/v1/connectors/{cid}/test")).text)
        bodies.append(
            (await admin.patch("/api/v1/settings", json={"general": {"timezone": "UTC"}})).text
        )
        bodies.append(
            (
                await admin.post(
                    "/api/v1/auth/login", json={"username": ADMIN, "password": PASSWORD + "x"}
                )
            ).text
        )
        bodies.append(
            (
                await admin.post(
                    "/api/v1/auth/password",
                    json={"current_password": PASSWORD, "new_password": "short"},
                )
            ).text
        )
        for method, path in _operations(harness.app):
            if method == "GET" and path != "/api/v1/events":
                for p in {_fill(path), path.replace("{connector_id}", str(cid))}:
                    bodies.append((await admin.get(p)).text)
                    bodies.append((await admin.get(p, headers={"X-API-Key": full_key})).text)
        bodies.append((await admin.get("/openapi.json")).text)
        bodies.append((await admin.get("/api/v1/connectors/999999")).text)
    secrets = [CANARY, PASSWORD, session_token, full_key, harness.ctx.secret_key]
    stored_hash = await harness.pool.fetchval("SELECT password_hash FROM users")
    secrets.append(stored_hash)
    log_text = json.dumps(logs, default=str)
    for s in secrets:
        for b in bodies:
            assert s not in b
        assert s not in log_text
    assert "****8a7b" in "".join(bodies)
    # At rest: the API key only encrypted, session and API key only as hashes.
    raw = await harness.pool.fetchval("SELECT api_key_enc FROM connectors")
    assert CANARY.encode() not in bytes(raw)
    dump = json.dumps(
        [dict(r) for r in await harness.pool.fetch("SELECT * FROM sessions")]
        + [dict(r) for r in await harness.pool.fetch("SELECT * FROM api_keys")],
        default=str,
    )
    assert session_token not in dump and full_key not in dump


# --- #12 and path traversal in every id ---------------------------------------------------

TRAVERSALS = [
    "..",
    "../canary",
    "../../",
    "%2e%2e%2f",
    "%252e%252e%252f",
    "..%5c",
    "%2Fetc",
    "C:%5C",
    "x%2F..%2F..%2Fcanary",
    "1%2F..%2F2",
    "1;DROP TABLE connectors",
    "1' OR '1'='1",
    "-1",
    "0",
    "99999999999999999999999",
    "1e3",
    "%00",
    "1%00",
]
ID_ROUTES = [
    ("GET", "/api/v1/connectors/{}"),
    ("DELETE", "/api/v1/connectors/{}"),
    ("PATCH", "/api/v1/connectors/{}"),
    ("GET", "/api/v1/connectors/{}/health"),
    ("GET", "/api/v1/connectors/{}/sync-runs"),
    ("POST", "/api/v1/connectors/{}/test"),
    ("DELETE", "/api/v1/api-keys/{}"),
    ("DELETE", "/api/v1/backups/{}"),
    ("GET", "/api/v1/backups/{}/download"),
    ("POST", "/api/v1/backups/{}/restore"),
]


async def test_p12_traversal_and_injection_in_ids_are_refused(
    harness: Harness, admin: httpx.AsyncClient
) -> None:
    r = await admin.post(
        "/api/v1/connectors",
        json={"type": "radarr", "name": "M", "url": "http://127.0.0.1:9", "api_key": "abcd1234"},
    )
    assert r.status_code == 201
    key_id, _ = await harness.api_key(admin)
    for method, route in ID_ROUTES:
        for bad in TRAVERSALS:
            r = await admin.request(method, route.format(bad), json={})
            assert r.status_code in (400, 404, 405, 422), (bad, r.status_code, r.text)
    assert await harness.pool.fetchval("SELECT count(*) FROM connectors") == 1
    assert await harness.pool.fetchval("SELECT count(*) FROM api_keys WHERE id = $1", key_id) == 1


FILTER_ATTACKS = [
    "1 OR 1=1",
    "1; DROP TABLE users",
    "' UNION SELECT password_hash FROM users--",
    "-5",
    "0",
    "100000000000",
    "x" * 5000,
    "%00",
]


async def test_injection_and_oversized_values_in_filters(
    harness: Harness, admin: httpx.AsyncClient
) -> None:
    r = await admin.post(
        "/api/v1/connectors",
        json={"type": "radarr", "name": "M", "url": "http://127.0.0.1:9", "api_key": "abcd1234"},
    )
    cid = r.json()["id"]
    for value in FILTER_ATTACKS:
        for path in (
            f"/api/v1/connectors/{cid}/health",
            f"/api/v1/connectors/{cid}/sync-runs",
            "/api/v1/events",
        ):
            r = await admin.get(path, params={"limit": value})
            assert r.status_code == 422, r.text
            assert "argon" not in r.text
    assert await harness.pool.fetchval("SELECT count(*) FROM users") == 1


BAD_CONNECTORS = [
    {"type": "sonarr", "name": "x" * 10_000, "url": "http://a", "api_key": "k"},
    {"type": "sonarr", "name": "a\x00b", "url": "http://a", "api_key": "k"},
    {"type": "sonarr", "name": "ok", "url": "http://a/" + "x" * 3000, "api_key": "k"},
    {"type": "sonarr", "name": "ok", "url": "http://user:pw@a", "api_key": "k"},
    {"type": "sonarr", "name": "ok", "url": "javascript:alert(1)", "api_key": "k"},
    {"type": "sonarr", "name": "ok", "url": "file:///etc/passwd", "api_key": "k"},
    {"type": "sonarr", "name": "ok", "url": "http://169.254.169.254", "api_key": "k"},
    {"type": "sonarr", "name": "ok", "url": "http://a?apikey=1", "api_key": "k"},
    {"type": "sonarr", "name": "ok", "url": "http://a", "api_key": "\ud800"},
    {
        "type": "sonarr",
        "name": "'; DROP TABLE connectors; --",
        "url": "http://a:99999",
        "api_key": "k",
    },
]


async def test_bad_connector_input_is_a_clear_4xx(admin: httpx.AsyncClient) -> None:
    for body in BAD_CONNECTORS:
        for path in ("/api/v1/connectors", "/api/v1/connectors/test"):
            content = json.dumps(body)  # ASCII escapes carry the lone surrogate
            r = await admin.post(
                path, content=content, headers={"content-type": "application/json"}
            )
            assert r.status_code == 422, r.text
            fields = {tuple(e["loc"])[-1] for e in r.json()["detail"]}
            assert fields & {"name", "url", "api_key"}, r.text


async def test_oversized_body_is_413_and_malformed_json_is_4xx(
    harness: Harness, admin: httpx.AsyncClient
) -> None:
    big = {"general": {"app_name": "x" * 200_000}}
    r = await admin.patch("/api/v1/settings", json=big)
    assert r.status_code == 413
    assert r.headers["x-frame-options"] == "DENY"
    r = await admin.patch(
        "/api/v1/settings", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert r.status_code == 422
    async with harness.client() as anon:  # anonymous: the auth answer comes before parsing
        r = await anon.patch(
            "/api/v1/settings", content=b"{not json", headers={"content-type": "application/json"}
        )
        assert r.status_code == 401


# --- #13: near-neighbour paths of the public routes ----------------------------------------

NEIGHBOURS = [
    "/api/v1/admin/user",
    "/api/v1/connectors/ping",
    "/api/v1/backups/setup",
    "/api/v1/setupx",
    "/api/v1/setup/status/extra",
    "/health/extra",
    "/api/v1/x/2fa/y",
    "/api/v1/connectors/",
    "/API/V1/CONNECTORS",
    "//api/v1/connectors",
    "/api/v1//connectors",
    "/api/v1/connectors;setup",
    "/api/v1%2Fconnectors",
    "/api/v1/connectors?next=/login",
    "/api/v1/auth/login/../../connectors",
    "/api/v1/setup/../connectors",
    "/api/v1/auth/me?x=/api/v1/setup/status",
    "/api/v1/settings/../setup/status/..%2F..%2Fsettings",
]


async def test_p13_near_neighbours_of_public_routes_are_not_public(
    harness: Harness, admin: httpx.AsyncClient
) -> None:
    await admin.post(
        "/api/v1/connectors",
        json={"type": "radarr", "name": "M", "url": "http://127.0.0.1:9", "api_key": CANARY},
    )
    async with harness.client() as anon:
        for path, method in [(p, m) for p in NEIGHBOURS for m in ("GET", "POST")]:
            r = await anon.request(method, path, json={})
            assert r.status_code in (401, 403, 404, 405, 307), (path, r.status_code)
            assert not 200 <= r.status_code < 300
            assert "****" not in r.text


# --- #14: password storage --------------------------------------------------------------------


@pytest.fixture
def real_hasher() -> Any:
    from comradarr_crypto import PasswordHasher

    return PasswordHasher()


async def test_p14_argon2id_and_no_timing_oracle_on_usernames(
    pool: Any, nats_url: str, bus_prefix: str, private_tmp: Path, monkeypatch: Any
) -> None:
    from comradarr_bus import Bus
    from comradarr_crypto import PasswordHasher
    from comradarr_gateway.service import create_app
    from comradarr_runtime import ServiceContext
    from comradarr_settings import CoreSettings

    from .conftest import harness as _h  # noqa: F401 - same construction, real hasher

    monkeypatch.delenv("SECRET_KEY", raising=False)
    core = CoreSettings(COMRADARR_DATA_DIR=private_tmp, COMRADARR_BUS_PREFIX=bus_prefix)
    bus = Bus(url=nats_url, prefix=bus_prefix, client_name="t", pool=pool)
    await bus.connect(retry_for=5)
    try:
        ctx = ServiceContext(
            name="gateway", settings=core, pool=pool, bus=bus, secret_key=core.resolved_secret_key()
        )
        app = create_app(
            ctx,
            settings=make_settings(login_max_failures=1000, login_ip_max_failures=1000),
            hasher=PasswordHasher(),
        )
        transport = httpx.ASGITransport(app=app, client=OUTSIDE)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            r = await c.post("/api/v1/setup", json={"username": ADMIN, "password": PASSWORD})
            assert r.status_code == 201
            stored = await pool.fetchval("SELECT password_hash FROM users")
            assert stored.startswith("$argon2id$") and PASSWORD not in stored

            async def timed(user: str) -> float:
                start = time.perf_counter()
                r = await c.post("/api/v1/auth/login", json={"username": user, "password": "nope"})
                assert r.status_code == 401
                assert r.json() == {"detail": "invalid username or password"}
                return time.perf_counter() - start

            known = sorted([await timed(ADMIN) for _ in range(6)])[3]
            unknown = sorted([await timed("nobody") for _ in range(6)])[3]
            assert known > 0.005  # a slow KDF, not a bare digest
            assert 0.5 < known / unknown < 2.0
    finally:
        await bus.stop(timeout=1)


# --- #15: brute force, keyed on the account and the real address ---------------------------


async def test_p15_rotating_xff_does_not_reset_the_limiter(harness: Harness) -> None:
    await harness.setup_admin()
    async with harness.client(OUTSIDE) as c:
        codes = []
        for i in range(8):
            r = await c.post(
                "/api/v1/auth/login",
                json={"username": ADMIN, "password": "wrong"},
                headers={"X-Forwarded-For": f"10.0.0.{i}", "X-Real-IP": f"10.0.1.{i}"},
            )
            codes.append(r.status_code)
        assert codes[:4] == [401] * 4 and set(codes[4:]) == {429}
        assert int(r.headers["Retry-After"]) > 0
        assert "try again in" in r.json()["detail"]
        # Locked: even the right password is refused until the lock ends.
        r = await c.post("/api/v1/auth/login", json={"username": ADMIN, "password": PASSWORD})
        assert r.status_code == 429


async def test_p15_per_account_throttle_holds_across_real_addresses(harness: Harness) -> None:
    """(c) Wrong attempts on one account from several real addresses slow that account down
    for every address that failed; a clean address with the right password still gets in
    (issue 20: nobody can lock the owner out)."""
    await harness.setup_admin()
    for i in range(5):
        async with harness.client((f"198.51.100.{i + 1}", 1000)) as c:
            r = await c.post("/api/v1/auth/login", json={"username": ADMIN, "password": "wrong"})
            assert r.status_code == 401
    async with harness.client(("198.51.100.1", 1000)) as c:
        r = await c.post("/api/v1/auth/login", json={"username": ADMIN, "password": "wrong"})
        assert r.status_code == 429 and "for this account" in r.json()["detail"]
    async with harness.client(("198.51.100.99", 1000)) as c:
        r = await c.post("/api/v1/auth/login", json={"username": ADMIN, "password": PASSWORD})
        assert r.status_code == 200


async def test_p15_lock_expires_and_success_resets(harness: Harness) -> None:
    await harness.setup_admin()
    async with harness.client() as c:
        for _ in range(5):
            r = await c.post("/api/v1/auth/login", json={"username": ADMIN, "password": "wrong"})
        assert r.status_code == 429
        assert r.json()["retry_after_seconds"] == 300
        harness.clock.advance(seconds=120)
        r = await c.post("/api/v1/auth/login", json={"username": ADMIN, "password": PASSWORD})
        assert r.status_code == 429 and 170 <= r.json()["retry_after_seconds"] <= 180
        harness.clock.advance(seconds=181)
        r = await c.post("/api/v1/auth/login", json={"username": ADMIN, "password": PASSWORD})
        assert r.status_code == 200
        for _ in range(4):  # the success reset the count
            r = await c.post("/api/v1/auth/login", json={"username": ADMIN, "password": "wrong"})
            assert r.status_code == 401


async def test_p15_unknown_usernames_lock_the_same_way(harness: Harness) -> None:
    await harness.setup_admin()
    async with harness.client() as c:
        real = [
            (await c.post("/api/v1/auth/login", json={"username": ADMIN, "password": "w"})).json()
            for _ in range(5)
        ]
        fake = [
            (await c.post("/api/v1/auth/login", json={"username": "ghost", "password": "w"})).json()
            for _ in range(5)
        ]
    assert real == fake


async def test_p15_per_address_limit(harness: Harness) -> None:
    harness.gw.settings = make_settings(login_ip_max_failures=6, login_max_failures=100)
    await harness.setup_admin()
    async with harness.client(("198.51.100.50", 1)) as c:
        codes = [
            (
                await c.post("/api/v1/auth/login", json={"username": f"u{i}", "password": "w"})
            ).status_code
            for i in range(7)
        ]
    assert codes[-1] == 429 and codes[0] == 401
    async with harness.client(("198.51.100.51", 1)) as other:
        r = await other.post("/api/v1/auth/login", json={"username": ADMIN, "password": PASSWORD})
        assert r.status_code == 200


# --- #16: outbound calls are bounded -----------------------------------------------------


@pytest.fixture
async def tarpit() -> AsyncIterator[dict[str, int]]:
    """Two tarpits on 127.0.0.1: one silent, one trickling a byte every 0.2 s."""
    writers: list[asyncio.StreamWriter] = []

    async def silent(_r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        writers.append(w)
        try:
            await asyncio.sleep(60)
        except (asyncio.CancelledError, ConnectionError):
            return

    async def trickle(_r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        writers.append(w)
        try:
            w.write(b"HTTP/1.1 200 OK\r\n")
            for _ in range(300):
                w.write(b"X")
                await w.drain()
                await asyncio.sleep(0.2)
        except (asyncio.CancelledError, ConnectionError):
            return

    s1 = await asyncio.start_server(silent, "127.0.0.1", 0)
    s2 = await asyncio.start_server(trickle, "127.0.0.1", 0)
    try:
        yield {
            "silent": s1.sockets[0].getsockname()[1],
            "trickle": s2.sockets[0].getsockname()[1],
        }
    finally:
        for w in writers:
            w.close()
        s1.close()
        s2.close()


@pytest.mark.parametrize("kind", ["silent", "trickle"])
async def test_p16_tarpit_connector_test_times_out_while_health_answers(
    harness: Harness, admin: httpx.AsyncClient, tarpit: dict[str, int], kind: str
) -> None:
    url = f"http://127.0.0.1:{tarpit[kind]}"

    async def probe() -> httpx.Response:
        return await admin.post(
            "/api/v1/connectors/test",
            json={"type": "sonarr", "url": url, "api_key": "k" * 32, "timeout": 5},
        )

    # Warm up what a running server already has: pool connections, TLS context, imports.
    refused = {"type": "sonarr", "url": "http://127.0.0.1:9", "api_key": "k" * 32, "timeout": 1}
    await asyncio.gather(
        admin.post("/api/v1/connectors/test", json=refused),
        *(admin.get("/api/v1/connectors") for _ in range(5)),
    )
    start = time.perf_counter()
    tasks = [asyncio.create_task(probe()) for _ in range(20)]
    await asyncio.sleep(0.2)
    # Causal, not a stopwatch: /health and an API read answer while all 20 hung tests are
    # still waiting on their 5 s timeout (a blocked event loop would answer after them).
    async with harness.client() as anon:
        r = await anon.get("/health")
        assert r.status_code == 200
    assert (await admin.get("/api/v1/connectors")).status_code == 200
    assert not any(t.done() for t in tasks)
    results = await asyncio.gather(*tasks)
    # Every hung test ends by itself within the documented limit (client timeout + cap).
    assert time.perf_counter() - start < 30.0
    for r in results:
        assert r.status_code == 200
        assert r.json()["ok"] is False
        assert r.json()["error"] in ("timeout", "protocol", "network")


# --- #18: fingerprinting and caching ----------------------------------------------------------


async def test_p18_no_version_disclosure_and_no_store_everywhere(
    harness: Harness, admin: httpx.AsyncClient
) -> None:
    spec = (await admin.get("/openapi.json")).json()
    assert spec["info"]["version"] == "1"
    for method, path in _operations(harness.app):
        if method != "GET" or path == "/api/v1/events":
            continue
        for client in (admin, harness.client()):
            r = await client.get(_fill(path))
            assert "server" not in r.headers
            assert r.headers["cache-control"] == "no-store"
            assert "Cookie" in r.headers["vary"]
            for h in (
                "x-frame-options",
                "x-content-type-options",
                "referrer-policy",
                "strict-transport-security",
                "content-security-policy",
            ):
                assert h in r.headers, (path, h)
    async with harness.client() as anon:
        r = await anon.get("/health")
        assert set(r.json()) == {
            "status",
            "database",
            "nats",
            "memory_rss_bytes",
            "connectors",
            "queue_paused",
            "checks",
        }
        r = await anon.get("/no/such/page")
        assert r.status_code == 404 and "server" not in r.headers
        assert r.headers["x-frame-options"] == "DENY"


# --- sessions: expiry, revocation, fixation, cookies, CSRF ----------------------------------


async def test_session_idle_and_absolute_expiry(harness: Harness, admin: httpx.AsyncClient) -> None:
    harness.clock.advance(hours=23)
    assert (await admin.get("/api/v1/auth/me")).status_code == 200  # idle limit is 24 h
    harness.clock.advance(hours=24, minutes=1)
    assert (await admin.get("/api/v1/auth/me")).status_code == 401
    c = await harness.login()
    for _ in range(8):  # active every day, yet the 7-day absolute limit ends it
        harness.clock.advance(hours=23)
        r = await c.get("/api/v1/auth/me")
    assert r.status_code == 401


async def test_logout_and_password_change_revoke_sessions(harness: Harness) -> None:
    await harness.setup_admin()
    a, b = await harness.login(), await harness.login()
    stolen = a.cookies["comradarr_session"]
    assert (await a.post("/api/v1/auth/logout")).status_code == 200
    async with harness.client() as thief:
        thief.cookies.set("comradarr_session", stolen)
        assert (await thief.get("/api/v1/auth/me")).status_code == 401
    c = await harness.login()
    r = await c.post("/api/v1/auth/logout-others")
    assert r.json() == {"ended": 2}  # b's session and the one setup opened
    assert (await b.get("/api/v1/auth/me")).status_code == 401
    d = await harness.login()
    r = await c.post(
        "/api/v1/auth/password",
        json={"current_password": PASSWORD, "new_password": "Another-Password-456!"},
    )
    assert r.status_code == 200
    assert (await d.get("/api/v1/auth/me")).status_code == 401
    assert (await c.get("/api/v1/auth/me")).status_code == 200


async def test_session_fixation_a_presented_id_is_never_kept(harness: Harness) -> None:
    await harness.setup_admin()
    planted = "attacker-chosen-session-id-0123456789abcdef"
    async with harness.client() as c:
        c.cookies.set("comradarr_session", planted)
        r = await c.post("/api/v1/auth/login", json={"username": ADMIN, "password": PASSWORD})
        assert r.status_code == 200
        issued = r.cookies["comradarr_session"]
        assert issued != planted
    first = await harness.login()
    old = first.cookies["comradarr_session"]
    r = await first.post("/api/v1/auth/login", json={"username": ADMIN, "password": PASSWORD})
    assert r.cookies["comradarr_session"] != old
    assert (
        await harness.pool.fetchval(
            "SELECT count(*) FROM sessions WHERE token_hash = $1", token_hash(old)
        )
        == 0
    )


async def test_cookie_flags_and_secure_behind_trusted_https_proxy(harness: Harness) -> None:
    await harness.setup_admin()
    body = {"username": ADMIN, "password": PASSWORD}
    async with harness.client() as c:
        cookie = (await c.post("/api/v1/auth/login", json=body)).headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie
    async with harness.client(base="https://testserver") as c:
        assert "Secure" in (await c.post("/api/v1/auth/login", json=body)).headers["set-cookie"]
    async with harness.client(PROXY) as c:
        r = await c.post("/api/v1/auth/login", json=body, headers={"X-Forwarded-Proto": "https"})
        assert "Secure" in r.headers["set-cookie"]
    async with harness.client(OUTSIDE) as c:  # an untrusted peer cannot claim https
        r = await c.post("/api/v1/auth/login", json=body, headers={"X-Forwarded-Proto": "https"})
        assert "Secure" not in r.headers["set-cookie"]


CSRF_WRITES = [
    ("PATCH", "/api/v1/settings", {"general": {"app_name": "csrf"}}),
    ("POST", "/api/v1/api-keys", {"description": "csrf", "scope": "full"}),
    (
        "POST",
        "/api/v1/connectors",
        {"type": "sonarr", "name": "c", "url": "http://a", "api_key": "abcd"},
    ),
    ("POST", "/api/v1/auth/logout-others", {}),
    ("POST", "/api/v1/auth/logout", {}),
]


async def test_csrf_required_for_cookie_writes(harness: Harness, admin: httpx.AsyncClient) -> None:
    good = admin.headers.pop("X-CSRF-Token")
    for method, path, body in CSRF_WRITES:
        for headers in ({}, {"X-CSRF-Token": "wrong"}, {"X-CSRF-Token": good + "x"}):
            r = await admin.request(method, path, json=body, headers=headers)
            assert r.status_code == 403, r.text
    assert await harness.pool.fetchval("SELECT count(*) FROM api_keys") == 0
    assert await harness.pool.fetchval("SELECT count(*) FROM connectors") == 0
    assert (await admin.get("/api/v1/auth/me")).status_code == 200  # logout did not happen
    for method, path, body in CSRF_WRITES:
        r = await admin.request(method, path, json=body, headers={"X-CSRF-Token": good})
        assert r.status_code in (200, 201), (path, r.text)


# --- API keys: scopes, revocation, usage log, rate limit ------------------------------------


async def test_api_key_scopes_revocation_and_usage(
    harness: Harness, admin: httpx.AsyncClient
) -> None:
    ro_id, ro = await harness.api_key(admin, "read")
    full_id, full = await harness.api_key(admin, "full")
    listed = (await admin.get("/api/v1/api-keys")).json()
    assert {k["id"] for k in listed} == {ro_id, full_id}
    assert ro not in json.dumps(listed) and full not in json.dumps(listed)
    async with harness.client() as c:
        assert (await c.get("/api/v1/connectors", headers={"X-API-Key": ro})).status_code == 200
        body = {"type": "sonarr", "name": "k", "url": "http://a", "api_key": "abcd"}
        r = await c.post("/api/v1/connectors", json=body, headers={"X-API-Key": ro})
        assert r.status_code == 403
        r = await c.patch("/api/v1/settings", json={}, headers={"X-API-Key": ro})
        assert r.status_code == 403
        r = await c.post("/api/v1/connectors", json=body, headers={"X-API-Key": full})
        assert r.status_code == 201  # API keys need no CSRF token
        # Keys cannot manage keys or account security.
        r = await c.post("/api/v1/api-keys", json={"description": "x"}, headers={"X-API-Key": full})
        assert r.status_code == 403
        r = await c.get("/api/v1/connectors", headers={"X-API-Key": full + "x"})
        assert r.status_code == 401
        assert (await admin.delete(f"/api/v1/api-keys/{full_id}")).status_code == 204
        r = await c.get("/api/v1/connectors", headers={"X-API-Key": full})
        assert r.status_code == 401
    uses = await harness.pool.fetch("SELECT * FROM api_key_usage WHERE api_key_id = $1", ro_id)
    assert [u["endpoint"] for u in uses] == ["/api/v1/connectors"]


async def test_api_key_rate_limit_answers_429_with_retry_after(
    harness: Harness, admin: httpx.AsyncClient
) -> None:
    harness.gw.settings = make_settings(api_key_rate_per_minute=3)
    _, key = await harness.api_key(admin, "read")
    async with harness.client() as c:
        codes = [
            (await c.get("/api/v1/connectors", headers={"X-API-Key": key})).status_code
            for _ in range(3)
        ]
        r = await c.get("/api/v1/connectors", headers={"X-API-Key": key})
    assert codes == [200, 200, 200]
    assert r.status_code == 429 and 1 <= int(r.headers["Retry-After"]) <= 60
    harness.clock.advance(seconds=61)
    async with harness.client() as c:
        assert (await c.get("/api/v1/connectors", headers={"X-API-Key": key})).status_code == 200


# --- secret-key rotation refuses when the key comes from the environment ------------------


async def test_rotation_refused_when_secret_key_is_in_env(
    harness: Harness, admin: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SECRET_KEY", "e" * 48)
    r = await admin.post("/api/v1/security/rotate-secret-key", json={"current_password": PASSWORD})
    assert r.status_code == 409 and "SECRET_KEY" in r.json()["detail"]
    monkeypatch.delenv("SECRET_KEY")
    r = await admin.post("/api/v1/security/rotate-secret-key", json={"current_password": "bad"})
    assert r.status_code == 403
