"""Configuration export and import over the API (the CLI runs the same code)."""

from __future__ import annotations

from comradarr_logging import get_logger
from comradarr_proto import SettingsChanged
from fastapi import APIRouter, Depends, HTTPException, Request, Response
from pydantic import Field

from .configio import ConfigDocument, ImportProblems, ImportSecrets, ImportSummary, export_config
from .configio import import_config as run_import
from .models import ErrorBody, Strict
from .routes_auth import verify_current_password
from .security import Principal, ProtectedRoute, require_session
from .state import gateway_of
from .text import Secret

log = get_logger(__name__)


class ConfigImport(Strict):
    """An exported configuration, the secrets it left out, and the current password."""

    config: ConfigDocument
    secrets: ImportSecrets = Field(default_factory=ImportSecrets)
    current_password: Secret


def config_router() -> APIRouter:
    """Routes under /config."""
    router = APIRouter(prefix="/config", tags=["system"], route_class=ProtectedRoute)

    @router.get("/export", response_model=ConfigDocument)
    async def export(request: Request, response: Response) -> ConfigDocument:
        """Settings, throttle profiles, connectors, schedules and notification channels,
        without a secret (import asks for them again)."""
        gw = gateway_of(request)
        settings = await gw.app_settings()
        async with gw.ctx.pool.acquire() as conn:
            doc = await export_config(conn, settings=settings, now=gw.now())
        name = f"comradarr-config-{gw.now():%Y%m%d-%H%M}.json"
        response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
        return doc

    @router.post(
        "/import",
        status_code=201,
        response_model=ImportSummary,
        responses={
            403: {"model": ErrorBody, "description": "Needs a signed-in session and password"},
            422: {"model": ErrorBody, "description": "Everything wrong; nothing was written"},
        },
    )
    async def import_(
        body: ConfigImport,
        request: Request,
        principal: Principal = Depends(require_session),  # noqa: B008
    ) -> ImportSummary:
        """Check the whole file and its secrets, then create everything in one transaction
        (422 lists every problem, and nothing changes)."""
        gw = gateway_of(request)
        await verify_current_password(gw, principal, body.current_password)
        try:
            async with gw.ctx.pool.acquire() as conn:
                summary = await run_import(conn, box=gw.box, doc=body.config, secrets=body.secrets)
        except ImportProblems as exc:
            raise HTTPException(422, exc.problems) from None
        gw.forget_settings()
        log.info("configuration imported", **summary.model_dump())
        try:
            await gw.ctx.bus.publish(SettingsChanged(keys=["*"]))
        except Exception:
            log.warning("could not publish the settings change")
        return summary

    return router
