"""The backups folder: files named by generated ids, private to the service's user.

An id from outside (an API path, a CLI argument) is checked against the id pattern and
only then joined to the folder; a name that is not an id is never looked up at all.
"""

from __future__ import annotations

import builtins
import contextlib
import os
import secrets
import stat
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from ._archive import BackupFile
from ._errors import BackupError
from ._format import BACKUP_ID, SUFFIX

TAG = r"[a-z0-9]{1,12}"
# A write or upload still going after a day has died with its process.
PARTIAL_MAX_AGE = 86_400.0
_PARTIALS = (".comradarr-backup-", ".upload-")


class UnknownBackupError(LookupError):
    """No backup has that id (or the id is not a backup id at all)."""


@dataclass(frozen=True)
class StoredBackup:
    """A backup file in the folder, described without opening its parts."""

    id: str
    tag: str
    created_at: datetime
    size: int
    path: Path


def backups_folder(data_dir: Path) -> Path:
    """The default backups folder under COMRADARR_DATA_DIR."""
    return data_dir / "backups"


def new_id(tag: str, *, now: datetime | None = None) -> str:
    """A fresh backup id: time, tag (what made it) and a random part."""
    when = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    backup_id = f"comradarr-backup-{when}-{tag}-{secrets.token_hex(4)}"
    if not BACKUP_ID.match(backup_id):
        raise ValueError(f"bad backup tag {tag!r}")
    return backup_id


def is_backup_id(value: str) -> bool:
    """True when value is shaped like a backup id (and so safe to join to the folder)."""
    return bool(BACKUP_ID.fullmatch(value))


def private_file(path: Path) -> BinaryIO:
    """Create path for writing, mode 0600, refusing to follow or replace anything."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    return os.fdopen(fd, "wb")


@contextlib.contextmanager
def atomic_file(target: Path) -> Iterator[BinaryIO]:
    """Write target through a private temporary file beside it, renamed only when complete."""
    tmp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.partial")
    fh = private_file(tmp)
    try:
        with fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


class BackupStore:
    """Backups in one folder, each file 0600.

    A managed folder (the default one under the data directory) is created 0700 and kept
    so; a folder the user chose must exist already and is never created or re-moded.
    """

    def __init__(self, folder: Path, *, managed: bool = True) -> None:
        self.folder = folder
        self.managed = managed

    def ensure(self) -> Path:
        """Create the folder (0700) or tighten its mode; refuse a symlinked folder."""
        if self.managed:
            self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            info = self.folder.lstat()
        except FileNotFoundError:
            raise BackupError(f"{self.folder} does not exist; create it first") from None
        if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode):
            raise BackupError(f"{self.folder} is not a directory")
        if not os.access(self.folder, os.W_OK | os.X_OK):
            raise BackupError(f"{self.folder} is not writable by this service")
        if self.managed and info.st_mode & 0o077:
            os.chmod(self.folder, 0o700)
        self._sweep_partials()
        return self.folder

    def _sweep_partials(self, *, older_than: float = PARTIAL_MAX_AGE) -> None:
        """Remove half-written files a crash left behind (only names this module makes)."""
        cutoff = time.time() - older_than
        for entry in os.scandir(self.folder):
            if not (entry.name.startswith(_PARTIALS) and entry.name.endswith(".partial")):
                continue
            with contextlib.suppress(OSError):
                if entry.is_file(follow_symlinks=False) and entry.stat().st_mtime < cutoff:
                    os.unlink(entry.path)

    def path_of(self, backup_id: str) -> Path:
        """The file of an existing backup; UnknownBackupError for anything else."""
        if not is_backup_id(backup_id):
            raise UnknownBackupError("not a backup id")
        path = self.folder / f"{backup_id}{SUFFIX}"
        try:
            info = path.lstat()
        except FileNotFoundError:
            raise UnknownBackupError(f"no backup {backup_id}") from None
        if not stat.S_ISREG(info.st_mode):
            raise UnknownBackupError(f"no backup {backup_id}")
        return path

    @contextlib.contextmanager
    def writing(self, tag: str) -> Iterator[tuple[str, BinaryIO]]:
        """A new backup's id and file; it appears in the folder only when complete."""
        self.ensure()
        backup_id = new_id(tag)
        with atomic_file(self.folder / f"{backup_id}{SUFFIX}") as fh:
            yield backup_id, fh

    def list(self) -> builtins.list[StoredBackup]:
        """Every backup in the folder, newest first (other files are ignored)."""
        if not self.folder.is_dir():
            return []
        found: list[StoredBackup] = []
        for entry in os.scandir(self.folder):
            if not entry.name.endswith(SUFFIX) or not entry.is_file(follow_symlinks=False):
                continue
            backup_id = entry.name[: -len(SUFFIX)]
            if not is_backup_id(backup_id):
                continue
            info = entry.stat(follow_symlinks=False)
            stamp, tag = backup_id.split("-")[2:4]
            found.append(
                StoredBackup(
                    id=backup_id,
                    tag=tag,
                    created_at=datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC),
                    size=info.st_size,
                    path=Path(entry.path),
                )
            )
        found.sort(key=lambda b: (b.created_at, b.id), reverse=True)
        return found

    def delete(self, backup_id: str) -> None:
        """Remove one backup file (never a folder, never anything but a backup)."""
        self.path_of(backup_id).unlink()

    def prune(self, *, tag: str, keep: int) -> builtins.list[str]:
        """Delete the oldest backups with this tag beyond the newest keep; returns their ids."""
        mine = [b for b in self.list() if b.tag == tag]
        gone = [b.id for b in mine[max(keep, 0) :]]
        for backup_id in gone:
            with contextlib.suppress(UnknownBackupError, FileNotFoundError):
                self.delete(backup_id)
        return gone

    def open(self, backup_id: str) -> BackupFile:
        """Open a stored backup for checking or restoring."""
        return BackupFile(self.path_of(backup_id))
