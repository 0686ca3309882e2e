"""Setup, login, logout, sessions and the password."""

from __future__ import annotations

import asyncio
import math
import secrets
from datetime import datetime, timedelta
from typing import Annotated

from comradarr_logging import get_logger
from fastapi import APIRouter, Depends, HTTPException, Path, Request, Response
from fastapi.responses import JSONResponse

from . import repo
from .logins import wait_for
from .models import (
    Credentials,
    Done,
    ErrorBody,
    LoginRequest,
    LoginResponse,
    MeResponse,
    PasswordChange,
    SessionInfo,
    SessionsEnded,
    SetupStatus,
)
from .security import (
    SESSION_COOKIE,
    Principal,
    ProtectedRoute,
    client_info,
    current_principal,
    new_token,
    require_session,
    token_hash,
)
from .state import Gateway, gateway_of

log = get_logger(__name__)

# The only routes under /api/v1 that answer without credentials. Exact paths; a test
# asserts the app's OpenAPI has nothing else public.
# The *arr webhook authenticates by its connector's own token instead (routes_webhooks.py).
PUBLIC_PATHS = frozenset(
    {
        "/api/v1/setup/status",
        "/api/v1/setup",
        "/api/v1/auth/login",
        "/api/v1/webhooks/arr/{connector_id}",
    }
)

_LOCKED = {"model": ErrorBody, "description": "Too many failed logins; Retry-After says how long"}


def cookie_path(request: Request) -> str:
    """The session cookie's path: BASE_URL when the request came through it, else /."""
    root: str = request.scope.get("root_path") or "/"
    return root


def drop_cookie(request: Request, response: Response) -> None:
    """Tell the browser to forget the session cookie."""
    response.delete_cookie(SESSION_COOKIE, path=cookie_path(request), httponly=True, samesite="lax")


async def start_session(request: Request, response: Response, gw: Gateway, *, user_id: int) -> str:
    """Create a fresh session (never reusing a presented id) and set its cookie."""
    settings = await gw.app_settings()
    now = gw.now()
    token = new_token()
    csrf = secrets.token_urlsafe(32)
    info = client_info(request)
    absolute = timedelta(hours=settings.security.session_absolute_hours)
    async with gw.ctx.pool.acquire() as conn:
        await repo.purge_expired_sessions(conn, now=now)
        await repo.create_session(
            conn,
            token_hash=token_hash(token),
            user_id=user_id,
            csrf_token=csrf,
            now=now,
            expires_at=now + absolute,
            client_ip=info.ip,
            user_agent=request.headers.get("user-agent", ""),
        )
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(absolute.total_seconds()),
        path=cookie_path(request),
        httponly=True,
        samesite="lax",
        secure=info.https,
    )
    return csrf


def public_router() -> APIRouter:
    """The three routes anyone may call."""
    router = APIRouter(prefix="/api/v1", tags=["setup and login"])

    @router.get("/setup/status", response_model=SetupStatus)
    async def setup_status(request: Request) -> SetupStatus:
        gw = gateway_of(request)
        settings = await gw.app_settings()
        async with gw.ctx.pool.acquire() as conn:
            required = not await repo.user_exists(conn)
        return SetupStatus(setup_required=required, app_name=settings.general.app_name)

    @router.post(
        "/setup",
        status_code=201,
        response_model=LoginResponse,
        responses={409: {"model": ErrorBody, "description": "Setup is already complete"}},
    )
    async def setup(body: Credentials, request: Request, response: Response) -> LoginResponse:
        """Create the first administrator; refused forever once one exists."""
        gw = gateway_of(request)
        async with gw.ctx.pool.acquire() as conn:
            if await repo.user_exists(conn):
                raise HTTPException(409, "setup is already complete")
        password_hash = await asyncio.to_thread(gw.hasher.hash, body.password)
        async with gw.ctx.pool.acquire() as conn:
            user_id = await repo.create_first_user(
                conn, username=body.username, password_hash=password_hash
            )
        if user_id is None:
            raise HTTPException(409, "setup is already complete")
        log.info("administrator created", username=body.username)
        csrf = await start_session(request, response, gw, user_id=user_id)
        return LoginResponse(username=body.username, csrf_token=csrf)

    @router.post(
        "/auth/login",
        response_model=LoginResponse,
        responses={401: {"model": ErrorBody}, 429: _LOCKED},
    )
    async def login(body: LoginRequest, request: Request, response: Response) -> Response:
        gw = gateway_of(request)
        cfg = gw.settings
        now = gw.now()
        name = body.username.lower()
        ip = client_info(request).ip or "unknown"
        window = timedelta(seconds=cfg.login_failure_window_seconds)
        async with gw.ctx.pool.acquire() as conn:
            counters = await repo.login_failures(conn, username=name, ip=ip, now=now, window=window)
            wait = wait_for(counters, now=now, settings=cfg)
            if wait is not None:
                return _locked(wait.seconds, wait.why)
            user = await repo.get_user_by_name(conn, username=body.username)
        # The same Argon2 work whether or not the user exists (no timing oracle).
        stored = user.password_hash if user is not None else gw.dummy_hash
        ok = await asyncio.to_thread(gw.hasher.verify, stored, body.password)
        if user is None or not ok:
            lock = await _count_failure(gw, name=name, ip=ip, now=now)
            log.warning("login failed", client_ip=ip)
            if lock > 0:
                return _locked(lock, "too many failed logins from this address")
            return JSONResponse({"detail": "invalid username or password"}, status_code=401)
        async with gw.ctx.pool.acquire() as conn:
            await repo.clear_failures(conn, username=name, ip=ip)
            if gw.hasher.needs_rehash(user.password_hash):
                new_hash = await asyncio.to_thread(gw.hasher.hash, body.password)
                await repo.set_password_hash(conn, user_id=user.id, password_hash=new_hash)
        # A session id presented with the login is never reused: a new one is always issued.
        old = request.cookies.get(SESSION_COOKIE)
        if old:
            async with gw.ctx.pool.acquire() as conn:
                await conn.execute("DELETE FROM sessions WHERE token_hash = $1", token_hash(old))
        csrf = await start_session(request, response, gw, user_id=user.id)
        log.info("login", username=user.username, client_ip=ip)
        out = JSONResponse(LoginResponse(username=user.username, csrf_token=csrf).model_dump())
        out.raw_headers.extend(
            (k, v) for k, v in response.raw_headers if k.lower() == b"set-cookie"
        )
        return out

    return router


async def _count_failure(gw: Gateway, *, name: str, ip: str, now: datetime) -> float:
    """Record a failed login on all three counters; the lock it set, in seconds (or 0)."""
    cfg = gw.settings
    window = timedelta(seconds=cfg.login_failure_window_seconds)
    lockout = timedelta(seconds=cfg.lockout_seconds)
    async with gw.ctx.pool.acquire() as conn, conn.transaction():
        await repo.prune_failures(conn, now=now, window=window)
        _, pair_lock = await repo.record_failure(
            conn,
            kind="pair",
            subject=repo.pair_subject(name, ip),
            now=now,
            window=window,
            threshold=cfg.login_max_failures,
            lockout=lockout,
        )
        _, ip_lock = await repo.record_failure(
            conn,
            kind="ip",
            subject=ip,
            now=now,
            window=window,
            threshold=cfg.login_ip_max_failures,
            lockout=lockout,
        )
        await repo.record_failure(
            conn, kind="user", subject=name, now=now, window=window, threshold=None, lockout=lockout
        )
    return max(pair_lock, ip_lock)


def _locked(seconds: float, why: str) -> JSONResponse:
    wait = max(1, math.ceil(seconds))
    return JSONResponse(
        {
            "detail": f"{why}; try again in {wait} seconds",
            "retry_after_seconds": wait,
        },
        status_code=429,
        headers={"Retry-After": str(wait)},
    )


def auth_router() -> APIRouter:
    """Signed-in account routes."""
    router = APIRouter(prefix="/auth", tags=["account"], route_class=ProtectedRoute)

    @router.get("/me", response_model=MeResponse)
    async def me(principal: Principal = Depends(current_principal)) -> MeResponse:  # noqa: B008
        return MeResponse(
            username=principal.username,
            csrf_token=principal.csrf_token,
            auth_mode=principal.kind,
        )

    @router.post("/logout", response_model=Done)
    async def logout(
        request: Request,
        response: Response,
        principal: Principal = Depends(current_principal),  # noqa: B008
    ) -> Done:
        gw = gateway_of(request)
        if principal.session_id is not None:
            async with gw.ctx.pool.acquire() as conn:
                await repo.delete_session(conn, session_id=principal.session_id)
        drop_cookie(request, response)
        return Done()

    @router.get("/sessions", response_model=list[SessionInfo])
    async def sessions(
        request: Request,
        principal: Principal = Depends(require_session),  # noqa: B008
    ) -> list[SessionInfo]:
        gw = gateway_of(request)
        settings = await gw.app_settings()
        idle = timedelta(minutes=settings.security.session_idle_minutes)
        async with gw.ctx.pool.acquire() as conn:
            rows = await repo.list_sessions(
                conn, user_id=principal.user_id, now=gw.now(), idle=idle
            )
        return [
            SessionInfo(
                id=r.id,
                created_at=r.created_at,
                last_seen_at=r.last_seen_at,
                expires_at=r.expires_at,
                client_ip=r.client_ip,
                user_agent=r.user_agent,
                current=r.id == principal.session_id,
            )
            for r in rows
        ]

    @router.delete(
        "/sessions/{session_id}",
        status_code=204,
        response_class=Response,
        responses={404: {"model": ErrorBody, "description": "No session of yours has that id"}},
    )
    async def revoke_session(
        session_id: Annotated[int, Path(ge=1, le=2**63 - 1)],
        request: Request,
        principal: Principal = Depends(require_session),  # noqa: B008
    ) -> Response:
        gw = gateway_of(request)
        async with gw.ctx.pool.acquire() as conn:
            ended = await repo.delete_user_session(
                conn, user_id=principal.user_id, session_id=session_id
            )
        if not ended:
            raise HTTPException(404, "no session of yours has that id")
        log.info("session revoked", session_id=session_id)
        response = Response(status_code=204)
        if session_id == principal.session_id:  # signing this one out: drop its cookie too
            drop_cookie(request, response)
        return response

    @router.post("/logout-others", response_model=SessionsEnded)
    async def logout_others(
        request: Request,
        principal: Principal = Depends(require_session),  # noqa: B008
    ) -> SessionsEnded:
        gw = gateway_of(request)
        async with gw.ctx.pool.acquire() as conn:
            n = await repo.delete_other_sessions(
                conn, user_id=principal.user_id, keep_id=principal.session_id
            )
        return SessionsEnded(ended=n)

    @router.post(
        "/password",
        response_model=Done,
        responses={403: {"model": ErrorBody, "description": "Current password is wrong"}},
    )
    async def change_password(
        body: PasswordChange,
        request: Request,
        principal: Principal = Depends(require_session),  # noqa: B008
    ) -> Done:
        gw = gateway_of(request)
        await verify_current_password(gw, principal, body.current_password)
        new_hash = await asyncio.to_thread(gw.hasher.hash, body.new_password)
        async with gw.ctx.pool.acquire() as conn, conn.transaction():
            await repo.set_password_hash(conn, user_id=principal.user_id, password_hash=new_hash)
            # Everyone else holding the old password's sessions is signed out.
            await repo.delete_other_sessions(
                conn, user_id=principal.user_id, keep_id=principal.session_id
            )
        log.info("password changed", username=principal.username)
        return Done()

    return router


async def verify_current_password(gw: Gateway, principal: Principal, password: str | None) -> None:
    """403 unless password is the administrator's current one."""
    async with gw.ctx.pool.acquire() as conn:
        user = await repo.get_user(conn, user_id=principal.user_id)
    stored = user.password_hash if user is not None else gw.dummy_hash
    ok = await asyncio.to_thread(gw.hasher.verify, stored, password or "")
    if user is None or not ok or not password:
        raise HTTPException(403, "current password is wrong or missing")


__all__ = ["PUBLIC_PATHS", "auth_router", "public_router", "start_session"]
