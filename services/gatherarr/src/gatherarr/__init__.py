"""Gatherarr: a minimal daemon that periodically triggers searches in Radarr and Sonarr."""

from gatherarr._app import App
from gatherarr._cli import main
from gatherarr._config import Config, ConfigError, TargetConfig, TargetType, load_config
from gatherarr._port import GrabEvent, TargetClient, TargetError, WantedItem

__all__ = [
    "App",
    "Config",
    "ConfigError",
    "GrabEvent",
    "TargetClient",
    "TargetConfig",
    "TargetError",
    "TargetType",
    "WantedItem",
    "load_config",
    "main",
]
