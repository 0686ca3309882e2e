"""Sweep schedules for the gateway: CRUD, cron in words, next runs (DST-correct).

The ``schedules`` and ``sweep_runs`` tables belong to the scheduler service's migrations.
"""

from ._cron import default_timezone, describe, is_valid, is_valid_timezone, next_fire, next_runs
from ._repository import (
    SWEEP_TYPES,
    SYNC_MODES,
    Schedule,
    ScheduleNotFoundError,
    create_schedule,
    delete_schedule,
    get_schedule,
    list_runs,
    list_schedules,
    update_schedule,
)

__all__ = [
    "SWEEP_TYPES",
    "SYNC_MODES",
    "Schedule",
    "ScheduleNotFoundError",
    "create_schedule",
    "default_timezone",
    "delete_schedule",
    "describe",
    "get_schedule",
    "is_valid",
    "is_valid_timezone",
    "list_runs",
    "list_schedules",
    "next_fire",
    "next_runs",
    "update_schedule",
]
