"""Settings → Search: the one home of how items are chosen and shaped into searches.

Stored by the gateway in the ``settings`` table as dotted keys (``search.air_delay_hours``,
``search.priority_weights.age``, ...); a key never saved has the default below. Read where
applied, with no copy kept anywhere else:

- discovery reads them on each pass (air delay, search types, weights) and re-scores every
  queue when a weight changes (SettingsChanged);
- the dispatcher reads them at start, on SettingsChanged and every few seconds after
  (season-pack threshold, which search types may be sent);
- the user's weight is read by SQL where a user's nudge re-ranks an entry (USER_WEIGHT_SQL).

What a search costs an indexer (rate, batch size, cooldown, backoff, attempts, budget) is
the throttle profile's, never a setting here.
"""

from __future__ import annotations

from typing import Any

import structlog
from comradarr_db import Connection
from pydantic import BaseModel, ConfigDict, Field, ValidationError

log = structlog.get_logger(__name__)

PREFIX = "search."


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class PriorityWeights(_Strict):
    """How much each part of an entry's priority weighs (each part is in [0, 1] or [-1, 1]
    before weighting; the queue is ordered by the sum)."""

    age: float = Field(default=30.0, ge=0, le=1000, description="Recently aired or released first.")
    missing: float = Field(default=20.0, ge=0, le=1000, description="Waiting longest first.")
    user: float = Field(default=50.0, ge=0, le=1000, description="A user's nudge (-100..100).")
    failures: float = Field(
        default=25.0, ge=0, le=1000, description="Entries that failed often go back."
    )
    type: float = Field(default=20.0, ge=0, le=1000, description="Missing files before upgrades.")
    format: float = Field(
        default=-10.0,
        ge=-1000,
        le=1000,
        description="The type part of a custom-format score upgrade (negative: least urgent).",
    )


class SearchSettings(_Strict):
    """Which items are searched, in which order, and when a season is searched whole."""

    priority_weights: PriorityWeights = Field(default_factory=PriorityWeights)
    # A fully aired season with at least this share of episodes missing is one SeasonSearch.
    season_pack_threshold: float = Field(default=0.5, ge=0, le=1)
    # An episode or movie is wanted only this long after its air/release date: the first
    # hours rarely have releases, and searching then wastes indexer hits.
    air_delay_hours: float = Field(default=4.0, ge=0, le=24 * 90)
    # Which kinds of search run at all (format-score upgrades also need the connector's
    # own switch). Entries of a kind turned off wait in the queue and are not sent.
    search_gaps: bool = True
    search_upgrades: bool = True

    def search_types(self) -> tuple[str, ...]:
        """The registry search types that may be searched now."""
        return (("gap",) if self.search_gaps else ()) + (
            ("upgrade", "format") if self.search_upgrades else ()
        )


# The user's weight as SQL, read where it is applied (so a change needs no message).
_USER_KEY = PREFIX + "priority_weights.user"
_USER_WEIGHT = "SELECT (value #>> '{}')::float8 FROM settings WHERE key = "
USER_WEIGHT_SQL = f"coalesce(({_USER_WEIGHT}'{_USER_KEY}'), {PriorityWeights().user})"


def from_dotted(stored: dict[str, Any]) -> SearchSettings:
    """Defaults overlaid with stored ``search.*`` keys; a stored value that no longer
    validates (or a key no longer known) is ignored, so a bad row cannot stop a service."""
    tree: dict[str, Any] = SearchSettings().model_dump()
    for key, value in stored.items():
        if not key.startswith(PREFIX):
            continue
        *parents, leaf = key[len(PREFIX) :].split(".")
        node = tree
        for part in parents:
            nxt = node.get(part)
            if not isinstance(nxt, dict):
                break
            node = nxt
        else:
            if leaf not in node:
                continue
            before, node[leaf] = node[leaf], value
            try:
                SearchSettings.model_validate(tree)
            except ValidationError:
                node[leaf] = before
                log.warning("stored search setting ignored", key=key)
    return SearchSettings.model_validate(tree)


async def load_search_settings(conn: Connection) -> SearchSettings:
    """Settings → Search as stored now (defaults for what was never saved)."""
    rows = await conn.fetch("SELECT key, value FROM settings WHERE key LIKE 'search.%'")
    return from_dotted({r["key"]: r["value"] for r in rows})
