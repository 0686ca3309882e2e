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
