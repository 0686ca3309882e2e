"""Settings: read all, patch any subset (validated; security changes need the password)."""

from __future__ import annotations

from comradarr_logging import get_logger
from comradarr_proto import LogLevelChanged, SettingsChanged
from fastapi import APIRouter, Depends, HTTPException, Request

from . import repo
from .appsettings import AppSettings, SettingsPatch, flatten
from .models import ErrorBody
from .routes_auth import verify_current_password
from .security import Principal, ProtectedRoute, current_principal
from .state import gateway_of

log = get_logger(__name__)


def settings_router() -> APIRouter:
    """Routes under /settings."""
    router = APIRouter(prefix="/settings", tags=["settings"], route_class=ProtectedRoute)

    @router.get("", response_model=AppSettings)
    async def read(request: Request) -> AppSettings:
        return await gateway_of(request).app_settings()

    @router.patch(
        "",
        response_model=AppSettings,
        responses={
            403: {"model": ErrorBody, "description": "Security changes need the current password"}
        },
    )
    async def patch(
        body: SettingsPatch,
        request: Request,
        principal: Principal = Depends(current_principal),  # noqa: B008
    ) -> AppSettings:
        gw = gateway_of(request)
        changes = flatten(body)
        changes.pop("current_password", None)
        security = [k for k in changes if k.startswith("security.")]
        if security:
            # Weakening (or touching) authentication needs a person who knows the password:
            # not an API key, not the local bypass, not a stolen cookie alone.
            if principal.kind != "session":
                raise HTTPException(403, "security settings can only be changed when signed in")
            await verify_current_password(gw, principal, body.current_password)
        if not changes:
            return await gw.app_settings()
        async with gw.ctx.pool.acquire() as conn:
            await repo.save_settings(conn, values=changes)
        gw.forget_settings()
        log.info("settings changed", keys=sorted(changes))
        try:
            await gw.ctx.bus.publish(SettingsChanged(keys=sorted(changes)))
            if "general.log_level" in changes:
                await gw.ctx.bus.publish(LogLevelChanged(level=changes["general.log_level"]))
        except Exception:
            log.warning("could not publish the settings change")
        return await gw.app_settings()

    return router
