"""Commands: requests for work, on the work-queue stream."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from ._base import Command

SweepType = Literal["gaps", "upgrades", "both"]
SyncMode = Literal["incremental", "full"]


class RequestSweep(Command):
    """Sync a connector's library, then discover and queue what it lacks."""

    subject_template = "cmd.sweep.{connector_id}"

    connector_id: int = Field(ge=1)
    sweep_type: SweepType = "both"
    sync_mode: SyncMode = "incremental"
    schedule_id: int | None = Field(default=None, description="None for a manual sweep.")
    fire_time: datetime | None = Field(default=None, description="When the schedule fired.")
    requested_by: str = Field(default="scheduler", max_length=100)
    series_arr_ids: list[int] = Field(
        default_factory=list,
        max_length=100,
        description="Sync only these series (the *arr app's ids); empty = the whole library.",
    )
    movie_arr_ids: list[int] = Field(
        default_factory=list,
        max_length=100,
        description="Sync only these movies (the *arr app's ids); empty = the whole library.",
    )

    @property
    def scoped(self) -> bool:
        """True when only some series or movies are to be synced."""
        return bool(self.series_arr_ids or self.movie_arr_ids)

    @classmethod
    def from_schedule(
        cls, *, schedule_id: int, fire_time: datetime, connector_id: int, **kw: object
    ) -> RequestSweep:
        """A scheduled sweep whose id two scheduler replicas compute identically."""
        return cls(
            message_id=f"sweep:{schedule_id}:{fire_time.isoformat()}",
            schedule_id=schedule_id,
            fire_time=fire_time,
            connector_id=connector_id,
            **kw,
        )


class ControlQueue(Command):
    """Pause, resume or clear the search queue (all connectors when connector_id is None)."""

    subject_template = "cmd.queue.{action}"

    action: Literal["pause", "resume", "clear"]
    connector_id: int | None = Field(default=None, ge=1)
    requested_by: str = Field(default="gateway", max_length=100)


# Services that own tables which grow, each pruning its own on a maintenance run.
MaintenanceService = Literal[
    "gateway", "scheduler", "sync", "discovery", "dispatcher", "notifier", "analytics"
]
MAINTENANCE_SERVICES: tuple[MaintenanceService, ...] = (
    "gateway",
    "scheduler",
    "sync",
    "discovery",
    "dispatcher",
    "notifier",
    "analytics",
)


class RequestMaintenance(Command):
    """Start a maintenance run now (the scheduler records it and fans it out)."""

    subject_template = "cmd.maintenance.run"

    requested_by: str = Field(default="gateway", max_length=100)


class RunMaintenance(Command):
    """One service prunes its own tables by the retention settings, then reports."""

    subject_template = "cmd.maintenance.step.{service}"

    run_id: int = Field(ge=1)
    service: MaintenanceService


class RequestBackup(Command):
    """Write a backup with the backup schedule's settings (folder, what to keep, mirror)."""

    subject_template = "cmd.backup.create"

    fire_time: datetime = Field(description="When the backup schedule fired.")

    @classmethod
    def scheduled(cls, *, fire_time: datetime) -> RequestBackup:
        """A scheduled backup whose id two scheduler replicas compute identically."""
        return cls(message_id=f"backup:{fire_time.isoformat()}", fire_time=fire_time)
