"""Turning the best eligible entries into one *arr command (pure: no I/O)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

MAX_IDS_PER_COMMAND = 10  # the *arr apps' own practical limit for one search command


class Candidate(NamedTuple):
    """An eligible registry entry with what batching needs to know about its content.

    A named tuple: a claim builds one per row of its window (100 by default), and a tuple
    is built from the row's values several times faster than a frozen dataclass.
    """

    registry_id: int
    content_type: str  # episode | movie
    search_type: str  # gap | upgrade
    arr_id: int
    series_arr_id: int | None = None
    season_number: int | None = None
    season_fully_aired: bool = False
    season_missing_share: float = 0.0
    season_pack_failed: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Batch:
    """One command to send: its name, target and the entries it covers."""

    command_name: str  # EpisodeSearch | SeasonSearch | MoviesSearch
    candidates: tuple[Candidate, ...]
    series_arr_id: int | None = None
    season_number: int | None = None

    @property
    def arr_ids(self) -> list[int]:
        """The episode or movie ids to search."""
        return [c.arr_id for c in self.candidates]

    @property
    def registry_ids(self) -> list[int]:
        """The registry entries the command stands for."""
        return [c.registry_id for c in self.candidates]


def wants_season_pack(c: Candidate, *, threshold: float) -> bool:
    """A season pack for a gap in a fully aired, mostly missing season not failed as a pack."""
    return (
        c.content_type == "episode"
        and c.search_type == "gap"
        and c.season_number is not None
        and c.season_number > 0  # specials are not released as packs
        and c.season_fully_aired
        and c.season_missing_share >= threshold
        and not c.season_pack_failed
    )


def plan_batch(
    candidates: Sequence[Candidate],
    *,
    batch_size: int,
    series_busy: Mapping[int, int],
    per_series_limit: int,
    season_pack_threshold: float,
) -> Batch | None:
    """The next command from candidates in priority order, or None when nothing may go.

    The best candidate whose series is below its concurrency limit leads: a movie gathers
    the next movies; an episode becomes a season pack when its season qualifies, otherwise
    gathers the next episodes of the same series (a search per series keeps indexer queries
    focused and lets the per-series limit mean something).
    """
    size = max(1, min(batch_size, MAX_IDS_PER_COMMAND))
    head = next(
        (
            c
            for c in candidates
            if c.series_arr_id is None or series_busy.get(c.series_arr_id, 0) < per_series_limit
        ),
        None,
    )
    if head is None:
        return None
    if head.content_type == "movie":
        movies = [c for c in candidates if c.content_type == "movie"][:size]
        return Batch(command_name="MoviesSearch", candidates=tuple(movies))
    if wants_season_pack(head, threshold=season_pack_threshold):
        same_season = [
            c
            for c in candidates
            if c.series_arr_id == head.series_arr_id
            and c.season_number == head.season_number
            and c.search_type == "gap"
        ]
        return Batch(
            command_name="SeasonSearch",
            candidates=tuple(same_season),
            series_arr_id=head.series_arr_id,
            season_number=head.season_number,
        )
    episodes = [
        c
        for c in candidates
        if c.content_type == "episode"
        and c.series_arr_id == head.series_arr_id
        # Season-pack material waits for its own pack instead of riding along.
        and (c is head or not wants_season_pack(c, threshold=season_pack_threshold))
    ][:size]
    return Batch(
        command_name="EpisodeSearch",
        candidates=tuple(episodes),
        series_arr_id=head.series_arr_id,
    )
