"""Secret-key rotation, the live event stream and public health."""

from __future__ import annotations

import asyncio
import json
import os
import resource
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from pathlib import Path
from typing import Annotated, Any

from comradarr_logging import get_logger, redact
from comradarr_observability import run_checks
from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import JSONResponse, StreamingResponse

from . import repo
from .keyrotation import KeyFile, rotate_key
from .models import ErrorBody, HealthReport, RotateResult, RotateSecretKey
from .routes_auth import verify_current_password
from .security import Principal, ProtectedRoute, new_token, require_session, require_user
from .state import gateway_of

log = get_logger(__name__)

# Event subjects (after "<prefix>.evt.") a signed-in user may watch.
VISIBLE_EVENTS = (
    "sync.",
    "discovery.",
    "items.",
    "search.",
    "connector.",
    "settings.",
)


def system_router() -> APIRouter:
    """Protected system routes."""
    router = APIRouter(tags=["system"], route_class=ProtectedRoute)

    @router.post(
        "/security/rotate-secret-key",
        response_model=RotateResult,
        responses={
            403: {"model": ErrorBody},
            409: {"model": ErrorBody, "description": "SECRET_KEY is set in the environment"},
        },
    )
    async def rotate(
        body: RotateSecretKey,
        request: Request,
        principal: Principal = Depends(require_session),  # noqa: B008
    ) -> RotateResult:
        gw = gateway_of(request)
        await verify_current_password(gw, principal, body.current_password)
        core = gw.ctx.settings
        if core.secret_key is not None or os.environ.get("SECRET_KEY"):
            raise HTTPException(
                409,
                "SECRET_KEY is set in the environment, where only you can change it: run "
                "`comradarr secrets rotate --new-key-file FILE` on the host (the services "
                "switch without a restart), then set SECRET_KEY to the new key",
            )
        new_key = new_token() + new_token()
        key_file = KeyFile(Path(core.data_dir), new_key)
        try:
            done = await rotate_key(
                gw.ctx.pool,
                old=gw.box,
                new_key=new_key,
                announce=gw.ctx.bus.publish,
                now=gw.now(),
                persist=key_file.persist,
            )
        except BaseException:
            key_file.discard()
            raise
        return RotateResult(
            rotated=done.rotated,
            key_file=str(key_file.path),
            restart_required=False,
            message="every stored secret was re-encrypted and the running services switched"
            " to the new key (the previous one is kept as secret_key.previous)",
        )

    @router.get(
        "/events",
        response_class=StreamingResponse,
        responses={200: {"content": {"text/event-stream": {}}, "description": "SSE stream"}},
    )
    async def events(
        request: Request,
        limit: Annotated[int | None, Query(ge=1, le=10000)] = None,
        _p: Principal = Depends(require_user),  # noqa: B008
    ) -> StreamingResponse:
        """Server-sent events relaying what happens on the bus (redacted)."""
        gw = gateway_of(request)
        bus = gw.ctx.bus
        queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue(maxsize=1000)
        root = f"{bus.prefix}.evt."

        async def on_msg(msg: Any) -> None:
            name = msg.subject[len(root) :]
            if not name.startswith(VISIBLE_EVENTS):
                return
            try:
                payload = json.loads(msg.data)
            except ValueError:
                return
            if queue.full():
                return
            queue.put_nowait((name, redact(payload)))

        sub = await bus.nc.subscribe(f"{root}>", cb=on_msg)
        gw.event_subscribers += 1

        async def stream() -> AsyncIterator[bytes]:
            sent = 0
            try:
                yield b": connected\n\n"
                while limit is None or sent < limit:
                    try:
                        name, payload = await asyncio.wait_for(queue.get(), timeout=15)
                    except TimeoutError:
                        yield b": keep-alive\n\n"
                        continue
                    data = json.dumps(payload, separators=(",", ":"), default=str)
                    yield f"event: {name}\ndata: {data}\n\n".encode()
                    sent += 1
            finally:
                gw.event_subscribers -= 1
                try:
                    await sub.unsubscribe()
                except Exception:
                    log.debug("event subscription already closed")

        return StreamingResponse(
            stream(), media_type="text/event-stream", headers={"X-Accel-Buffering": "no"}
        )

    return router


def _rss_bytes() -> int | None:
    try:
        with open("/proc/self/statm", encoding="ascii") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024


def health_route(
    checks: Callable[[], Mapping[str, Callable[[], Awaitable[bool]]]],
) -> APIRouter:
    """GET /health: public and free of secrets."""
    router = APIRouter()

    @router.get("/health", response_model=HealthReport, tags=["health"])
    async def health(request: Request) -> JSONResponse:
        gw = gateway_of(request)

        async def database() -> bool:
            async with asyncio.timeout(2):
                return bool(await gw.ctx.pool.fetchval("SELECT 1") == 1)

        async def nats() -> bool:
            return gw.ctx.bus.connected

        results = await run_checks({"database": database, "nats": nats, **checks()})
        connectors: dict[str, int] = {}
        paused: bool | None = None
        if results["database"] == "ok":
            try:
                async with asyncio.timeout(2), gw.ctx.pool.acquire() as conn:
                    rows = await conn.fetch(
                        "SELECT health_status, count(*) AS n FROM connectors GROUP BY 1"
                    )
                    connectors = {r["health_status"]: int(r["n"]) for r in rows}
                    if await repo.table_exists(conn, name="queue_state"):
                        paused = bool(
                            await conn.fetchval(
                                "SELECT paused FROM queue_state WHERE connector_id = 0"
                            )
                        )
            except Exception:
                results["database"] = "fail"
        healthy = all(v == "ok" for v in results.values())
        report = HealthReport(
            status="healthy" if healthy else "degraded",
            database="ok" if results["database"] == "ok" else "fail",
            nats="ok" if results["nats"] == "ok" else "fail",
            memory_rss_bytes=_rss_bytes(),
            connectors=connectors,
            queue_paused=paused,
            checks=results,
        )
        return JSONResponse(report.model_dump(), status_code=200 if healthy else 503)

    return router
