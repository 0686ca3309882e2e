"""First contact: setup, login, me, a connector round trip."""

from __future__ import annotations

import httpx
import pytest

from .conftest import Harness

pytestmark = pytest.mark.integration


async def test_setup_login_me(harness: Harness, admin: httpx.AsyncClient) -> None:
    r = await admin.get("/api/v1/auth/me")
    assert r.status_code == 200, r.text
    assert r.json()["username"] == "admin"
    assert r.json()["auth_mode"] == "session"
    r = await admin.post(
        "/api/v1/connectors",
        json={"type": "sonarr", "name": "TV", "url": "http://127.0.0.1:9", "api_key": "k" * 32},
    )
    assert r.status_code == 201, r.text
    assert r.json()["api_key_masked"] == "****kkkk"
    r = await admin.get("/api/v1/health")
    assert r.status_code == 404
    async with harness.client() as anon:
        r = await anon.get("/health")
        assert r.status_code == 200, r.text
        # Tested as it was saved: nothing answers at port 9.
        assert r.json()["connectors"] == {"offline": 1}
