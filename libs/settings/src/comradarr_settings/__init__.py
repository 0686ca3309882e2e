"""Typed configuration from the environment, failing fast with the variable's name."""

from ._core import CoreSettings, LogLevel, ensure_secret_key_file, load_settings
from ._errors import SettingsError
from ._maintenance import (
    MAINTENANCE_PREFIX,
    MIN_PROCESSED_MESSAGE_DAYS,
    MaintenanceSettings,
    maintenance_from_rows,
)

__all__ = [
    "MAINTENANCE_PREFIX",
    "MIN_PROCESSED_MESSAGE_DAYS",
    "CoreSettings",
    "LogLevel",
    "MaintenanceSettings",
    "SettingsError",
    "ensure_secret_key_file",
    "load_settings",
    "maintenance_from_rows",
]
