"""Backups in the gateway: the folders, the schedule row, and the jobs the API and the
scheduled command share (one at a time per gateway)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from comradarr_backup import (
    BackupError,
    BackupStore,
    Made,
    StoredBackup,
    UnknownBackupError,
    backup_into,
    backups_folder,
)
from comradarr_bus import Delivery
from comradarr_db import Connection
from comradarr_logging import get_logger
from comradarr_proto import BackupCompleted, BackupFailed, BackupTrigger, RequestBackup
from comradarr_runtime import ServiceContext

log = get_logger(__name__)

# One backup or restore at a time in this process: both read every table, and a restore
# must not interleave with a backup of the state it replaces.
_busy: dict[int, asyncio.Lock] = {}


def job_lock(ctx: ServiceContext) -> asyncio.Lock:
    """The lock serialising this context's backup and restore jobs."""
    return _busy.setdefault(id(ctx), asyncio.Lock())


@dataclass(frozen=True)
class Schedule:
    """The backup schedule row."""

    enabled: bool
    cron: str
    timezone: str
    keep: int
    folder: str | None
    include_mirror: bool
    next_run_at: datetime | None
    last_fired_at: datetime | None


async def load_schedule(conn: Connection) -> Schedule:
    """The backup schedule (defaults when the row is missing)."""
    row = await conn.fetchrow(
        "SELECT enabled, cron, timezone, keep, folder, include_mirror, next_run_at,"
        " last_fired_at FROM backup_schedule"
    )
    if row is None:
        return Schedule(False, "30 3 * * *", "UTC", 7, None, True, None, None)
    return Schedule(**dict(row))


async def save_schedule(conn: Connection, changes: dict[str, Any]) -> Schedule:
    """Apply changes; the scheduler recomputes the next run from the new cron."""
    sets = ", ".join(f"{k} = ${i}" for i, k in enumerate(changes, start=1))
    await conn.execute(
        f"UPDATE backup_schedule SET {sets}, next_run_at = NULL, updated_at = now()",  # noqa: S608 - keys from the model
        *changes.values(),
    )
    return await load_schedule(conn)


def default_store(ctx: ServiceContext) -> BackupStore:
    """The backups folder under COMRADARR_DATA_DIR."""
    return BackupStore(backups_folder(Path(ctx.settings.data_dir)))


def stores(ctx: ServiceContext, schedule: Schedule) -> list[BackupStore]:
    """Every folder holding backups: the default one, and the schedule's if it differs."""
    found = [default_store(ctx)]
    if schedule.folder and Path(schedule.folder) != found[0].folder:
        found.append(BackupStore(Path(schedule.folder), managed=False))
    return found


def listed(all_stores: list[BackupStore]) -> list[StoredBackup]:
    """Backups of every folder, newest first."""
    out = [b for s in all_stores for b in s.list()]
    out.sort(key=lambda b: (b.created_at, b.id), reverse=True)
    return out


def find(all_stores: list[BackupStore], backup_id: str) -> StoredBackup:
    """The backup with this id, in whichever folder (UnknownBackupError otherwise)."""
    for store in all_stores:
        try:
            path = store.path_of(backup_id)
        except UnknownBackupError:
            continue
        return next(b for b in store.list() if b.path == path)
    raise UnknownBackupError(f"no backup {backup_id}")


async def run_backup(
    ctx: ServiceContext,
    store: BackupStore,
    *,
    trigger: BackupTrigger,
    include_mirror: bool,
    keep: int | None = None,
) -> Made:
    """Write a backup, prune the oldest of its kind beyond keep, and say so on the bus."""
    tag = "scheduled" if trigger == "scheduled" else "manual"
    started = time.perf_counter()
    try:
        async with job_lock(ctx), ctx.pool.acquire() as conn:
            made = await backup_into(
                conn,
                store,
                secret_key=ctx.secret_key,
                tag=tag,
                include_mirror=include_mirror,
            )
        pruned = store.prune(tag=tag, keep=keep) if keep is not None else []
    except (BackupError, OSError) as exc:
        await ctx.bus.publish(BackupFailed(trigger=trigger, error=str(exc)[:2000]))
        log.warning("backup failed", trigger=trigger, error=str(exc)[:300])
        raise
    seconds = time.perf_counter() - started
    await ctx.bus.publish(
        BackupCompleted(
            backup_id=made.id,
            trigger=trigger,
            size_bytes=made.size,
            rows=made.manifest.total_rows(),
            includes_mirror=include_mirror,
            seconds=round(seconds, 3),
            pruned=pruned,
        )
    )
    log.info("backup written", backup_id=made.id, bytes=made.size, seconds=round(seconds, 2))
    return made


async def on_request_backup(ctx: ServiceContext, msg: RequestBackup, _d: Delivery) -> None:
    """The scheduled backup: the schedule's folder, mirror choice and number to keep."""
    async with ctx.pool.acquire() as conn:
        schedule = await load_schedule(conn)
    store = stores(ctx, schedule)[-1]
    try:
        await run_backup(
            ctx,
            store,
            trigger="scheduled",
            include_mirror=schedule.include_mirror,
            keep=schedule.keep,
        )
    except (BackupError, OSError):
        return  # reported as BackupFailed; a redelivery would fail the same way
