"""Upkeep settings: one set of defaults and bounds for the services and the gateway."""

from __future__ import annotations

import pytest
from comradarr_gateway.appsettings import AppSettings, MaintenancePatch, build
from comradarr_settings import MaintenanceSettings, maintenance_from_rows

pytestmark = pytest.mark.unit


def test_stored_values_override_defaults_and_bad_ones_are_ignored() -> None:
    s = maintenance_from_rows(
        {
            "maintenance.search_history_days": 30,
            "maintenance.dead_letters_days": -5,  # out of bounds: the default stays
            "maintenance.unknown": 1,
            "analytics.hourly_retention_days": 9,
        }
    )
    assert s.search_history_days == 30
    assert s.dead_letters_days == MaintenanceSettings().dead_letters_days


def test_the_patch_has_the_same_fields_and_bounds() -> None:
    settings, patch = MaintenanceSettings.model_fields, MaintenancePatch.model_fields
    assert set(settings) == set(patch)
    for name, field in settings.items():
        assert [str(m) for m in field.metadata] == [str(m) for m in patch[name].metadata], name


def test_the_gateway_settings_carry_the_section() -> None:
    assert build({"maintenance.cron": "0 3 * * *"}).maintenance.cron == "0 3 * * *"
    assert AppSettings().maintenance == MaintenanceSettings()
