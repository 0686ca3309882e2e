"""Typed configuration from the environment, failing fast with the variable's name."""

from ._core import CoreSettings, LogLevel, ensure_secret_key_file, load_settings
from ._errors import SettingsError

__all__ = ["CoreSettings", "LogLevel", "SettingsError", "ensure_secret_key_file", "load_settings"]
