"""The two jobs the CLI, the gateway and the scheduler share: back up into a folder, restore."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from comradarr_db import Connection, apply_migrations, discover

from ._archive import BackupFile, Limits
from ._create import create_backup
from ._format import Manifest
from ._restore import RestoreResult, check_backup, restore_backup
from ._store import BackupStore

SAFETY_TAG = "prerestore"


@dataclass(frozen=True)
class Made:
    """A backup just written to a folder."""

    id: str
    path: Path
    size: int
    manifest: Manifest


async def backup_into(
    conn: Connection, store: BackupStore, *, secret_key: str, tag: str, include_mirror: bool
) -> Made:
    """Write a new backup into store; the file appears only once complete."""
    with store.writing(tag) as (backup_id, fh):
        manifest = await create_backup(
            conn, secret_key=secret_key, dest=fh, include_mirror=include_mirror
        )
    path = store.path_of(backup_id)
    return Made(id=backup_id, path=path, size=path.stat().st_size, manifest=manifest)


@dataclass(frozen=True)
class Restored:
    """A finished restore and the safety backup taken just before it (if any)."""

    result: RestoreResult
    safety: Made | None


async def restore_from(
    conn: Connection,
    source: Path | BinaryIO,
    *,
    secret_key: str,
    safety: BackupStore | None = None,
    limits: Limits | None = None,
) -> Restored:
    """Check the whole file, keep a safety backup of the current state, then restore."""
    with BackupFile(source, limits=limits) as backup:
        plan = check_backup(backup, secret_key=secret_key)
        made = None
        # A fresh database gets this install's schema first (as `comradarr migrate` would),
        # so the safety backup and the restore both see the live tables.
        await apply_migrations(conn, discover())
        if safety is not None:
            made = await backup_into(
                conn, safety, secret_key=secret_key, tag=SAFETY_TAG, include_mirror=True
            )
        result = await restore_backup(conn, backup, plan)
    return Restored(result=result, safety=made)
