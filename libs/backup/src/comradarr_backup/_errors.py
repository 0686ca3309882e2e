"""Why a backup cannot be restored (or made), in words for the person holding it."""

from __future__ import annotations


class BackupError(Exception):
    """A backup could not be made or restored; the message says why and what to do."""


class InvalidBackupError(BackupError):
    """The file is not a sound Comradarr backup (damaged, tampered, or not ours)."""


class WrongKeyError(BackupError):
    """The backup was made under another SECRET_KEY: its secrets would not decrypt here."""

    def __init__(self, *, backup_fingerprint: str, current_fingerprint: str) -> None:
        self.backup_fingerprint = backup_fingerprint
        self.current_fingerprint = current_fingerprint
        super().__init__(
            f"this backup was made with SECRET_KEY fingerprint {backup_fingerprint}, but this "
            f"install's SECRET_KEY has fingerprint {current_fingerprint}. Its connector and "
            "channel secrets would not decrypt here. Start Comradarr with the SECRET_KEY of the "
            "install that made the backup (the environment variable, or the secret_key file of "
            "its data directory), then restore again. Nothing was changed."
        )


class VersionError(BackupError):
    """The backup comes from a newer Comradarr (or a schema this one does not know)."""
