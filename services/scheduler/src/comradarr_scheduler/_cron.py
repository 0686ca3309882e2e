"""Cron arithmetic in a schedule's own time zone (shared with the gateway)."""

from comradarr_schedules import is_valid, next_fire

__all__ = ["is_valid", "next_fire"]
