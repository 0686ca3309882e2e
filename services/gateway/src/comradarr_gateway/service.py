"""Gateway: the only HTTP door into Comradarr (REST API, auth, health)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from comradarr_bus import Delivery, Subscription
from comradarr_crypto import PasswordHasher
from comradarr_logging import get_logger
from comradarr_observability import Check, health_router
from comradarr_proto import RequestBackup
from comradarr_runtime import ServiceContext, ServiceDefinition
from comradarr_settings import load_settings
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from . import backups, upkeep
from .config import GatewaySettings
from .docs import declare_security, docs_router
from .middleware import GatewayMiddleware
from .routes_analytics import analytics_router
from .routes_auth import PUBLIC_PATHS, auth_router, public_router
from .routes_backups import UPLOAD_PATH, backups_router
from .routes_config import config_router
from .routes_connectors import connectors_router
from .routes_content import content_router
from .routes_dashboard import dashboard_router
from .routes_indexers import indexers_router
from .routes_keys import keys_router
from .routes_maintenance import maintenance_router
from .routes_notifications import notifications_router
from .routes_queue import queue_router
from .routes_schedules import schedules_router
from .routes_settings import settings_router
from .routes_system import health_route, system_router
from .routes_throttle import throttle_router
from .routes_webhooks import webhook_config_router, webhook_router
from .security import ProtectedRoute, current_principal
from .state import Gateway, utcnow

log = get_logger(__name__)

API_PREFIX = "/api/v1"

__all__ = ["API_PREFIX", "PUBLIC_PATHS", "create_app", "definition"]


def _validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    # Never echo the input back: a rejected body may hold a password or an API key.
    return [
        {"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": str(e.get("type"))}
        for e in exc.errors()
    ]


def create_app(
    ctx: ServiceContext,
    *,
    settings: GatewaySettings | None = None,
    hasher: PasswordHasher | None = None,
    clock: Callable[[], datetime] = utcnow,
) -> FastAPI:
    """The gateway's FastAPI app; /health aggregates every service in this process."""
    cfg = settings if settings is not None else load_settings(GatewaySettings)
    app = FastAPI(
        title="Comradarr",
        version="1",
        description="Comradarr REST API. Everything under /api/v1 needs a session cookie "
        "(plus X-CSRF-Token on writes) or an X-API-Key header, except "
        + ", ".join(sorted(PUBLIC_PATHS))
        + ". An API key is limited to its own requests per minute (429 with Retry-After "
        "beyond). Interactive documentation: /docs (served by this server, no internet).",
        docs_url=None,
        redoc_url=None,
        redirect_slashes=False,
    )
    app.state.ctx = ctx
    app.state.gateway = Gateway(
        ctx=ctx, settings=cfg, hasher=hasher or PasswordHasher(), clock=clock
    )
    app.state.health_checks = lambda: {}

    def checks() -> Mapping[str, Check]:
        provider = app.state.health_checks
        return dict(provider())

    @app.exception_handler(RequestValidationError)
    async def on_validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"detail": _validation_errors(exc)}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def on_http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse(
            {"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers
        )

    app.include_router(health_route(checks))
    app.include_router(health_router(checks=checks))
    app.include_router(public_router())
    app.include_router(docs_router(app.title))
    app.include_router(webhook_router())

    # Default deny: every route below authenticates (ProtectedRoute) before anything else
    # runs, and the router-level dependency refuses a request without a principal.
    protected = APIRouter(
        prefix=API_PREFIX,
        dependencies=[Depends(current_principal)],
        route_class=ProtectedRoute,
        responses={
            401: {"description": "Not authenticated"},
            403: {"description": "CSRF token missing, read-only key, or not allowed"},
            429: {"description": "API key rate limit; see Retry-After"},
        },
    )
    protected.include_router(auth_router())
    protected.include_router(keys_router())
    protected.include_router(connectors_router())
    protected.include_router(settings_router())
    protected.include_router(system_router())
    protected.include_router(content_router())
    protected.include_router(dashboard_router())
    protected.include_router(queue_router())
    protected.include_router(schedules_router())
    protected.include_router(throttle_router())
    protected.include_router(notifications_router())
    protected.include_router(webhook_config_router())
    protected.include_router(indexers_router())
    protected.include_router(analytics_router())
    protected.include_router(maintenance_router())
    protected.include_router(config_router())
    protected.include_router(backups_router())
    app.include_router(protected)
    _assert_default_deny(app)
    base_url = ctx.settings.base_url
    declare_security(app, is_public=_is_public, servers=[base_url] if base_url != "/" else [])

    app.add_middleware(
        GatewayMiddleware,
        max_body_bytes=cfg.max_body_bytes,
        base_url=base_url,
        large_bodies={API_PREFIX + UPLOAD_PATH: cfg.backup_upload_max_bytes},
    )
    return app


def _is_public(path: str) -> bool:
    return path in PUBLIC_PATHS or not path.startswith(API_PREFIX)


def _assert_default_deny(app: FastAPI) -> None:
    """Refuse to start if any API route would answer without the authentication step."""
    for route in app.routes:
        path = getattr(route, "path", "")
        if not _is_public(path) and not isinstance(route, ProtectedRoute):
            raise RuntimeError(f"route {path} is not protected")


def _subscriptions(ctx: ServiceContext) -> list[Subscription[RequestBackup]]:
    async def on_backup(msg: RequestBackup, delivery: Delivery) -> None:
        await backups.on_request_backup(ctx, msg, delivery)

    # A large backup takes minutes: the ack may wait that long; a failure is reported
    # (BackupFailed) and not retried blindly.
    return [
        Subscription(
            RequestBackup,
            durable="gateway-backup",
            handler=on_backup,
            ack_wait=1800.0,
            max_attempts=2,
        )
    ]


definition = ServiceDefinition(
    name="gateway",
    description="REST API, authentication, backups and aggregated health",
    subscriptions=_subscriptions,
    http_app=create_app,
    maintenance=upkeep.prune,
)
