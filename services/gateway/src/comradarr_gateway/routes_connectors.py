"""Connectors: CRUD, enable/disable, connection tests, health, sync runs, stats."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

import asyncpg
import httpx
from comradarr_arr import AppKind, ConnectorConfig, test_connection, tls_verify
from comradarr_connectors import (
    Connector,
    ConnectorNotFoundError,
    create_connector,
    delete_connector,
    get_api_key,
    get_connector,
    list_connectors,
    record_detected_version,
    record_health,
    update_connector,
)
from comradarr_connectors import HealthStatus as ConnHealth
from comradarr_crypto import SecretBox
from comradarr_db import Connection
from comradarr_logging import get_logger
from comradarr_proto import ConnectorHealthChanged
from comradarr_throttle import parse_windows
from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response
from pydantic import Field

from . import repo, sweeps
from .errors import invalid
from .models import (
    ConnectorCreate,
    ConnectorHealth,
    ConnectorOut,
    ConnectorStats,
    ConnectorTest,
    ConnectorType,
    ConnectorUpdate,
    ErrorBody,
    HealthPoint,
    SearchWindowIn,
    SearchWindowOut,
    Strict,
    SyncRun,
    SyncRuns,
    TestResult,
)
from .routes_schedules import ScheduleOut, schedule_out
from .security import Principal, ProtectedRoute, current_principal
from .state import Gateway, gateway_of
from .sweeps import PlannedSchedule, SweepStarted

log = get_logger(__name__)

IdPath = Annotated[int, Path(ge=1, le=2**31 - 1)]
Limit = Annotated[int, Query(ge=1, le=500)]
_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorBody, "description": "No connector has that id"}
}
_REFUSED = {"model": ErrorBody, "description": "The sweep would be skipped (the detail says why)"}
# Tables of the content mirror counted in stats, where they exist.
MIRROR_TABLES = ["series", "seasons", "episodes", "movies", "search_registry"]


class ConnectorCreated(ConnectorOut):
    """A new connector with what creating it started: its test, schedules and first sweep."""

    test: TestResult
    schedules: list[ScheduleOut] = Field(description="The default schedules created for it.")
    first_sweep: SweepStarted | None = Field(
        description="The first full sweep, started at once; None when it could not start."
    )
    first_sweep_note: str | None = Field(
        default=None, description="Why no first sweep started, in words."
    )


class SyncNow(Strict):
    """Sync now: incremental (what changed) or full (reconcile everything)."""

    mode: Literal["incremental", "full"] = "incremental"


def same_url(a: str, b: str) -> bool:
    """Whether two connector URLs name the same app (case of scheme and host, final /)."""

    def norm(u: str) -> tuple[str, str, str]:
        parts = urlsplit(u.strip())
        return parts.scheme.lower(), parts.netloc.lower(), parts.path.rstrip("/")

    return norm(a) == norm(b)


def out(c: Connector) -> ConnectorOut:
    """The public view of a connector (masked key)."""
    return ConnectorOut(
        id=c.id,
        type=c.type,
        name=c.name,
        url=c.url,
        api_key_masked=c.api_key_masked,
        enabled=c.enabled,
        verify_ssl=c.verify_ssl,
        timeout_seconds=c.timeout_seconds,
        app_name=c.app_name,
        app_version=c.app_version,
        api_version=c.api_version,
        health_status=c.health_status,
        health_messages=c.health_messages,
        health_checked_at=c.health_checked_at,
        format_upgrades=c.format_upgrades,
        queue_limit=c.queue_limit,
        search_windows=[SearchWindowOut.model_validate(w) for w in c.search_windows],
        search_timezone=c.search_timezone,
        throttle_profile_id=c.throttle_profile_id,
        created_at=c.created_at,
        updated_at=c.updated_at,
    )


def _windows(windows: list[SearchWindowIn]) -> list[dict[str, Any]]:
    """The windows as stored, in the rule's own form (comradarr_throttle reads them)."""
    return [w.to_json() for w in parse_windows([w.model_dump() for w in windows])]


async def insert_connector(
    conn: Connection,
    *,
    box: SecretBox,
    body: ConnectorCreate,
    timezone: str,
    throttle_profile_id: int | None = None,
) -> Connector:
    """Store a connector as a create request describes it (the API's and an import's)."""
    return await create_connector(
        conn,
        box=box,
        type=body.type,
        name=body.name,
        url=body.url,
        api_key=body.api_key,
        enabled=body.enabled,
        verify_ssl=body.verify_ssl,
        timeout_seconds=body.timeout_seconds,
        throttle_profile_id=throttle_profile_id,
        format_upgrades=body.format_upgrades,
        queue_limit=body.queue_limit,
        search_windows=_windows(body.search_windows),
        search_timezone=body.search_timezone or timezone,
    )


def _scrub(text: str | None, secret: str) -> str | None:
    if text is None or not secret:
        return text
    return text.replace(secret, "****")


def _status_for(result: TestResult) -> ConnHealth:
    if result.ok:
        return "healthy"
    if result.error in {"timeout", "connection_refused", "dns", "network", "tls"}:
        return "offline"
    if result.error == "authentication":
        return "auth_failed"
    if result.error in {"unsupported", "not_found"}:
        return "unhealthy"
    return "degraded"


class _Shared(httpx.AsyncBaseTransport):
    """A long-lived transport a per-test ArrClient may use but not close.

    Building an SSL context per connection test is slow, synchronous work on the event
    loop; twenty tests at once would stall every other request.
    """

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        return None


_TRANSPORTS: dict[bool, _Shared] = {}


def _transport(verify: bool) -> _Shared:
    if verify not in _TRANSPORTS:
        limits = httpx.Limits(max_connections=100, max_keepalive_connections=0)
        _TRANSPORTS[verify] = _Shared(
            httpx.AsyncHTTPTransport(verify=tls_verify(verify), limits=limits)
        )
    return _TRANSPORTS[verify]


async def run_test(
    gw: Gateway, *, kind: str, url: str, api_key: str, verify_ssl: bool, timeout: float
) -> TestResult:
    """Try a connection, bounded in time, with the key scrubbed from every message."""
    timeout = min(timeout, gw.settings.connector_test_max_timeout)
    config = ConnectorConfig(
        name="connection-test",
        url=url,
        api_key=api_key,
        app=AppKind(kind),
        verify_tls=verify_ssl,
        timeout=timeout,
    )
    try:
        # The client has its own per-request timeout; this bounds the whole test.
        async with asyncio.timeout(timeout * 2 + 1):
            result = await test_connection(config=config, transport=_transport(verify_ssl))
    except TimeoutError:
        return TestResult(
            ok=False,
            url=url,
            elapsed_ms=timeout * 2000,
            error="timeout",
            message=f"no answer from {url} within {timeout:g} s",
        )
    data: dict[str, Any] = result.to_dict()
    for field in ("message", "url", "instance_name"):
        if isinstance(data.get(field), str):
            data[field] = _scrub(data[field], api_key)
    return TestResult.model_validate(data)


def connectors_router() -> APIRouter:
    """Routes under /connectors."""
    router = APIRouter(prefix="/connectors", tags=["connectors"], route_class=ProtectedRoute)

    @router.get("", response_model=list[ConnectorOut])
    async def list_all(request: Request) -> list[ConnectorOut]:
        async with gateway_of(request).ctx.pool.acquire() as conn:
            return [out(c) for c in await list_connectors(conn)]

    @router.post(
        "",
        status_code=201,
        response_model=ConnectorCreated,
        responses={
            409: {
                "model": ErrorBody,
                "description": "Name already used, or the same app already connected",
            }
        },
    )
    async def create(
        body: ConnectorCreate,
        request: Request,
        principal: Principal = Depends(current_principal),  # noqa: B008
    ) -> ConnectorCreated:
        """Test the connection, store the connector with what answered (app and API version),
        create its default schedules and start its first full sweep."""
        gw = gateway_of(request)
        async with gw.ctx.pool.acquire() as conn:
            twins = [
                c
                for c in await list_connectors(conn)
                if c.type == body.type and same_url(c.url, body.url)
            ]
        if twins and not body.confirm_duplicate:
            raise HTTPException(
                409,
                f"the {body.type} connector '{twins[0].name}' already uses this URL;"
                " send confirm_duplicate=true to add it again",
            )
        result = await run_test(
            gw,
            kind=body.type,
            url=body.url,
            api_key=body.api_key,
            verify_ssl=body.verify_ssl,
            timeout=body.timeout_seconds,
        )
        status = _status_for(result)
        messages = [result.message] if result.message else []
        tz = (await gw.app_settings()).general.timezone
        async with gw.ctx.pool.acquire() as conn:
            await _check_profile(conn, body.throttle_profile_id)
        timezone = body.search_timezone or tz
        try:
            async with gw.ctx.pool.acquire() as conn, conn.transaction():
                plans = await sweeps.plan_default_schedules(
                    conn, connector_type=body.type, timezone=tz
                )
                c = await insert_connector(
                    conn,
                    box=gw.box,
                    body=body,
                    timezone=timezone,
                    throttle_profile_id=body.throttle_profile_id,
                )
                await record_health(conn, connector_id=c.id, status=status, messages=messages)
                await _record_version(conn, c.id, result)
                made = await sweeps.create_default_schedules(conn, connector_id=c.id, plans=plans)
                c = await get_connector(conn, connector_id=c.id)
        except asyncpg.UniqueViolationError:
            raise HTTPException(409, "a connector with that name already exists") from None
        log.info("connector created", connector_id=c.id, type=c.type, health=status)
        await _announce_health(gw, c.id, "unknown", status, messages)
        first: SweepStarted | None = None
        note: str | None = None
        if c.type == "prowlarr":
            note = "Prowlarr has no library to sweep"
        elif not c.enabled:
            note = "the connector is disabled: enable it to sweep"
        elif not result.ok:
            note = (
                f"the connection test failed ({result.message or result.error});"
                " the hourly sweep starts once the connector is healthy, or use Sync now"
            )
        else:
            try:
                first = await sweeps.request_sweep(
                    gw,
                    connector_id=c.id,
                    sync_mode="full",
                    requested_by=f"user:{principal.username}",
                )
            except sweeps.SweepRefused as exc:
                note = exc.reason
            except HTTPException as exc:
                note = str(exc.detail)
        return ConnectorCreated(
            **out(c).model_dump(),
            test=result,
            schedules=[schedule_out(s) for s in made],
            first_sweep=first,
            first_sweep_note=note,
        )

    @router.get("/default-schedules", response_model=list[PlannedSchedule])
    async def default_schedules(
        request: Request, type: Annotated[ConnectorType, Query()] = "sonarr"
    ) -> list[PlannedSchedule]:
        """The schedules a connector of this type would get if it were saved now."""
        gw = gateway_of(request)
        tz = (await gw.app_settings()).general.timezone
        async with gw.ctx.pool.acquire() as conn:
            return await sweeps.plan_default_schedules(conn, connector_type=type, timezone=tz)

    @router.post("/test", response_model=TestResult)
    async def test_unsaved(body: ConnectorTest, request: Request) -> TestResult:
        return await run_test(
            gateway_of(request),
            kind=body.type,
            url=body.url,
            api_key=body.api_key,
            verify_ssl=body.verify_ssl,
            timeout=body.timeout,
        )

    @router.get("/{connector_id}", response_model=ConnectorOut, responses=_NOT_FOUND)
    async def get_one(connector_id: IdPath, request: Request) -> ConnectorOut:
        async with gateway_of(request).ctx.pool.acquire() as conn:
            return out(await _get(conn, connector_id))

    @router.patch(
        "/{connector_id}",
        response_model=ConnectorOut,
        responses={**_NOT_FOUND, 409: {"model": ErrorBody}},
    )
    async def update(connector_id: IdPath, body: ConnectorUpdate, request: Request) -> ConnectorOut:
        gw = gateway_of(request)
        changes = body.model_dump(exclude_unset=True, exclude={"api_key", "search_windows"})
        changes = {k: v for k, v in changes.items() if v is not None}
        for nullable in ("queue_limit", "throttle_profile_id"):  # null clears it
            if nullable in body.model_fields_set:
                changes[nullable] = getattr(body, nullable)
        if body.search_windows is not None:
            changes["search_windows"] = _windows(body.search_windows)
        try:
            async with gw.ctx.pool.acquire() as conn:
                await _get(conn, connector_id)
                await _check_profile(conn, changes.get("throttle_profile_id"))
                c = await update_connector(
                    conn,
                    box=gw.box,
                    connector_id=connector_id,
                    changes=changes,
                    api_key=body.api_key,
                )
        except ConnectorNotFoundError:
            raise HTTPException(404, "no connector has that id") from None
        except asyncpg.UniqueViolationError:
            raise HTTPException(409, "a connector with that name already exists") from None
        if body.api_key is not None or (
            c.health_status == "auth_failed" and {"url", "type"} & set(changes)
        ):
            # A new key (or address) is tested at once: a refused key's status clears now,
            # not at the next health check.
            await _test_and_record(gw, connector_id)
            async with gw.ctx.pool.acquire() as conn:
                c = await _get(conn, connector_id)
        return out(c)

    @router.delete(
        "/{connector_id}", status_code=204, response_class=Response, responses=_NOT_FOUND
    )
    async def delete(connector_id: IdPath, request: Request) -> Response:
        async with gateway_of(request).ctx.pool.acquire() as conn:
            try:
                await delete_connector(conn, connector_id=connector_id)
            except ConnectorNotFoundError:
                raise HTTPException(404, "no connector has that id") from None
        log.info("connector deleted", connector_id=connector_id)
        return Response(status_code=204)

    async def _set_enabled(request: Request, connector_id: int, enabled: bool) -> ConnectorOut:
        gw = gateway_of(request)
        async with gw.ctx.pool.acquire() as conn:
            await _get(conn, connector_id)
            c = await update_connector(
                conn, box=gw.box, connector_id=connector_id, changes={"enabled": enabled}
            )
        return out(c)

    @router.post("/{connector_id}/enable", response_model=ConnectorOut, responses=_NOT_FOUND)
    async def enable(connector_id: IdPath, request: Request) -> ConnectorOut:
        return await _set_enabled(request, connector_id, True)

    @router.post("/{connector_id}/disable", response_model=ConnectorOut, responses=_NOT_FOUND)
    async def disable(connector_id: IdPath, request: Request) -> ConnectorOut:
        return await _set_enabled(request, connector_id, False)

    @router.post("/{connector_id}/test", response_model=TestResult, responses=_NOT_FOUND)
    async def test_saved(connector_id: IdPath, request: Request) -> TestResult:
        return await _test_and_record(gateway_of(request), connector_id)

    async def _test_and_record(gw: Gateway, connector_id: int) -> TestResult:
        """Test the stored connector and record what answered as its health."""
        async with gw.ctx.pool.acquire() as conn:
            c = await _get(conn, connector_id)
            api_key = await get_api_key(conn, box=gw.box, connector_id=connector_id)
        result = await run_test(
            gw,
            kind=c.type,
            url=c.url,
            api_key=api_key,
            verify_ssl=c.verify_ssl,
            timeout=c.timeout_seconds,
        )
        status = _status_for(result)
        messages = [result.message] if result.message else []
        async with gw.ctx.pool.acquire() as conn:
            previous = await record_health(
                conn, connector_id=connector_id, status=status, messages=messages
            )
            await _record_version(conn, connector_id, result)
        await _announce_health(gw, connector_id, previous, status, messages)
        return result

    @router.post(
        "/{connector_id}/sync",
        status_code=202,
        response_model=SweepStarted,
        responses={**_NOT_FOUND, 409: _REFUSED, 503: {"model": ErrorBody}},
    )
    async def sync_now(
        connector_id: IdPath,
        request: Request,
        body: SyncNow | None = None,
        principal: Principal = Depends(current_principal),  # noqa: B008
    ) -> SweepStarted:
        """Sweep the connector now (sync, then discovery); 409 says why when it would be
        skipped (disabled, Prowlarr, a sweep still running)."""
        gw = gateway_of(request)
        async with gw.ctx.pool.acquire() as conn:
            await _get(conn, connector_id)
        try:
            return await sweeps.request_sweep(
                gw,
                connector_id=connector_id,
                sync_mode=(body or SyncNow()).mode,
                requested_by=f"user:{principal.username}",
            )
        except sweeps.SweepRefused as exc:
            raise sweeps.refused(exc) from None

    @router.get("/{connector_id}/health", response_model=ConnectorHealth, responses=_NOT_FOUND)
    async def health(connector_id: IdPath, request: Request, limit: Limit = 20) -> ConnectorHealth:
        async with gateway_of(request).ctx.pool.acquire() as conn:
            c = await _get(conn, connector_id)
            rows = await conn.fetch(
                "SELECT status, messages, checked_at FROM connector_health_history"
                " WHERE connector_id = $1 ORDER BY checked_at DESC, id DESC LIMIT $2",
                connector_id,
                limit,
            )
        return ConnectorHealth(
            connector_id=c.id,
            status=c.health_status,
            messages=c.health_messages,
            checked_at=c.health_checked_at,
            history=[HealthPoint(**dict(r)) for r in rows],
        )

    @router.get("/{connector_id}/sync-runs", response_model=SyncRuns, responses=_NOT_FOUND)
    async def sync_runs(connector_id: IdPath, request: Request, limit: Limit = 50) -> SyncRuns:
        async with gateway_of(request).ctx.pool.acquire() as conn:
            await _get(conn, connector_id)
            if not await repo.table_exists(conn, name="sync_runs"):
                return SyncRuns(available=False, items=[])
            rows = await conn.fetch(
                """
                SELECT id, mode, sweep_type, started_at, ended_at, outcome,
                       fetched, inserted, updated, deleted, error
                FROM sync_runs WHERE connector_id = $1
                ORDER BY started_at DESC, id DESC LIMIT $2
                """,
                connector_id,
                limit,
            )
        return SyncRuns(available=True, items=[SyncRun(**dict(r)) for r in rows])

    @router.get("/{connector_id}/stats", response_model=ConnectorStats, responses=_NOT_FOUND)
    async def stats(connector_id: IdPath, request: Request) -> ConnectorStats:
        async with gateway_of(request).ctx.pool.acquire() as conn:
            await _get(conn, connector_id)
            checks = await conn.fetchval(
                "SELECT count(*) FROM connector_health_history WHERE connector_id = $1",
                connector_id,
            )
            runs, last = 0, None
            if await repo.table_exists(conn, name="sync_runs"):
                row = await conn.fetchrow(
                    "SELECT count(*) AS n, max(started_at) AS last FROM sync_runs"
                    " WHERE connector_id = $1",
                    connector_id,
                )
                assert row is not None
                runs, last = int(row["n"]), row["last"]
            items: dict[str, int] = {}
            for table in await repo.tables_with_connector_id(conn, names=MIRROR_TABLES):
                # The table name comes from information_schema, filtered by MIRROR_TABLES.
                query = f'SELECT count(*) FROM "{table}" WHERE connector_id = $1'  # noqa: S608
                items[table] = int(await conn.fetchval(query, connector_id))
        return ConnectorStats(
            connector_id=connector_id,
            health_checks=int(checks),
            sync_runs=runs,
            last_sync_at=last,
            items=items,
        )

    return router


async def _record_version(conn: Any, connector_id: int, result: TestResult) -> None:
    if result.ok and result.app_name and result.version and result.api_version:
        await record_detected_version(
            conn,
            connector_id=connector_id,
            app_name=result.app_name,
            app_version=result.version,
            api_version=result.api_version,
        )


async def _announce_health(
    gw: Gateway, connector_id: int, previous: str, status: ConnHealth, messages: list[str]
) -> None:
    if previous == status:
        return
    try:
        await gw.ctx.bus.publish(
            ConnectorHealthChanged(
                connector_id=connector_id,
                previous=None if previous == "unknown" else previous,  # type: ignore[arg-type]
                current=status,  # type: ignore[arg-type]
                messages=messages,
            )
        )
    except Exception:
        log.warning("could not publish connector health change", connector_id=connector_id)


async def _check_profile(conn: Any, profile_id: int | None) -> None:
    """A 422 naming the field when no throttle profile has that id."""
    if profile_id is not None and not await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM throttle_profiles WHERE id = $1)", profile_id
    ):
        raise invalid(("body", "throttle_profile_id"), "no throttle profile has that id")


async def _get(conn: Any, connector_id: int) -> Connector:
    try:
        return await get_connector(conn, connector_id=connector_id)
    except ConnectorNotFoundError:
        raise HTTPException(404, "no connector has that id") from None
