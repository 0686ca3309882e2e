"""Notification channels (CRUD + a real test send), the kinds' forms, and the delivery log.

The gateway writes channel configuration (it is the only HTTP door, as for connectors); the
notifier reads it to route and send, and alone writes the delivery log and each channel's
send health, which these routes only read.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import asyncpg
from comradarr_channels import (
    EVENT_KINDS,
    KINDS,
    Channel,
    ChannelNotFoundError,
    ChannelSecret,
    QuietHours,
    build_url,
    create_channel,
    delete_channel,
    get_channel,
    get_secret,
    list_channels,
    merge_fields,
    normalise_events,
    record_test,
    send,
    update_channel,
    validate_url,
)
from comradarr_logging import get_logger
from fastapi import APIRouter, HTTPException, Path, Query, Request, Response
from pydantic import BaseModel, Field

from .models import ErrorBody, Strict
from .security import ProtectedRoute
from .state import Gateway, gateway_of

log = get_logger(__name__)

IdPath = Annotated[int, Path(ge=1, le=2**31 - 1)]
# A channel whose last sends failed this many times in a row shows as failing.
FAILING_AFTER = 3
TEST_TIMEOUT_SECONDS = 20.0
_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorBody, "description": "No channel has that id"}
}
_INVALID: dict[int | str, dict[str, Any]] = {
    422: {"model": ErrorBody, "description": "The URL, form or event list is not valid"}
}

Kind = Literal[
    "discord", "telegram", "slack", "pushover", "gotify", "ntfy", "email", "webhook", "apprise"
]
FormValues = dict[Annotated[str, Field(max_length=64)], Annotated[str, Field(max_length=2048)]]


class ChannelIn(Strict):
    """A new channel: an Apprise URL, or a kind's form (the URL is built from it)."""

    name: str = Field(min_length=1, max_length=100)
    kind: Kind | None = Field(default=None, description="Omitted with a url: 'apprise'.")
    url: str | None = Field(default=None, max_length=2048, description="Any Apprise URL.")
    fields: FormValues | None = Field(default=None, description="The kind's form values.")
    events: list[Annotated[str, Field(max_length=64)]] | None = Field(
        default=None, max_length=50, description="Event kinds; omitted or ['all'] = every kind."
    )
    enabled: bool = True
    digest_minutes: int = Field(default=0, ge=0, le=1440)
    quiet_hours: QuietHours | None = None


class ChannelPatch(Strict):
    """Changes to a channel; a secret field left empty (or still masked) keeps its value."""

    name: str | None = Field(default=None, min_length=1, max_length=100)
    url: str | None = Field(default=None, max_length=2048)
    fields: FormValues | None = None
    events: list[Annotated[str, Field(max_length=64)]] | None = Field(default=None, max_length=50)
    enabled: bool | None = None
    digest_minutes: int | None = Field(default=None, ge=0, le=1440)
    quiet_hours: QuietHours | None = None


class ChannelOut(BaseModel):
    """A channel as every response shows it: secrets masked to their last four characters."""

    id: int
    name: str
    kind: str
    url_masked: str
    fields: dict[str, str]
    events: list[str] = Field(description="Empty: every kind.")
    enabled: bool
    digest_minutes: int
    quiet_hours: QuietHours | None
    status: Literal["ok", "failing", "test_failed", "untested"] = Field(
        description="failing: the last sends failed; test_failed: nothing sent yet and the "
        "last test failed; untested: neither a send nor a test yet."
    )
    consecutive_failures: int
    last_error: str | None
    last_success_at: datetime | None
    last_failure_at: datetime | None
    last_test_at: datetime | None
    last_test_ok: bool | None
    last_test_detail: str | None
    created_at: datetime
    updated_at: datetime


class ChannelTestResult(BaseModel):
    """What Apprise answered to the test message (its messages scrubbed of secrets)."""

    ok: bool
    detail: str
    elapsed_ms: int


class FormFieldOut(BaseModel):
    """One input of a kind's form."""

    name: str
    label: str
    secret: bool
    required: bool
    placeholder: str
    default: str
    choices: list[str]
    help: str


class KindOut(BaseModel):
    """A channel kind and its form."""

    kind: str
    label: str
    fields: list[FormFieldOut]


class EventKindOut(BaseModel):
    """An event kind a channel can take."""

    key: str
    label: str
    immediate: bool = Field(description="Sent at once, never held for a digest.")
    description: str


class NotificationKinds(BaseModel):
    """Everything the channel form needs."""

    channel_kinds: list[KindOut]
    event_kinds: list[EventKindOut]


class DeliveryOut(BaseModel):
    """One routed event for one channel, and what became of it."""

    id: int
    channel_id: int | None
    channel_name: str
    event_kind: str
    title: str
    status: Literal["pending", "held", "sent", "failed", "dropped"]
    attempts: int
    batch_size: int | None
    error: str | None
    created_at: datetime
    due_at: datetime
    sent_at: datetime | None


def resolve_secret(kind: str, url: str | None, fields: dict[str, str] | None) -> ChannelSecret:
    """The URL (validated by Apprise) and form a request describes; ValueError says why not."""
    if kind == "apprise" and url is not None and not fields:
        fields = {"url": url}
    if fields is None:
        raise ValueError(f"a {kind} channel needs its form fields (or use kind 'apprise')")
    built = build_url(kind, fields)
    validate_url(built)
    return ChannelSecret(url=built, fields=dict(fields))


def _resolve(kind: str, url: str | None, fields: dict[str, str] | None) -> ChannelSecret:
    """resolve_secret, or a 422."""
    try:
        return resolve_secret(kind, url, fields)
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None


def _events(events: list[str] | None) -> list[str]:
    try:
        return normalise_events(events)
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None


async def _health(conn: Any, ids: list[int]) -> dict[int, Any]:
    rows = await conn.fetch(
        "SELECT * FROM notification_channel_health WHERE channel_id = ANY ($1::int[])", ids
    )
    return {r["channel_id"]: r for r in rows}


def _out(c: Channel, health: Any) -> ChannelOut:
    failures = int(health["consecutive_failures"]) if health else 0
    status: Literal["ok", "failing", "test_failed", "untested"]
    if health is not None:
        status = "failing" if failures >= FAILING_AFTER else "ok"
    elif c.last_test_ok is None:
        status = "untested"
    else:
        status = "ok" if c.last_test_ok else "test_failed"
    return ChannelOut(
        **c.model_dump(),
        status=status,
        consecutive_failures=failures,
        last_error=health["last_error"] if health and failures else None,
        last_success_at=health["last_success_at"] if health else None,
        last_failure_at=health["last_failure_at"] if health else None,
    )


async def _one(gw: Gateway, channel_id: int) -> ChannelOut:
    async with gw.ctx.pool.acquire() as conn:
        try:
            c = await get_channel(conn, channel_id=channel_id)
        except ChannelNotFoundError:
            raise HTTPException(404, "no channel has that id") from None
        health = (await _health(conn, [channel_id])).get(channel_id)
    return _out(c, health)


def notifications_router() -> APIRouter:
    """Routes under /notifications."""
    router = APIRouter(prefix="/notifications", tags=["notifications"], route_class=ProtectedRoute)

    @router.get("/kinds", response_model=NotificationKinds)
    async def kinds() -> NotificationKinds:
        return NotificationKinds(
            channel_kinds=[
                KindOut(
                    kind=spec.kind,
                    label=spec.label,
                    fields=[
                        FormFieldOut(
                            name=f.name,
                            label=f.label,
                            secret=f.secret,
                            required=f.required,
                            placeholder=f.placeholder,
                            default=f.default,
                            choices=list(f.choices),
                            help=f.help,
                        )
                        for f in spec.fields
                    ],
                )
                for spec in KINDS.values()
            ],
            event_kinds=[
                EventKindOut(
                    key=k.key, label=k.label, immediate=k.immediate, description=k.description
                )
                for k in EVENT_KINDS
            ],
        )

    @router.get("/channels", response_model=list[ChannelOut])
    async def list_all(request: Request) -> list[ChannelOut]:
        async with gateway_of(request).ctx.pool.acquire() as conn:
            channels = await list_channels(conn)
            health = await _health(conn, [c.id for c in channels])
        return [_out(c, health.get(c.id)) for c in channels]

    @router.post(
        "/channels",
        status_code=201,
        response_model=ChannelOut,
        responses={**_INVALID, 409: {"model": ErrorBody, "description": "Name already used"}},
    )
    async def create(body: ChannelIn, request: Request) -> ChannelOut:
        gw = gateway_of(request)
        kind = body.kind or "apprise"
        secret = _resolve(kind, body.url, body.fields)
        try:
            async with gw.ctx.pool.acquire() as conn:
                c = await create_channel(
                    conn,
                    box=gw.box,
                    name=body.name.strip(),
                    kind=kind,
                    url=secret.url,
                    fields=secret.fields,
                    events=_events(body.events),
                    enabled=body.enabled,
                    digest_minutes=body.digest_minutes,
                    quiet=body.quiet_hours,
                )
        except asyncpg.UniqueViolationError:
            raise HTTPException(409, "a channel with that name already exists") from None
        log.info("notification channel created", channel_id=c.id, kind=kind)
        return _out(c, None)

    @router.get("/channels/{channel_id}", response_model=ChannelOut, responses=_NOT_FOUND)
    async def get_one(channel_id: IdPath, request: Request) -> ChannelOut:
        return await _one(gateway_of(request), channel_id)

    @router.patch(
        "/channels/{channel_id}",
        response_model=ChannelOut,
        responses={**_NOT_FOUND, **_INVALID, 409: {"model": ErrorBody}},
    )
    async def update(channel_id: IdPath, body: ChannelPatch, request: Request) -> ChannelOut:
        gw = gateway_of(request)
        given = body.model_fields_set
        changes: dict[str, Any] = {}
        for name in ("name", "enabled", "digest_minutes"):
            value = getattr(body, name)
            if name in given and value is not None:
                changes[name] = value.strip() if isinstance(value, str) else value
        if "events" in given:
            changes["events"] = _events(body.events)
        if "quiet_hours" in given:
            changes["quiet"] = body.quiet_hours
        try:
            async with gw.ctx.pool.acquire() as conn:
                current = await get_channel(conn, channel_id=channel_id)
                secret = None
                if body.fields is not None or body.url is not None:
                    stored = await get_secret(conn, box=gw.box, channel_id=channel_id)
                    fields = body.fields
                    if fields is not None:
                        fields = merge_fields(current.kind, fields, stored.fields)
                    secret = _resolve(current.kind, body.url, fields)
                await update_channel(
                    conn, box=gw.box, channel_id=channel_id, changes=changes, secret=secret
                )
        except ChannelNotFoundError:
            raise HTTPException(404, "no channel has that id") from None
        except asyncpg.UniqueViolationError:
            raise HTTPException(409, "a channel with that name already exists") from None
        return await _one(gw, channel_id)

    @router.delete(
        "/channels/{channel_id}", status_code=204, response_class=Response, responses=_NOT_FOUND
    )
    async def delete(channel_id: IdPath, request: Request) -> Response:
        async with gateway_of(request).ctx.pool.acquire() as conn:
            try:
                await delete_channel(conn, channel_id=channel_id)
            except ChannelNotFoundError:
                raise HTTPException(404, "no channel has that id") from None
        log.info("notification channel deleted", channel_id=channel_id)
        return Response(status_code=204)

    @router.post(
        "/channels/{channel_id}/test", response_model=ChannelTestResult, responses=_NOT_FOUND
    )
    async def test(channel_id: IdPath, request: Request) -> ChannelTestResult:
        """Send a real test message now and answer with Apprise's result."""
        gw = gateway_of(request)
        async with gw.ctx.pool.acquire() as conn:
            try:
                c = await get_channel(conn, channel_id=channel_id)
                url = (await get_secret(conn, box=gw.box, channel_id=channel_id)).url
            except ChannelNotFoundError:
                raise HTTPException(404, "no channel has that id") from None
        settings = await gw.app_settings()
        result = await send(
            url,
            title=f"{settings.general.app_name} · test",
            body=f"This is a test message for the channel “{c.name}”. It works.",
            timeout=TEST_TIMEOUT_SECONDS,
        )
        async with gw.ctx.pool.acquire() as conn:
            await record_test(conn, channel_id=channel_id, ok=result.ok, detail=result.detail)
        log.info("notification test sent", channel_id=channel_id, ok=result.ok)
        return ChannelTestResult(ok=result.ok, detail=result.detail, elapsed_ms=result.elapsed_ms)

    @router.get("/deliveries", response_model=list[DeliveryOut])
    async def deliveries(
        request: Request,
        channel_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
        status: Annotated[
            Literal["pending", "held", "sent", "failed", "dropped"] | None, Query()
        ] = None,
        before_id: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
    ) -> list[DeliveryOut]:
        """The delivery log, newest first (page on with before_id)."""
        async with gateway_of(request).ctx.pool.acquire() as conn:
            rows = await conn.fetch(
                "SELECT id, channel_id, channel_name, event_kind, title, status, attempts,"
                " batch_size, error, created_at, due_at, sent_at FROM notification_deliveries"
                " WHERE ($1::int IS NULL OR channel_id = $1)"
                " AND ($2::text IS NULL OR status = $2)"
                " AND ($3::bigint IS NULL OR id < $3)"
                " ORDER BY id DESC LIMIT $4",
                channel_id,
                status,
                before_id,
                limit,
            )
        return [DeliveryOut(**dict(r)) for r in rows]

    return router
