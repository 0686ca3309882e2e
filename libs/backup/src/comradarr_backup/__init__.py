"""Backup and restore of the whole Comradarr database: one versioned, checked file."""

from ._archive import BackupFile, Limits
from ._create import create_backup
from ._errors import BackupError, InvalidBackupError, VersionError, WrongKeyError
from ._format import (
    FORMAT_VERSION,
    MIRROR_TABLES,
    Manifest,
    TablePart,
    key_fingerprint,
)
from ._jobs import SAFETY_TAG, Made, Restored, backup_into, restore_from
from ._restore import Plan, RestoreResult, check_backup, restore_backup
from ._store import (
    BackupStore,
    StoredBackup,
    UnknownBackupError,
    atomic_file,
    backups_folder,
    is_backup_id,
    new_id,
    private_file,
)

__all__ = [
    "FORMAT_VERSION",
    "MIRROR_TABLES",
    "SAFETY_TAG",
    "BackupError",
    "BackupFile",
    "BackupStore",
    "InvalidBackupError",
    "Limits",
    "Made",
    "Manifest",
    "Plan",
    "RestoreResult",
    "Restored",
    "StoredBackup",
    "TablePart",
    "UnknownBackupError",
    "VersionError",
    "WrongKeyError",
    "atomic_file",
    "backup_into",
    "backups_folder",
    "check_backup",
    "create_backup",
    "is_backup_id",
    "key_fingerprint",
    "new_id",
    "private_file",
    "restore_backup",
    "restore_from",
]
