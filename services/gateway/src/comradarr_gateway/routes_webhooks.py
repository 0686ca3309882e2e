"""The *arr apps' own webhooks in: per-connector token, optional HMAC, typed messages out.

POST /api/v1/webhooks/arr/{connector_id} is public in one sense only: it authenticates by
the connector's webhook token (HTTP Basic password or X-Comradarr-Token, compared in
constant time) and, when a signature header is configured, by an HMAC-SHA256 of the raw
body as received. A good call becomes an ArrWebhookReceived event (the dispatcher records
the search found), a scoped RequestSweep (sync reads that series or movie again), or a
health reading. Bad payloads are 400s, never 500s; the body size limit is the gateway's.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import secrets
from datetime import datetime
from typing import Annotated, Any

from comradarr_connectors import ConnectorNotFoundError, get_connector, record_health
from comradarr_crypto import CryptoError, SecretColumn, aad_for
from comradarr_logging import get_logger
from comradarr_proto import (
    ArrWebhookEvent,
    ArrWebhookReceived,
    ConnectorHealthChanged,
    RequestSweep,
)
from fastapi import APIRouter, HTTPException, Path, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .models import ErrorBody, Strict
from .security import ProtectedRoute
from .state import Gateway, gateway_of

log = get_logger(__name__)

WEBHOOK_PATH = "/api/v1/webhooks/arr/{connector_id}"
SECRET_COLUMN = SecretColumn(
    table="connector_webhooks", id_column="connector_id", column="token_enc"
)
USERNAME = "comradarr"
TOKEN_HEADER = "X-Comradarr-Token"  # noqa: S105 - a header name
IdPath = Annotated[int, Path(ge=1, le=2**31 - 1)]
_HEADER_NAME = re.compile(r"^[A-Za-z0-9-]{1,64}$")
_EVENTS: dict[str, ArrWebhookEvent] = {
    "grab": "grab",
    "download": "download",
    "health": "health",
    "healthrestored": "health_restored",
    "test": "test",
}
_DENIED = {"detail": "invalid webhook credentials"}


def _aad(connector_id: int) -> bytes:
    return aad_for(table=SECRET_COLUMN.table, column=SECRET_COLUMN.column, row_id=connector_id)


# --- the payload, as Sonarr, Radarr and Whisparr send it (unknown fields ignored) ----------


class _Ref(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: int | None = None


class _Release(BaseModel):
    model_config = ConfigDict(extra="ignore")
    releaseTitle: str | None = Field(default=None, max_length=500)


class ArrPayload(BaseModel):
    """The fields of an *arr webhook call that Comradarr uses."""

    model_config = ConfigDict(extra="ignore")

    eventType: str = Field(min_length=1, max_length=64)
    series: _Ref | None = None
    episodes: list[_Ref] = Field(default_factory=list, max_length=1000)
    movie: _Ref | None = None
    release: _Release | None = None
    downloadId: str | None = Field(default=None, max_length=200)
    isUpgrade: bool = False
    level: str | None = Field(default=None, max_length=32)
    message: str | None = Field(default=None, max_length=2000)
    type: str | None = Field(default=None, max_length=200)


# --- configuration (protected) ------------------------------------------------------------


class WebhookSetup(Strict):
    """Create or regenerate a connector's webhook token."""

    signature_header: str | None = Field(
        default=None,
        max_length=64,
        description="Require an HMAC-SHA256 of the raw body (keyed by the token) in this "
        "header, as 'sha256=<hex>' or '<hex>'. For senders that sign (a relay, a proxy).",
    )

    @field_validator("signature_header")
    @classmethod
    def _header(cls, v: str | None) -> str | None:
        if v is not None and v.strip() and not _HEADER_NAME.fullmatch(v.strip()):
            raise ValueError("a header name holds letters, digits and - only")
        return v.strip() or None if v is not None else None


class WebhookInfo(BaseModel):
    """What to paste into the *arr app (Settings → Connect → + → Webhook)."""

    enabled: bool
    url: str
    path: str
    method: str = "POST"
    username: str = USERNAME
    password_masked: str | None
    password: str | None = Field(
        default=None, description="Only in the answer that created it: copy it now."
    )
    signature_header: str | None = None
    triggers: list[str] = Field(
        default_factory=lambda: ["On Grab", "On Import", "On Health Issue", "On Health Restored"]
    )
    last_received_at: datetime | None = None
    last_event: str | None = None
    received_count: int = 0


def _url(request: Request, path: str) -> str:
    return f"{str(request.base_url).rstrip('/')}{path}"


async def _info(gw: Gateway, request: Request, connector_id: int) -> WebhookInfo:
    path = WEBHOOK_PATH.format(connector_id=connector_id)
    async with gw.ctx.pool.acquire() as conn:
        try:
            await get_connector(conn, connector_id=connector_id)
        except ConnectorNotFoundError:
            raise HTTPException(404, "no connector has that id") from None
        row = await conn.fetchrow(
            "SELECT token_last4, signature_header, last_received_at, last_event, received_count"
            " FROM connector_webhooks WHERE connector_id = $1",
            connector_id,
        )
    if row is None:
        return WebhookInfo(enabled=False, url=_url(request, path), path=path, password_masked=None)
    return WebhookInfo(
        enabled=True,
        url=_url(request, path),
        path=path,
        password_masked=f"****{row['token_last4']}",
        signature_header=row["signature_header"],
        last_received_at=row["last_received_at"],
        last_event=row["last_event"],
        received_count=row["received_count"],
    )


def webhook_config_router() -> APIRouter:
    """Protected: GET/POST/DELETE /connectors/{id}/webhook."""
    router = APIRouter(prefix="/connectors", tags=["connectors"], route_class=ProtectedRoute)
    not_found: dict[int | str, dict[str, Any]] = {404: {"model": ErrorBody}}

    @router.get("/{connector_id}/webhook", response_model=WebhookInfo, responses=not_found)
    async def read(connector_id: IdPath, request: Request) -> WebhookInfo:
        return await _info(gateway_of(request), request, connector_id)

    @router.post("/{connector_id}/webhook", response_model=WebhookInfo, responses=not_found)
    async def setup(connector_id: IdPath, body: WebhookSetup, request: Request) -> WebhookInfo:
        """Create (or replace) the token; the answer is the only one that shows it whole."""
        gw = gateway_of(request)
        token = secrets.token_urlsafe(32)
        await _info(gw, request, connector_id)  # 404 for an unknown connector
        async with gw.ctx.pool.acquire() as conn:
            await conn.execute(
                "INSERT INTO connector_webhooks (connector_id, token_enc, token_last4,"
                " signature_header) VALUES ($1, $2, $3, $4) ON CONFLICT (connector_id) DO UPDATE"
                " SET token_enc = $2, token_last4 = $3, signature_header = $4,"
                " created_at = now()",
                connector_id,
                gw.box.encrypt(token, aad=_aad(connector_id)),
                token[-4:],
                body.signature_header,
            )
        log.info("connector webhook token created", connector_id=connector_id)
        info = await _info(gw, request, connector_id)
        return info.model_copy(update={"password": token})

    @router.delete(
        "/{connector_id}/webhook", status_code=204, response_class=Response, responses=not_found
    )
    async def disable(connector_id: IdPath, request: Request) -> Response:
        gw = gateway_of(request)
        await _info(gw, request, connector_id)
        async with gw.ctx.pool.acquire() as conn:
            await conn.execute(
                "DELETE FROM connector_webhooks WHERE connector_id = $1", connector_id
            )
        return Response(status_code=204)

    return router


# --- the call itself (public, token-authenticated) -------------------------------------


def _presented_token(request: Request) -> str | None:
    header = request.headers.get(TOKEN_HEADER)
    if header:
        return header.strip()
    auth = request.headers.get("authorization", "")
    scheme, _, value = auth.partition(" ")
    if scheme.lower() != "basic" or not value:
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    _user, sep, password = decoded.partition(":")
    return password if sep else None


def _signature_ok(token: str, body: bytes, presented: str | None) -> bool:
    if not presented:
        return False
    digest = presented.strip().removeprefix("sha256=").lower()
    expected = hmac.new(token.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(digest.encode(), expected.encode())


def _parse(body: bytes) -> ArrPayload:
    try:
        return ArrPayload.model_validate(json.loads(body))
    except (ValueError, ValidationError, RecursionError) as exc:
        detail = "the body is not an *arr webhook payload (JSON with an eventType)"
        if isinstance(exc, ValidationError):
            where = ", ".join(".".join(map(str, e["loc"])) for e in exc.errors()[:3])
            detail = f"{detail}: check {where}"
        raise HTTPException(400, detail) from None


def _event(connector_id: int, payload: ArrPayload, message_id: str) -> ArrWebhookReceived:
    kind = _EVENTS.get(payload.eventType.lower(), "other")
    return ArrWebhookReceived(
        message_id=message_id,
        connector_id=connector_id,
        event_type=kind,
        raw_event_type=payload.eventType,
        series_arr_id=payload.series.id if payload.series else None,
        episode_arr_ids=[e.id for e in payload.episodes if e.id is not None],
        movie_arr_id=payload.movie.id if payload.movie else None,
        release_title=payload.release.releaseTitle if payload.release else None,
        download_id=payload.downloadId,
        is_upgrade=payload.isUpgrade,
        health_level=payload.level,
        health_message=payload.message,
        health_type=payload.type,
    )


async def _apply_health(gw: Gateway, event: ArrWebhookReceived) -> None:
    """A health issue (warning → degraded, error → unhealthy) or its end, as reported."""
    message = event.health_message or event.health_type or "health issue reported by the app"
    async with gw.ctx.pool.acquire() as conn:
        current = await conn.fetchrow(
            "SELECT health_status, health_messages FROM connectors WHERE id = $1",
            event.connector_id,
        )
        if current is None:
            return
        if event.event_type == "health":
            level = (event.health_level or "").lower()
            if level not in ("warning", "error"):
                return
            status = "unhealthy" if level == "error" else "degraded"
            messages = [message]
        else:
            # Restored: healthy again only if this was the issue on record; otherwise the
            # scheduler's next check settles it.
            if list(current["health_messages"] or []) != [message]:
                return
            status, messages = "healthy", []
        previous = await record_health(
            conn,
            connector_id=event.connector_id,
            status=status,  # type: ignore[arg-type]
            messages=messages,
        )
    if previous != status:
        await gw.ctx.bus.publish(
            ConnectorHealthChanged(
                message_id=f"health:{event.message_id}",
                correlation_id=event.correlation_id,
                connector_id=event.connector_id,
                previous=None if previous == "unknown" else previous,  # type: ignore[arg-type]
                current=status,  # type: ignore[arg-type]
                messages=messages,
            )
        )


async def _publish(gw: Gateway, event: ArrWebhookReceived, digest: str) -> None:
    """The messages a call becomes: the report itself, a sync of what it names, health."""
    if event.event_type != "test":
        await gw.ctx.bus.publish(event)
    if event.event_type in ("grab", "download"):
        series = [event.series_arr_id] if event.series_arr_id else []
        movies = [event.movie_arr_id] if event.movie_arr_id else []
        if series or movies:
            await gw.ctx.bus.publish(
                RequestSweep(
                    message_id=f"webhook-sync:{event.connector_id}:{digest}",
                    correlation_id=event.correlation_id,
                    connector_id=event.connector_id,
                    sync_mode="incremental",
                    requested_by="webhook",
                    series_arr_ids=series,
                    movie_arr_ids=movies,
                )
            )
    elif event.event_type in ("health", "health_restored"):
        await _apply_health(gw, event)


def webhook_router() -> APIRouter:
    """Public: the webhook endpoint itself."""
    router = APIRouter(tags=["webhooks"])
    responses: dict[int | str, dict[str, Any]] = {
        400: {"model": ErrorBody, "description": "Not an *arr webhook payload"},
        401: {"model": ErrorBody, "description": "Wrong or missing token, or bad signature"},
        413: {"model": ErrorBody, "description": "Body too large"},
        503: {"model": ErrorBody, "description": "The message bus is not reachable"},
    }

    async def receive(connector_id: IdPath, request: Request) -> JSONResponse:
        """An *arr app's webhook call (Sonarr, Radarr, Whisparr: Settings → Connect)."""
        gw = gateway_of(request)
        body = await request.body()
        async with gw.ctx.pool.acquire() as conn:
            row = await conn.fetchrow(
                "SELECT token_enc, signature_header FROM connector_webhooks"
                " WHERE connector_id = $1",
                connector_id,
            )
        presented = _presented_token(request)
        # The same answer for an unknown connector, no webhook, or a wrong token.
        if row is None or presented is None:
            return JSONResponse(_DENIED, status_code=401)
        try:
            token = gw.box.decrypt(bytes(row["token_enc"]), aad=_aad(connector_id))
        except CryptoError:
            log.warning("webhook token unreadable (SECRET_KEY changed?)", connector_id=connector_id)
            return JSONResponse(_DENIED, status_code=401)
        if not hmac.compare_digest(presented.encode(), token.encode()):
            log.info("webhook refused: wrong token", connector_id=connector_id)
            return JSONResponse(_DENIED, status_code=401)
        header = row["signature_header"]
        if header and not _signature_ok(token, body, request.headers.get(header)):
            log.info("webhook refused: bad signature", connector_id=connector_id)
            return JSONResponse({"detail": "invalid webhook signature"}, status_code=401)
        payload = _parse(body)
        digest = hashlib.sha256(body).hexdigest()[:40]
        event = _event(connector_id, payload, f"arr-webhook:{connector_id}:{digest}")
        async with gw.ctx.pool.acquire() as conn:
            await conn.execute(
                "UPDATE connector_webhooks SET last_received_at = now(), last_event = $2,"
                " received_count = received_count + 1 WHERE connector_id = $1",
                connector_id,
                payload.eventType[:64],
            )
        try:
            await _publish(gw, event, digest)
        except Exception as exc:  # NATS unreachable: say so, the app may call again
            log.warning("webhook not queued", connector_id=connector_id, error=repr(exc))
            return JSONResponse(
                {"detail": "the message bus is not reachable; try again"}, status_code=503
            )
        log.info("webhook received", connector_id=connector_id, kind=event.event_type)
        return JSONResponse({"accepted": True, "event": event.event_type}, status_code=202)

    for method in ("POST", "PUT"):
        router.add_api_route(
            WEBHOOK_PATH,
            receive,
            methods=[method],
            status_code=202,
            responses=responses,
            name=f"arr_webhook_{method.lower()}",
            operation_id=f"arr_webhook_{method.lower()}",
            # Public to the session/API-key layer; the connector's webhook token guards it.
            openapi_extra={"security": [{"WebhookBasic": []}, {"WebhookToken": []}]},
        )
    return router
