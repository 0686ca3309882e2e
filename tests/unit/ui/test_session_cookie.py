"""The UI's session cookie handoff and its security headers."""

from __future__ import annotations

import httpx
import pytest
from comradarr_gateway.middleware import SECURITY_HEADERS as GATEWAY_HEADERS
from comradarr_ui import session
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route


def _app() -> httpx.AsyncClient:
    async def page(_request: object) -> PlainTextResponse:
        return PlainTextResponse("a page")

    inner = Starlette(routes=[Route("/", page)])
    outer = session.routes()
    outer.mount("", inner)
    transport = httpx.ASGITransport(app=session.SecurityHeaders(outer))
    return httpx.AsyncClient(transport=transport, base_url="http://ui.test")


def test_a_handoff_token_is_good_once() -> None:
    token = session.handoff("gw-session-1")
    assert session.take(token) == "gw-session-1"
    assert session.take(token) is None
    assert session.take("made-up") is None


def test_an_old_handoff_token_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    token = session.handoff("gw-session-2")
    real = session.time.monotonic
    monkeypatch.setattr(session.time, "monotonic", lambda: real() + session.HANDOFF_SECONDS + 1)
    assert session.take(token) is None


async def test_claim_sets_an_httponly_strict_cookie_and_clear_removes_it() -> None:
    client = _app()
    token = session.handoff("gw-session-3")
    r = await client.post(session.CLAIM_PATH, json={"token": token})
    assert r.status_code == 204
    cookie = r.headers["set-cookie"]
    assert cookie.startswith(f"{session.COOKIE}=gw-session-3;")
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie  # plain http here; https adds it
    assert session.from_cookie_header(f"a=b; {session.COOKIE}=gw-session-3") == "gw-session-3"
    # Used once: a replay gets nothing.
    assert (await client.post(session.CLAIM_PATH, json={"token": token})).status_code == 403
    r = await client.post(session.CLEAR_PATH)
    assert r.status_code == 204 and 'comradarr_ui_session=""' in r.headers["set-cookie"]


async def test_claim_over_https_is_secure_and_cross_site_requests_are_refused() -> None:
    client = _app()
    r = await client.post(
        session.CLAIM_PATH,
        json={"token": session.handoff("s")},
        headers={"X-Forwarded-Proto": "https"},
    )
    assert r.status_code == 204 and "Secure" in r.headers["set-cookie"]
    r = await client.post(
        session.CLAIM_PATH,
        json={"token": session.handoff("s")},
        headers={"Origin": "https://evil.example"},
    )
    assert r.status_code == 403 and "set-cookie" not in r.headers
    assert (
        await client.post(session.CLEAR_PATH, headers={"Origin": "http://evil"})
    ).status_code == 403
    assert (await client.post(session.CLAIM_PATH, content=b"not json")).status_code == 400


async def test_every_answer_carries_the_gateways_security_headers() -> None:
    r = await _app().get("/")
    assert r.status_code == 200 and r.text == "a page"
    # Caching headers are the API's own business; the rest the UI sends too.
    wanted = {k.decode() for k, _ in GATEWAY_HEADERS} - {"cache-control", "pragma", "vary"}
    assert wanted <= set(r.headers)
    csp = r.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
    assert r.headers["x-frame-options"] == "DENY"
