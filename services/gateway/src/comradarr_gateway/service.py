"""Gateway: the only HTTP door into Comradarr (REST API, auth, health)."""

from __future__ import annotations

import re
from collections.abc import Mapping

from comradarr_logging import correlation_scope
from comradarr_observability import Check, health_router
from comradarr_runtime import ServiceContext, ServiceDefinition
from fastapi import FastAPI, Request

_CORRELATION_ID = re.compile(r"[A-Za-z0-9_-]{8,64}")


def create_app(ctx: ServiceContext) -> FastAPI:
    """The gateway's FastAPI app; /health aggregates every service in this process."""
    app = FastAPI(title="Comradarr", version="0.1.0", docs_url=None, redoc_url=None)
    app.state.ctx = ctx
    app.state.health_checks = lambda: {}

    def checks() -> Mapping[str, Check]:
        provider = app.state.health_checks
        return dict(provider())

    app.include_router(health_router(checks=checks))

    @app.middleware("http")
    async def security_headers(request: Request, call_next):  # type: ignore[no-untyped-def]
        # A caller's correlation id is kept only when it is a plain token (no log injection).
        supplied = request.headers.get("X-Correlation-Id", "")
        cid = supplied if _CORRELATION_ID.fullmatch(supplied) else None
        with correlation_scope(cid) as cid:
            response = await call_next(request)
        response.headers["X-Correlation-Id"] = cid
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        response.headers.setdefault("Content-Security-Policy", "default-src 'none'")
        return response

    return app


definition = ServiceDefinition(
    name="gateway",
    description="REST API, authentication and aggregated health",
    http_app=create_app,
)
