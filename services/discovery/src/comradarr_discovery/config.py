"""Discovery settings, read from COMRADARR_DISCOVERY_* variables with documented defaults.

The priority of a registry entry is the sum of weighted parts (each part in [0, 1] or
[-1, 1] before weighting), stored with the entry for the UI's explanation:

- ``age``: how recent the content is, 1 / (1 + days since air/release / age_half_life_days)
  (new episodes are more likely to be found);
- ``missing``: how long the entry has waited, min(days since created / missing_full_days, 1);
- ``user``: the user's override, user_priority / 100 (from -1 to 1);
- ``failures``: minus min(attempts / failure_full_attempts, 1);
- ``type``: 1 for gaps, 0 for quality upgrades (a missing file matters more than a better
  one); a format-score upgrade (quality already at the cutoff, custom-format score below the
  profile's cutoff score) gets ``weight_format`` instead (-10 by default: the least urgent
  kind).
"""

from __future__ import annotations

from comradarr_mirror import PriorityWeights
from pydantic import Field
from pydantic_settings import SettingsConfigDict


class DiscoveryConfig(PriorityWeights):
    """Which items count as wanted, and how their priority is weighed (the weights are
    comradarr_mirror's, which the gateway reads too)."""

    model_config = SettingsConfigDict(env_prefix="COMRADARR_DISCOVERY_", extra="ignore")

    # An episode or movie is a gap only this long after its air/release date: the first
    # hours after airing rarely have releases, and searching then wastes indexer hits.
    air_delay_hours: float = Field(default=4.0, ge=0)
    age_half_life_days: float = Field(default=30.0, gt=0)
    missing_full_days: float = Field(default=90.0, gt=0)
    failure_full_attempts: float = Field(default=5.0, gt=0)
    # How often the orphan cleanup job runs.
    cleanup_interval_seconds: float = Field(default=3600.0, gt=0)
