"""Pure choice of which wanted items to search in one run."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from gatherarr._port import WantedItem
from gatherarr._state import ItemState

SEARCHED = "searched"


@dataclass(frozen=True, slots=True)
class Selection:
    """Items to search now and those held back by the re-search interval."""

    chosen: tuple[WantedItem, ...]
    recently_searched: tuple[WantedItem, ...]
    over_limit: int


def dedupe(items: Iterable[WantedItem]) -> list[WantedItem]:
    """Keep one entry per key, preferring the "missing" reason over "cutoff"."""
    by_key: dict[str, WantedItem] = {}
    for item in items:
        current = by_key.get(item.key)
        if current is None or (current.reason != "missing" and item.reason == "missing"):
            by_key[item.key] = item
    return list(by_key.values())


def select_items(
    *,
    wanted: Iterable[WantedItem],
    items: Mapping[str, ItemState],
    now: datetime,
    research_interval_seconds: float,
    limit: int,
) -> Selection:
    """Choose up to ``limit`` items: never-searched first, then the longest-ago searched."""
    horizon = now - timedelta(seconds=research_interval_seconds)
    eligible: list[tuple[tuple[float, int, int, int, int], WantedItem]] = []
    recent: list[WantedItem] = []
    for item in dedupe(wanted):
        previous = items.get(item.key)
        # Only a search the target accepted holds an item back; failed attempts are retried.
        if (
            previous is not None
            and previous.last_result == SEARCHED
            and previous.last_processed > horizon
        ):
            recent.append(item)
            continue
        last = previous.last_processed.timestamp() if previous else float("-inf")
        order = (
            last,
            0 if item.reason == "missing" else 1,
            item.movie_id or 0,
            item.series_id or 0,
            item.season_number or 0,
        )
        eligible.append((order, item))
    eligible.sort(key=lambda pair: pair[0])
    chosen = tuple(item for _, item in eligible[: max(0, limit)])
    return Selection(
        chosen=chosen,
        recently_searched=tuple(recent),
        over_limit=len(eligible) - len(chosen),
    )
