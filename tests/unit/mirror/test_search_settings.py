"""Settings → Search read from stored dotted keys: defaults, overlays, bad rows ignored."""

from __future__ import annotations

from comradarr_mirror import SearchSettings
from comradarr_mirror.search_settings import from_dotted


def test_stored_keys_overlay_the_defaults() -> None:
    s = from_dotted(
        {
            "search.priority_weights.age": 3.0,
            "search.season_pack_threshold": 0.9,
            "search.search_upgrades": False,
            "general.app_name": "x",
        }
    )
    assert s.priority_weights.age == 3.0 and s.priority_weights.user == 50.0
    assert s.season_pack_threshold == 0.9
    assert s.search_types() == ("gap",)
    assert from_dotted({}) == SearchSettings()


def test_a_stored_value_that_no_longer_validates_is_ignored() -> None:
    s = from_dotted(
        {
            "search.season_pack_threshold": 7,  # out of range
            "search.cooldown_hours": 24,  # no longer a Search setting
            "search.priority_weights": 1,  # not a leaf
            "search.air_delay_hours": 0,
        }
    )
    assert s.season_pack_threshold == 0.5 and s.air_delay_hours == 0


def test_search_types_follow_the_switches() -> None:
    assert SearchSettings().search_types() == ("gap", "upgrade", "format")
    assert SearchSettings(search_gaps=False).search_types() == ("upgrade", "format")
    assert SearchSettings(search_gaps=False, search_upgrades=False).search_types() == ()
