"""Backups: create and list (sessions and API keys), download, delete, upload and restore
(a signed-in session only; restore also asks for the password).

A backup is addressed by its id, which must match the id pattern before it is joined to a
folder: a path in an id is a 404, never a file. An upload is streamed to a private file
with a generated name and checked in full before it is kept.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

from comradarr_backup import (
    BackupError,
    BackupFile,
    BackupStore,
    Plan,
    StoredBackup,
    UnknownBackupError,
    check_backup,
    is_backup_id,
    new_id,
    private_file,
    restore_from,
)
from comradarr_logging import get_logger
from comradarr_proto import BackupRestored
from comradarr_schedules import describe, is_valid, is_valid_timezone, next_runs
from fastapi import APIRouter, Depends, HTTPException, Request, Response
from fastapi import Path as PathParam
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field, field_validator

from . import backups
from .models import ErrorBody, Secret, Strict
from .routes_auth import verify_current_password
from .security import Principal, ProtectedRoute, require_session
from .state import Gateway, gateway_of

log = get_logger(__name__)

UPLOAD_PATH = "/backups/uploads"
BackupId = Annotated[str, PathParam(min_length=20, max_length=80, pattern=r"^[a-z0-9TZ-]+$")]


class BackupInfo(BaseModel):
    """One backup file."""

    id: str
    kind: str = Field(description="manual, scheduled, upload or prerestore")
    created_at: datetime
    size_bytes: int


class BackupCreate(Strict):
    """POST /backups body."""

    include_mirror: bool = Field(
        default=True,
        description="False leaves out the library mirror (re-read from the *arr apps) and "
        "the queue and search history that depend on it.",
    )


class BackupCreated(BackupInfo):
    """A backup just written."""

    tables: int
    rows: int
    includes_mirror: bool
    left_out: list[str]
    key_fingerprint: str


class UploadChecked(BackupInfo):
    """An uploaded backup, checked in full and kept; restore it by its id."""

    made_at: datetime
    comradarr_version: str
    tables: int
    rows: int
    includes_mirror: bool
    schema_versions: dict[str, int]
    migrations_to_apply: list[str]


class RestoreBody(Strict):
    """POST /backups/{id}/restore body."""

    current_password: Secret


class RestoreDone(BaseModel):
    """What a restore did. Every session (yours too) was signed out."""

    rows: int
    tables: int
    seconds: float
    migrations_applied: list[str]
    safety_backup_id: str | None
    signed_out: bool = True


class ScheduleOut(BaseModel):
    """The backup schedule."""

    enabled: bool
    cron: str
    timezone: str
    keep: int
    folder: str | None
    effective_folder: str
    include_mirror: bool
    description: str
    next_runs: list[datetime]
    last_fired_at: datetime | None


class SchedulePatch(Strict):
    """PATCH /backups/schedule body (absent fields stay)."""

    enabled: bool | None = None
    cron: str | None = Field(default=None, max_length=100)
    timezone: str | None = Field(default=None, max_length=64)
    keep: int | None = Field(default=None, ge=1, le=1000)
    folder: str | None = Field(
        default=None,
        max_length=1024,
        description="An absolute folder for scheduled backups; empty for the default.",
    )
    include_mirror: bool | None = None

    @field_validator("cron")
    @classmethod
    def _cron(cls, v: str | None) -> str | None:
        if v is not None and not is_valid(v.strip()):
            raise ValueError("not a five-field cron expression (e.g. 30 3 * * *)")
        return None if v is None else v.strip()

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str | None) -> str | None:
        if v is not None and not is_valid_timezone(v):
            raise ValueError("unknown time zone (use an IANA name like Europe/Berlin)")
        return v

    @field_validator("folder")
    @classmethod
    def _folder(cls, v: str | None) -> str | None:
        if v is None or v.strip() == "":
            return v
        p = Path(v.strip())
        if not p.is_absolute() or ".." in p.parts or "\0" in v:
            raise ValueError("must be an absolute folder path without '..'")
        return str(p)


def _info(b: StoredBackup) -> BackupInfo:
    return BackupInfo(id=b.id, kind=b.tag, created_at=b.created_at, size_bytes=b.size)


async def _stores(gw: Gateway) -> list[BackupStore]:
    async with gw.ctx.pool.acquire() as conn:
        schedule = await backups.load_schedule(conn)
    return backups.stores(gw.ctx, schedule)


async def _find(gw: Gateway, backup_id: str) -> StoredBackup:
    if not is_backup_id(backup_id):
        raise HTTPException(404, "no backup has that id")
    try:
        return backups.find(await _stores(gw), backup_id)
    except UnknownBackupError:
        raise HTTPException(404, "no backup has that id") from None


def _schedule_out(gw: Gateway, s: backups.Schedule) -> ScheduleOut:
    folder = s.folder or str(backups.default_store(gw.ctx).folder)
    return ScheduleOut(
        enabled=s.enabled,
        cron=s.cron,
        timezone=s.timezone,
        keep=s.keep,
        folder=s.folder,
        effective_folder=folder,
        include_mirror=s.include_mirror,
        description=describe(s.cron),
        next_runs=next_runs(s.cron, tz=s.timezone, after=gw.now(), count=3) if s.enabled else [],
        last_fired_at=s.last_fired_at,
    )


def _busy(gw: Gateway) -> None:
    if backups.job_lock(gw.ctx).locked():
        raise HTTPException(409, "a backup or restore is running; try again when it is done")


def backups_router() -> APIRouter:
    """Backup routes; what needs a session says so in its dependency."""
    router = APIRouter(prefix="/backups", tags=["backups"], route_class=ProtectedRoute)
    errors: dict[int | str, dict[str, object]] = {404: {"model": ErrorBody}}

    @router.get("", response_model=list[BackupInfo])
    async def list_backups(request: Request) -> list[BackupInfo]:
        gw = gateway_of(request)
        return [_info(b) for b in backups.listed(await _stores(gw))]

    @router.post(
        "",
        status_code=201,
        response_model=BackupCreated,
        responses={409: {"model": ErrorBody, "description": "a backup or restore is running"}},
    )
    async def create(body: BackupCreate, request: Request) -> BackupCreated:
        gw = gateway_of(request)
        _busy(gw)
        principal: Principal = request.state.principal
        try:
            made = await backups.run_backup(
                gw.ctx,
                backups.default_store(gw.ctx),
                trigger="api" if principal.kind == "api_key" else "manual",
                include_mirror=body.include_mirror,
            )
        except (BackupError, OSError) as exc:
            raise HTTPException(500, f"the backup failed: {exc}") from None
        m = made.manifest
        return BackupCreated(
            id=made.id,
            kind="manual",
            created_at=m.created_at,
            size_bytes=made.size,
            tables=len(m.tables),
            rows=m.total_rows(),
            includes_mirror=m.includes_mirror,
            left_out=m.left_out,
            key_fingerprint=m.key_fingerprint,
        )

    @router.get("/schedule", response_model=ScheduleOut)
    async def get_schedule(request: Request) -> ScheduleOut:
        gw = gateway_of(request)
        async with gw.ctx.pool.acquire() as conn:
            return _schedule_out(gw, await backups.load_schedule(conn))

    @router.patch("/schedule", response_model=ScheduleOut)
    async def patch_schedule(
        body: SchedulePatch,
        request: Request,
        _p: Principal = Depends(require_session),  # noqa: B008
    ) -> ScheduleOut:
        gw = gateway_of(request)
        changes = body.model_dump(exclude_unset=True)
        changes = {k: v for k, v in changes.items() if v is not None or k == "folder"}
        if "folder" in changes:
            changes["folder"] = changes["folder"] or None
            if changes["folder"] is not None:
                try:
                    BackupStore(Path(changes["folder"]), managed=False).ensure()
                except (OSError, BackupError) as exc:
                    raise HTTPException(422, f"folder cannot be used: {exc}") from None
        async with gw.ctx.pool.acquire() as conn:
            saved = (
                await backups.save_schedule(conn, changes)
                if changes
                else await backups.load_schedule(conn)
            )
        log.info("backup schedule changed", fields=sorted(changes))
        return _schedule_out(gw, saved)

    @router.get(
        "/{backup_id}/download",
        response_class=FileResponse,
        responses={**errors, 200: {"content": {"application/zip": {}}}},
    )
    async def download(
        backup_id: BackupId,
        request: Request,
        _p: Principal = Depends(require_session),  # noqa: B008
    ) -> FileResponse:
        found = await _find(gateway_of(request), backup_id)
        return FileResponse(found.path, media_type="application/zip", filename=f"{found.id}.zip")

    @router.delete("/{backup_id}", status_code=204, response_class=Response, responses=errors)
    async def delete(
        backup_id: BackupId,
        request: Request,
        _p: Principal = Depends(require_session),  # noqa: B008
    ) -> Response:
        gw = gateway_of(request)
        found = await _find(gw, backup_id)
        with contextlib.suppress(FileNotFoundError):
            found.path.unlink()
        log.info("backup deleted", backup_id=backup_id)
        return Response(status_code=204)

    @router.post(
        "/uploads",
        status_code=201,
        response_model=UploadChecked,
        responses={
            400: {"model": ErrorBody},
            413: {"model": ErrorBody},
            415: {"model": ErrorBody},
            507: {"model": ErrorBody, "description": "no room to store the upload"},
        },
        openapi_extra={
            "requestBody": {
                "required": True,
                "description": "The backup file itself (application/zip is accepted too).",
                "content": {
                    "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
                },
            }
        },
    )
    async def upload(
        request: Request,
        _p: Principal = Depends(require_session),  # noqa: B008
    ) -> UploadChecked:
        gw = gateway_of(request)
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind not in ("application/zip", "application/octet-stream"):
            raise HTTPException(
                415, "send the backup file itself as the body (Content-Type: application/zip)"
            )
        store = backups.default_store(gw.ctx)
        store.ensure()
        backup_id = new_id("upload")
        tmp = store.folder / f".upload-{secrets.token_hex(8)}.partial"
        try:
            try:
                with private_file(tmp) as fh:
                    async for chunk in request.stream():
                        await asyncio.to_thread(fh.write, chunk)
            except OSError as exc:
                raise HTTPException(507, f"the upload could not be stored: {exc}") from None
            try:
                plan = await asyncio.to_thread(_check, tmp, gw.ctx.secret_key)
            except BackupError as exc:
                raise HTTPException(400, str(exc)) from None
            final = store.folder / f"{backup_id}.zip"
            os.replace(tmp, final)
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
        m = plan.manifest
        log.info("backup uploaded and checked", backup_id=backup_id, rows=m.total_rows())
        return UploadChecked(
            id=backup_id,
            kind="upload",
            created_at=datetime.now(UTC),
            size_bytes=final.stat().st_size,
            made_at=m.created_at,
            comradarr_version=m.comradarr_version,
            tables=len(m.tables),
            rows=m.total_rows(),
            includes_mirror=m.includes_mirror,
            schema_versions=m.schema_versions(),
            migrations_to_apply=[f"{x.component}/{x.version:04d}_{x.name}" for x in plan.after],
        )

    @router.post(
        "/{backup_id}/restore",
        response_model=RestoreDone,
        responses={
            **errors,
            400: {"model": ErrorBody},
            403: {"model": ErrorBody},
            409: {"model": ErrorBody},
        },
    )
    async def restore(
        backup_id: BackupId,
        body: RestoreBody,
        request: Request,
        principal: Principal = Depends(require_session),  # noqa: B008
    ) -> RestoreDone:
        gw = gateway_of(request)
        await verify_current_password(gw, principal, body.current_password)
        found = await _find(gw, backup_id)
        _busy(gw)
        try:
            async with backups.job_lock(gw.ctx), gw.ctx.pool.acquire() as conn:
                done = await restore_from(
                    conn,
                    found.path,
                    secret_key=gw.ctx.secret_key,
                    safety=backups.default_store(gw.ctx),
                )
        except BackupError as exc:
            raise HTTPException(400, str(exc)) from None
        r = done.result
        gw.forget_settings()
        await gw.ctx.bus.publish(
            BackupRestored(
                backup_created_at=r.manifest.created_at,
                rows=r.rows,
                migrations_applied=r.migrations_applied,
                safety_backup_id=done.safety.id if done.safety else None,
            )
        )
        log.warning("database restored from a backup", backup_id=backup_id, rows=r.rows)
        return RestoreDone(
            rows=r.rows,
            tables=r.tables,
            seconds=round(r.seconds, 3),
            migrations_applied=r.migrations_applied,
            safety_backup_id=done.safety.id if done.safety else None,
        )

    return router


def _check(path: Path, secret_key: str) -> Plan:
    with BackupFile(path) as backup:
        return check_backup(backup, secret_key=secret_key)
