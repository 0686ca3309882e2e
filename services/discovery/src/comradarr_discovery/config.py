"""Discovery tuning, read from COMRADARR_DISCOVERY_* variables with documented defaults.

What a user chooses (the priority weights, the air/release delay, which search types run)
is Settings → Search (comradarr_mirror.search_settings), read on every pass. These are the
shapes of the priority parts, which no screen offers:

- ``age``: how recent the content is, 1 / (1 + days since air/release / age_half_life_days)
  (new episodes are more likely to be found);
- ``missing``: how long the entry has waited, min(days since created / missing_full_days, 1);
- ``user``: the user's override, user_priority / 100 (from -1 to 1);
- ``failures``: minus min(attempts / failure_full_attempts, 1);
- ``type``: 1 for gaps, 0 for quality upgrades (a missing file matters more than a better
  one); a format-score upgrade (quality already at the cutoff, custom-format score below the
  profile's cutoff score) gets the ``format`` weight instead (-10 by default: the least
  urgent kind).
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class DiscoveryConfig(BaseSettings):
    """How the priority parts grow with time and failures, and how often orphans go."""

    model_config = SettingsConfigDict(env_prefix="COMRADARR_DISCOVERY_", extra="ignore")

    age_half_life_days: float = Field(default=30.0, gt=0)
    missing_full_days: float = Field(default=90.0, gt=0)
    failure_full_attempts: float = Field(default=5.0, gt=0)
    # How often the orphan cleanup job runs.
    cleanup_interval_seconds: float = Field(default=3600.0, gt=0)
