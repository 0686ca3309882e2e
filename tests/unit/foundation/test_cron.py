"""Schedule arithmetic is done in the schedule's time zone, DST included."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from comradarr_scheduler._cron import is_valid, next_fire

pytestmark = pytest.mark.unit


def test_next_fire_follows_local_time_across_dst() -> None:
    # 02:30 daily in Berlin: UTC 00:30 in summer, 01:30 in winter.
    summer = next_fire("30 2 * * *", tz="Europe/Berlin", after=datetime(2026, 7, 1, tzinfo=UTC))
    winter = next_fire("30 2 * * *", tz="Europe/Berlin", after=datetime(2026, 12, 1, tzinfo=UTC))
    assert summer == datetime(2026, 7, 1, 0, 30, tzinfo=UTC)
    assert winter == datetime(2026, 12, 1, 1, 30, tzinfo=UTC)


def test_validity() -> None:
    assert is_valid("*/15 * * * *")
    assert not is_valid("61 * * * *")
    assert not is_valid("* * *")
