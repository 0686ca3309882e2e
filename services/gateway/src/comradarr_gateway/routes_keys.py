"""API keys: create (shown once), list, revoke."""

from __future__ import annotations

from typing import Annotated

from comradarr_logging import get_logger
from fastapi import APIRouter, Depends, HTTPException, Path, Request, Response

from . import repo
from .models import ApiKeyCreate, ApiKeyCreated, ApiKeyInfo, ApiKeyUpdate, ErrorBody
from .security import (
    API_KEY_PREFIX,
    Principal,
    ProtectedRoute,
    new_token,
    require_session,
    token_hash,
)
from .state import gateway_of

log = get_logger(__name__)

IdPath = Annotated[int, Path(ge=1, le=2**31 - 1)]


def _info(key: repo.ApiKey, default_rate: int) -> ApiKeyInfo:
    return ApiKeyInfo(
        id=key.id,
        description=key.description,
        scope=key.scope,
        prefix=key.prefix,
        created_at=key.created_at,
        last_used_at=key.last_used_at,
        rate_per_minute=key.rate_per_minute,
        effective_rate_per_minute=key.rate_per_minute or default_rate,
    )


def keys_router() -> APIRouter:
    """Managed only from a signed-in session: a key cannot mint or revoke keys."""
    router = APIRouter(prefix="/api-keys", tags=["api keys"], route_class=ProtectedRoute)

    @router.get("", response_model=list[ApiKeyInfo])
    async def list_keys(
        request: Request,
        _p: Principal = Depends(require_session),  # noqa: B008
    ) -> list[ApiKeyInfo]:
        gw = gateway_of(request)
        async with gw.ctx.pool.acquire() as conn:
            keys = await repo.list_api_keys(conn)
        return [_info(k, gw.settings.api_key_rate_per_minute) for k in keys]

    @router.post("", status_code=201, response_model=ApiKeyCreated)
    async def create_key(
        body: ApiKeyCreate,
        request: Request,
        _p: Principal = Depends(require_session),  # noqa: B008
    ) -> ApiKeyCreated:
        token = API_KEY_PREFIX + new_token()
        gw = gateway_of(request)
        async with gw.ctx.pool.acquire() as conn:
            key = await repo.create_api_key(
                conn,
                description=body.description,
                scope=body.scope,
                token_hash=token_hash(token),
                prefix=token[: len(API_KEY_PREFIX) + 4],
                rate_per_minute=body.rate_per_minute,
            )
        log.info("api key created", api_key_id=key.id, scope=key.scope)
        info = _info(key, gw.settings.api_key_rate_per_minute)
        return ApiKeyCreated(**info.model_dump(), key=token)

    @router.patch("/{key_id}", response_model=ApiKeyInfo, responses={404: {"model": ErrorBody}})
    async def update_key(
        key_id: IdPath,
        body: ApiKeyUpdate,
        request: Request,
        _p: Principal = Depends(require_session),  # noqa: B008
    ) -> ApiKeyInfo:
        gw = gateway_of(request)
        changes = body.model_dump(exclude_unset=True)
        if changes.get("description", "") is None:
            del changes["description"]  # null: unchanged (a key always has a description)
        async with gw.ctx.pool.acquire() as conn:
            key = await repo.update_api_key(conn, key_id=key_id, changes=changes)
        if key is None:
            raise HTTPException(404, "no API key has that id")
        log.info("api key changed", api_key_id=key_id, fields=sorted(changes))
        return _info(key, gw.settings.api_key_rate_per_minute)

    @router.delete(
        "/{key_id}", status_code=204, response_class=Response, responses={404: {"model": ErrorBody}}
    )
    async def revoke_key(
        key_id: IdPath,
        request: Request,
        _p: Principal = Depends(require_session),  # noqa: B008
    ) -> Response:
        async with gateway_of(request).ctx.pool.acquire() as conn:
            if not await repo.delete_api_key(conn, key_id=key_id):
                raise HTTPException(404, "no API key has that id")
        log.info("api key revoked", api_key_id=key_id)
        return Response(status_code=204)

    return router
