"""Sign-in that survives a new tab and a restart of the UI, and the UI's security headers.

Reflex talks to the browser over a websocket, which cannot set cookies. So after a login the
backend hands the browser a one-time token (random, 60 s, used once) and the page posts it
to ``/_session/claim``, an ordinary HTTP route of this app whose answer sets the cookie:
HttpOnly (page scripts never see it), SameSite=Strict, Secure over HTTPS, Path=/. It holds
the gateway's session token, which stays valid only as long as the gateway says (a revoked
or expired session signs the browser out). The browser sends the cookie with the websocket's
opening request, where the backend reads it (``router.headers.cookie``; Reflex never sends
request cookies to the page) when a tab has no session yet: a new tab, or any tab after the
UI restarted. ``/_session/clear`` deletes it at logout.

Every HTTP answer of the UI carries the headers the gateway sends (``SecurityHeaders``),
with a content security policy a Reflex page can live with.
"""

from __future__ import annotations

import json
import secrets
import time
from http.cookies import SimpleCookie

import reflex as rx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

COOKIE = "comradarr_ui_session"
CLAIM_PATH = "/_session/claim"
CLEAR_PATH = "/_session/clear"
HANDOFF_SECONDS = 60.0
COOKIE_MAX_AGE = 30 * 24 * 3600  # the gateway decides how long the session really lives

# The gateway's headers (comradarr_gateway.middleware.SECURITY_HEADERS) for a web app: its
# CSP allows what a Reflex page needs: its own scripts (inline ones and eval too: Reflex
# runs rx.call_script through eval), inline styles (emotion), its websocket, data: images.
SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (
        b"content-security-policy",
        b"default-src 'self'; script-src 'self' 'unsafe-inline' 'unsafe-eval';"
        b" style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self' data:;"
        b" connect-src 'self' ws: wss:; object-src 'none'; base-uri 'self';"
        b" form-action 'self'; frame-ancestors 'none'",
    ),
    (b"strict-transport-security", b"max-age=63072000; includeSubDomains"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
)
_OWN = {name for name, _ in SECURITY_HEADERS}

_handoffs: dict[str, tuple[str, float]] = {}


def handoff(gateway_session: str) -> str:
    """A one-time token the page trades for the session cookie."""
    now = time.monotonic()
    for token, (_, at) in list(_handoffs.items()):
        if now - at > HANDOFF_SECONDS:
            _handoffs.pop(token, None)
    token = secrets.token_urlsafe(32)
    _handoffs[token] = (gateway_session, now)
    return token


def take(token: str) -> str | None:
    """The session a token stands for, once, within its time; None otherwise."""
    found = _handoffs.pop(token, None)
    if found is None or time.monotonic() - found[1] > HANDOFF_SECONDS:
        return None
    return found[0]


def from_cookie_header(header: str) -> str:
    """The session cookie's value in a Cookie header ('' when absent)."""
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(header or "")
    except Exception:  # a malformed header is just no session
        return ""
    morsel = jar.get(COOKIE)
    return morsel.value if morsel is not None else ""


def _base() -> str:
    """BASE_URL as the UI is served under it ('' at the root): the handoff routes follow it."""
    return str(rx.config.get_config().frontend_path or "").strip().rstrip("/")


def claim_script(token: str) -> str:
    """The page's side of the handoff (the token is URL-safe base64: nothing to escape)."""
    body = json.dumps({"token": token})
    return (
        f"fetch('{_base()}{CLAIM_PATH}', {{method: 'POST', credentials: 'same-origin',"
        f" headers: {{'Content-Type': 'application/json'}}, body: '{body}'}})"
    )


def clear_script() -> str:
    """The page's side of logout: the cookie goes."""
    return f"fetch('{_base()}{CLEAR_PATH}', {{method: 'POST', credentials: 'same-origin'}})"


def _secure(request: Request) -> bool:
    proto = request.headers.get("x-forwarded-proto", request.url.scheme)
    return proto.split(",")[0].strip().lower() == "https"


def _same_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    if origin is None:
        return True  # not a browser's cross-site request (those always send Origin)
    host = request.headers.get("x-forwarded-host") or request.headers.get("host", "")
    return origin.split("://", 1)[-1] == host


async def _claim(request: Request) -> Response:
    if not _same_origin(request):
        return Response(status_code=403)
    try:
        token = str((await request.json()).get("token", ""))
    except Exception:
        return Response(status_code=400)
    value = take(token)
    if not value:
        return Response(status_code=403)
    response = Response(status_code=204)
    response.set_cookie(
        COOKIE,
        value,
        max_age=COOKIE_MAX_AGE,
        path="/",
        httponly=True,
        samesite="strict",
        secure=_secure(request),
    )
    return response


async def _clear(request: Request) -> Response:
    if not _same_origin(request):
        return Response(status_code=403)
    response = Response(status_code=204)
    response.delete_cookie(
        COOKIE, path="/", httponly=True, samesite="strict", secure=_secure(request)
    )
    return response


def routes() -> Starlette:
    """The two HTTP routes of the cookie handoff (mounted before Reflex's own)."""
    # At the root and under BASE_URL: a proxy forwards the prefixed path unchanged.
    prefixes = {"", _base()}
    return Starlette(
        routes=[
            route
            for prefix in sorted(prefixes)
            for route in (
                Route(prefix + CLAIM_PATH, _claim, methods=["POST"]),
                Route(prefix + CLEAR_PATH, _clear, methods=["POST"]),
            )
        ]
    )


class SecurityHeaders:
    """ASGI middleware: every HTTP answer carries SECURITY_HEADERS (websockets untouched)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k not in _OWN]
                message = {**message, "headers": [*headers, *SECURITY_HEADERS]}
            await send(message)

        await self.app(scope, receive, send_with_headers)
