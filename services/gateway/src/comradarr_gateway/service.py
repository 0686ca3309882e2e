"""Gateway: the only HTTP door into Comradarr (REST API, auth, health)."""

from __future__ import annotations

from collections.abc import Mapping

from comradarr_observability import Check, health_router
from comradarr_runtime import ServiceContext, ServiceDefinition
from fastapi import FastAPI, Request


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
        response = await call_next(request)
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
