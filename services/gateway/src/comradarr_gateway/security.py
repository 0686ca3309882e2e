"""Authentication: sessions, API keys, local bypass; CSRF, scopes and key rate limits."""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal, TypeVar

from comradarr_db import Connection, skip_next_reset
from comradarr_logging import get_logger
from fastapi import Depends, HTTPException, Request, Response
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

from . import repo
from .appsettings import AppSettings
from .clientip import ClientInfo, resolve_client
from .state import Gateway, gateway_of

log = get_logger(__name__)

SESSION_COOKIE = "comradarr_session"
API_KEY_HEADER = "X-API-Key"
CSRF_HEADER = "X-CSRF-Token"
API_KEY_PREFIX = "cmr_"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Refresh last_seen_at at most this often (idle expiry has minute granularity anyway).
_TOUCH_EVERY = timedelta(seconds=30)

AuthKind = Literal["session", "api_key", "local_bypass"]


def token_hash(token: str) -> bytes:
    """SHA-256 of a high-entropy token (sessions and API keys are 32 random bytes)."""
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).digest()


def new_token() -> str:
    """A fresh 32-byte random token, URL-safe."""
    return secrets.token_urlsafe(32)


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling, and how they proved it."""

    kind: AuthKind
    username: str
    user_id: int
    session_id: int | None = None
    csrf_token: str | None = None
    api_key_id: int | None = None
    scope: str = "full"


def client_info(request: Request) -> ClientInfo:
    """The real client address and scheme (forwarded headers only from trusted proxies)."""
    cached = getattr(request.state, "client_info", None)
    if isinstance(cached, ClientInfo):
        return cached
    gw = gateway_of(request)
    peer = request.client.host if request.client else None
    info = resolve_client(
        peer=peer,
        scheme=request.url.scheme,
        forwarded_for=request.headers.get("x-forwarded-for"),
        forwarded_proto=request.headers.get("x-forwarded-proto"),
        trusted_proxies=gw.settings.trusted_proxies,
    )
    request.state.client_info = info
    return info


def logged_path(request: Request) -> str:
    """The path as the client sent it (percent-encoded): safe for a text column and a log."""
    raw = request.scope.get("raw_path")
    text = raw.decode("ascii", "backslashreplace") if isinstance(raw, bytes) else request.url.path
    return text.replace("\x00", "%00")


def _error(status: int, detail: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status, headers=headers)


def _unauthorized() -> JSONResponse:
    return _error(401, "authentication required")


async def _from_api_key(
    request: Request, gw: Gateway, conn: Connection, raw: str
) -> Principal | JSONResponse:
    if not raw.startswith(API_KEY_PREFIX) or len(raw) > 128:
        return _error(401, "invalid API key")
    digest = token_hash(raw)
    now = gw.now()
    found = await repo.find_api_key(conn, token_hash=digest)
    if found is None or not hmac.compare_digest(found[1], digest):
        return _error(401, "invalid API key")
    key = found[0]
    if key.scope == "read" and request.method not in SAFE_METHODS:
        return _error(403, "this API key is read-only")
    count, oldest = await repo.key_uses_since(conn, key_id=key.id, since=now - timedelta(minutes=1))
    if count >= (key.rate_per_minute or gw.settings.api_key_rate_per_minute):
        wait = 60 - (now - oldest).total_seconds() if oldest is not None else 60
        retry = max(1, math.ceil(wait))
        return _error(
            429, f"API key rate limit reached; retry in {retry} s", {"Retry-After": str(retry)}
        )
    endpoint = logged_path(request)
    user = await repo.record_key_use(
        conn, key_id=key.id, method=request.method, endpoint=endpoint, now=now
    )
    if user is None:
        return _unauthorized()
    log.info("api key used", api_key_id=key.id, method=request.method, endpoint=endpoint)
    return Principal(
        kind="api_key", username=user.username, user_id=user.id, api_key_id=key.id, scope=key.scope
    )


async def _from_session(
    gw: Gateway, conn: Connection, settings: AppSettings, token: str
) -> Principal | None:
    if len(token) > 128:
        return None
    now = gw.now()
    idle = timedelta(minutes=settings.security.session_idle_minutes)
    session = await repo.get_live_session(conn, token_hash=token_hash(token), now=now, idle=idle)
    if session is None:
        return None
    if now - session.last_seen_at > _TOUCH_EVERY:
        await repo.touch_session(conn, session_id=session.id, now=now)
    return Principal(
        kind="session",
        username=session.username,
        user_id=session.user_id,
        session_id=session.id,
        csrf_token=session.csrf_token,
    )


async def authenticate(
    request: Request, conn: Connection, settings: AppSettings
) -> Principal | JSONResponse:
    """Resolve the caller, or the response refusing them (401/403/429).

    Every lookup runs on conn (the request's one pool connection); settings are read
    before it is taken, so nothing here waits for a second connection while holding one.
    """
    gw = gateway_of(request)
    raw_key = request.headers.get(API_KEY_HEADER)
    if raw_key is not None:
        # API-key requests are exempt from CSRF: browsers never attach this header by themselves.
        return await _from_api_key(request, gw, conn, raw_key)
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        principal = await _from_session(gw, conn, settings, token)
        if principal is not None:
            if request.method not in SAFE_METHODS:
                sent = request.headers.get(CSRF_HEADER, "")
                if not hmac.compare_digest(
                    sent.encode("utf-8", "surrogateescape"),
                    (principal.csrf_token or "").encode(),
                ):
                    return _error(403, "CSRF token missing or invalid")
            return principal
    if settings.security.auth_mode == "local_bypass" and client_info(request).is_local:
        user = await repo.first_user(conn)
        if user is not None:
            bypass_csrf = gw.bypass_csrf_token()
            if request.method not in SAFE_METHODS and not hmac.compare_digest(
                request.headers.get(CSRF_HEADER, "").encode("utf-8", "surrogateescape"),
                bypass_csrf.encode(),
            ):
                return _error(403, "CSRF token missing or invalid")
            return Principal(
                kind="local_bypass", username=user.username, user_id=user.id, csrf_token=bypass_csrf
            )
    return _unauthorized()


def _has_credentials(request: Request, settings: AppSettings) -> bool:
    """Whether authenticate() could accept this request at all."""
    return (
        request.headers.get(API_KEY_HEADER) is not None
        or bool(request.cookies.get(SESSION_COOKIE))
        or (settings.security.auth_mode == "local_bypass" and client_info(request).is_local)
    )


_Endpoint = TypeVar("_Endpoint", bound=Callable[..., Any])
_SHARES_CONNECTION = "_comradarr_shares_auth_connection"


def shares_auth_connection(endpoint: _Endpoint) -> _Endpoint:
    """Mark an endpoint that runs all its SQL through request_connection(): ProtectedRoute
    then lends it the connection the request was authenticated on (one pool acquire and
    one connection reset per request instead of two).

    Such an endpoint must not acquire another pool connection while it runs (a request
    holding one and waiting for a second could starve the pool under load).
    """
    setattr(endpoint, _SHARES_CONNECTION, True)
    return endpoint


@asynccontextmanager
async def request_connection(request: Request) -> AsyncIterator[Connection]:
    """The connection ProtectedRoute lent this request, else one from the pool."""
    lent: Connection | None = getattr(request.state, "db", None)
    if lent is not None:
        yield lent
        return
    async with gateway_of(request).ctx.pool.acquire() as conn:
        yield conn


class ProtectedRoute(APIRoute):
    """A route that authenticates before FastAPI reads or validates the request body.

    So an anonymous caller never learns anything from validation errors, and nothing in a
    handler runs for them. The router-level dependency then hands the principal over.
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        original = super().get_route_handler()
        shares = bool(getattr(self.endpoint, _SHARES_CONNECTION, False))

        async def handler(request: Request) -> Response:
            gw = gateway_of(request)
            settings = await gw.app_settings()  # may take a connection itself: before ours
            if not _has_credentials(request, settings):
                return _unauthorized()  # without touching the pool
            async with gw.ctx.pool.acquire() as conn:
                # Gateway code runs plain statements and transactions only (no SET, LISTEN
                # or session locks): the connection goes back without the reset round trip.
                skip_next_reset(conn)
                result = await authenticate(request, conn, settings)
                if isinstance(result, Response):
                    return result
                request.state.principal = result
                if shares:
                    request.state.db = conn
                    try:
                        return await original(request)
                    finally:
                        request.state.db = None
            return await original(request)

        return handler


async def current_principal(request: Request) -> Principal:
    """Router-level dependency of every protected route (default deny).

    Async on purpose (like the two below): FastAPI runs a plain ``def`` dependency in its
    thread pool, a thread hop per request for a getattr.
    """
    principal = getattr(request.state, "principal", None)
    if not isinstance(principal, Principal):
        raise HTTPException(status_code=401, detail="authentication required")
    return principal


async def require_session(principal: Principal = Depends(current_principal)) -> Principal:  # noqa: B008
    """Account and security operations need a signed-in person, not a key or bypass."""
    if principal.kind != "session":
        raise HTTPException(status_code=403, detail="this action needs a signed-in session")
    return principal


async def require_user(principal: Principal = Depends(current_principal)) -> Principal:  # noqa: B008
    """Anything but an API key (sessions and local bypass)."""
    if principal.kind == "api_key":
        raise HTTPException(status_code=403, detail="not available to API keys")
    return principal
