"""Quiet hours: a daily local time range during which a channel sends nothing."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, field_validator


class QuietHours(BaseModel):
    """From start to end (local times in timezone); end before start spans midnight."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    start: time = Field(description="HH:MM, local time")
    end: time = Field(description="HH:MM, local time; before start means the next day")
    timezone: str = Field(default="UTC", max_length=64)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except Exception:
            raise ValueError("unknown time zone (use an IANA name like Europe/Berlin)") from None
        return v

    @field_validator("end")
    @classmethod
    def _not_empty(cls, v: time, info: object) -> time:
        data = getattr(info, "data", {})
        if data.get("start") == v:
            raise ValueError("quiet hours must not start and end at the same time")
        return v

    def quiet_until(self, now: datetime) -> datetime | None:
        """When the quiet period holding now ends (aware, UTC-comparable), or None."""
        zone = ZoneInfo(self.timezone)
        local = now.astimezone(zone)
        start = local.replace(
            hour=self.start.hour, minute=self.start.minute, second=0, microsecond=0
        )
        end = local.replace(hour=self.end.hour, minute=self.end.minute, second=0, microsecond=0)
        if self.start < self.end:  # within one day
            return _wall(end, zone) if start <= local < end else None
        # Spanning midnight: quiet from start to midnight, and from midnight to end.
        if local >= start:
            return _wall(end + timedelta(days=1), zone)
        if local < end:
            return _wall(end, zone)
        return None


def _wall(local: datetime, zone: ZoneInfo) -> datetime:
    # Re-attach the zone after date arithmetic so a DST change between gets the right offset.
    return local.replace(tzinfo=None).replace(tzinfo=zone)
