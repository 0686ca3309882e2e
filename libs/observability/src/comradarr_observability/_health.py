"""Liveness, readiness and Prometheus metrics over HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping

from fastapi import APIRouter, FastAPI, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest

Check = Callable[[], Awaitable[bool]]


async def run_checks(checks: Mapping[str, Check], *, timeout: float = 3.0) -> dict[str, str]:
    """Run every readiness check concurrently; each answers ok or fail."""

    async def one(check: Check) -> str:
        try:
            async with asyncio.timeout(timeout):
                return "ok" if await check() else "fail"
        except Exception:
            return "fail"

    names = list(checks)
    results = await asyncio.gather(*(one(checks[n]) for n in names))
    return dict(zip(names, results, strict=True))


def health_router(
    *,
    checks: Callable[[], Mapping[str, Check]],
    registry: CollectorRegistry = REGISTRY,
) -> APIRouter:
    """Routes /health (readiness), /health/live and /metrics; deliberately unauthenticated."""
    router = APIRouter()

    @router.get("/health/live", include_in_schema=False)
    async def live() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/health", include_in_schema=False)
    @router.get("/health/ready", include_in_schema=False)
    async def ready() -> JSONResponse:
        results = await run_checks(checks())
        ok = all(v == "ok" for v in results.values())
        body = {"status": "ok" if ok else "unavailable", "checks": results}
        return JSONResponse(body, status_code=200 if ok else 503)

    @router.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return router


def health_app(*, title: str, checks: Callable[[], Mapping[str, Check]]) -> FastAPI:
    """A tiny app serving only health and metrics (a service's own port when run alone)."""
    app = FastAPI(title=title, docs_url=None, redoc_url=None, openapi_url=None)
    app.include_router(health_router(checks=checks))
    return app
