"""Issue 20, "nobody locks the owner out": brute force is kept out without a denial of service.

Failures count per (username, address) and per address (both lock); per username across
addresses they only delay addresses that already failed. A correct password from an address
without failures always gets in. Forwarded headers count only from trusted proxies.
"""

from __future__ import annotations

import httpx
import pytest

from .conftest import ADMIN, OUTSIDE, PASSWORD, PROXY, Harness

pytestmark = pytest.mark.integration

WRONG = {"username": ADMIN, "password": "wrong-password"}
RIGHT = {"username": ADMIN, "password": PASSWORD}


async def _login(harness: Harness, peer: tuple[str, int], body: dict[str, str]) -> httpx.Response:
    async with harness.client(peer) as c:
        return await c.post("/api/v1/auth/login", json=body)


async def test_five_wrong_passwords_from_one_address_do_not_block_the_owner_elsewhere(
    harness: Harness,
) -> None:
    await harness.setup_admin()
    attacker, owner = ("203.0.113.50", 1), ("198.51.100.7", 1)
    codes = [(await _login(harness, attacker, WRONG)).status_code for _ in range(6)]
    assert codes == [401] * 4 + [429] * 2
    # The attacker's address is locked for this account, even with the right password.
    r = await _login(harness, attacker, RIGHT)
    assert r.status_code == 429 and int(r.headers["Retry-After"]) > 0
    # The owner, from anywhere else, signs in at once.
    assert (await _login(harness, owner, RIGHT)).status_code == 200


async def test_a_distributed_guess_slows_down_but_never_locks_out(harness: Harness) -> None:
    await harness.setup_admin()
    attackers = [(f"203.0.113.{i}", 1) for i in range(1, 11)]
    for peer in attackers[:5]:
        assert (await _login(harness, peer, WRONG)).status_code == 401
    # Five failures across addresses: addresses that failed wait 1 s, then 2, 4 ...
    r = await _login(harness, attackers[0], WRONG)
    assert r.status_code == 429 and r.headers["Retry-After"] == "1"
    assert "for this account" in r.json()["detail"]
    harness.clock.advance(seconds=1)
    assert (await _login(harness, attackers[0], WRONG)).status_code == 401
    r = await _login(harness, attackers[1], WRONG)
    assert r.status_code == 429 and r.headers["Retry-After"] == "2"
    # A new address gets one try; a wrong one makes it wait like the others.
    assert (await _login(harness, attackers[6], WRONG)).status_code == 401
    assert (await _login(harness, attackers[6], WRONG)).status_code == 429
    # The delay is capped (60 s by default) however long the attack goes on; the count
    # starts again only after a whole window (15 min) without failures.
    for i in range(20):
        harness.clock.advance(seconds=61)
        await _login(harness, attackers[i % 10], WRONG)
    r = await _login(harness, attackers[0], WRONG)
    assert r.status_code == 429 and int(r.headers["Retry-After"]) <= 60
    # Through all of it, the owner from a clean address gets in.
    assert (await _login(harness, ("198.51.100.7", 1), RIGHT)).status_code == 200


async def test_success_clears_the_counters_of_that_address_and_account(harness: Harness) -> None:
    await harness.setup_admin()
    for i in range(4):
        assert (await _login(harness, (f"203.0.113.{i}", 1), WRONG)).status_code == 401
    assert (await _login(harness, ("203.0.113.0", 1), RIGHT)).status_code == 200
    rows = await harness.pool.fetch("SELECT kind, subject FROM login_failures ORDER BY kind")
    assert {(r["kind"], r["subject"]) for r in rows} == {
        ("ip", f"203.0.113.{i}") for i in range(1, 4)
    } | {("pair", f"203.0.113.{i} admin") for i in range(1, 4)}


async def test_addresses_behind_a_trusted_proxy_count_apart_and_spoofs_do_not(
    harness: Harness,
) -> None:
    await harness.setup_admin()
    async with harness.client(PROXY) as proxy:
        for _ in range(5):
            await proxy.post(
                "/api/v1/auth/login", json=WRONG, headers={"X-Forwarded-For": "203.0.113.80"}
            )
        r = await proxy.post(
            "/api/v1/auth/login", json=RIGHT, headers={"X-Forwarded-For": "203.0.113.80"}
        )
        assert r.status_code == 429
        r = await proxy.post(
            "/api/v1/auth/login", json=RIGHT, headers={"X-Forwarded-For": "198.51.100.3"}
        )
        assert r.status_code == 200
    # An untrusted peer claiming a clean address through the header is still itself.
    async with harness.client(OUTSIDE) as c:
        for _ in range(5):
            await c.post("/api/v1/auth/login", json=WRONG)
        r = await c.post(
            "/api/v1/auth/login", json=RIGHT, headers={"X-Forwarded-For": "198.51.100.4"}
        )
        assert r.status_code == 429


async def test_the_address_limit_holds_across_usernames(harness: Harness) -> None:
    await harness.setup_admin()
    peer = ("203.0.113.90", 1)
    harness.gw.settings = harness.gw.settings.model_copy(update={"login_ip_max_failures": 8})
    codes = [
        (await _login(harness, peer, {"username": f"guess{i}", "password": "x"})).status_code
        for i in range(9)
    ]
    assert codes == [401] * 7 + [429] * 2
    assert (await _login(harness, peer, RIGHT)).status_code == 429
    harness.clock.advance(seconds=301)
    assert (await _login(harness, peer, RIGHT)).status_code == 200


async def test_sessions_listed_and_revoked_one_by_one(harness: Harness) -> None:
    await harness.setup_admin()
    laptop = await harness.login(("198.51.100.10", 1))
    phone = await harness.login(("198.51.100.11", 1))
    listed = (await laptop.get("/api/v1/auth/sessions")).json()
    assert len(listed) == 3  # setup's, the laptop's and the phone's
    assert [s["current"] for s in listed].count(True) == 1
    mine = next(s for s in listed if s["current"])
    assert mine["client_ip"] == "198.51.100.10"
    phone_id = next(s["id"] for s in listed if s["client_ip"] == "198.51.100.11")
    assert "token" not in str(listed) and "csrf" not in str(listed)
    # The phone is signed out; the laptop is not.
    assert (await laptop.delete(f"/api/v1/auth/sessions/{phone_id}")).status_code == 204
    assert (await phone.get("/api/v1/auth/me")).status_code == 401
    assert (await laptop.get("/api/v1/auth/me")).status_code == 200
    assert (await laptop.delete(f"/api/v1/auth/sessions/{phone_id}")).status_code == 404
    # API keys cannot list or end sessions; revoking the current one signs it out.
    _, key = await harness.api_key(laptop, "full")
    async with harness.client() as c:
        r = await c.get("/api/v1/auth/sessions", headers={"X-API-Key": key})
        assert r.status_code == 403
    r = await laptop.delete(f"/api/v1/auth/sessions/{mine['id']}")
    assert r.status_code == 204 and "comradarr_session=" in r.headers["set-cookie"]
    assert (await laptop.get("/api/v1/auth/me")).status_code == 401


async def test_setup_status_names_the_app(harness: Harness) -> None:
    async with harness.client() as anon:
        assert (await anon.get("/api/v1/setup/status")).json() == {
            "setup_required": True,
            "app_name": "Comradarr",
        }
    await harness.setup_admin()
    admin = await harness.login()
    r = await admin.patch("/api/v1/settings", json={"general": {"app_name": "Media Butler"}})
    assert r.status_code == 200
    harness.gw.forget_settings()
    async with harness.client() as anon:
        assert (await anon.get("/api/v1/setup/status")).json()["app_name"] == "Media Butler"
