"""What a claim produced, and the per-connector buffer of entries later claims plan from."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from comradarr_throttle import ThrottleProfile, ThrottleState

from .batching import Batch, Candidate


@dataclass(frozen=True, slots=True, kw_only=True)
class Claimed:
    """A batch claimed for sending: its dispatch row and what it searches."""

    dispatch_id: int
    connector_id: int
    command_name: str
    arr_ids: list[int]
    registry_ids: list[int]
    series_arr_id: int | None
    season_number: int | None
    correlation_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ClaimResult:
    """What one look at a connector produced: a batch, or when to look again (None: idle)."""

    claimed: Claimed | None = None
    retry_at: datetime | None = None
    reason: str | None = None
    # The connector's next send slot when known (after a claim, or refused for spacing):
    # no replica can send for it before then, so there is no point looking earlier.
    next_slot_at: datetime | None = None


@dataclass(slots=True, kw_only=True)
class Buffer:
    """A connector's best eligible entries as one look read them, kept for the next claims.

    At a high rate most claims then read nothing: they plan from what is left, decide on
    the counters this replica's last claim wrote, and the claim's compare-and-set proves
    both still hold (any other replica's claim or a pause changes the counters, an entry
    taken meanwhile is no longer eligible: the claim writes nothing and a new look
    follows). What in flight counts only grows here (a command that ended still counts
    until the next look), so the buffer can hold a connector back, never push it past a
    limit: a claim it cannot make goes to a new look. It ages out after
    buffer_max_age_seconds, and when half of the look's window has been claimed, so that
    batches still gather from a full window.
    """

    candidates: list[Candidate]
    series_busy: dict[int, int]
    in_flight: int
    profile: ThrottleProfile
    state: ThrottleState
    read_at: datetime
    keep_while: int  # used while at least this many candidates are left (at least 1)

    def usable(self, now: datetime, *, max_age: timedelta) -> bool:
        """Whether claims may still plan from it."""
        return now - self.read_at < max_age and len(self.candidates) >= self.keep_while

    def claimed(self, batch: Batch, state: ThrottleState) -> None:
        """Account for a claimed batch: its entries gone, one more command in flight."""
        if batch.command_name == "SeasonSearch":
            # The claim took every eligible gap of the season, in the window or not.
            def taken(c: Candidate) -> bool:
                return (
                    c.series_arr_id == batch.series_arr_id
                    and c.season_number == batch.season_number
                    and c.search_type == "gap"
                )
        else:
            ids = set(batch.registry_ids)

            def taken(c: Candidate) -> bool:
                return c.registry_id in ids

        self.candidates = [c for c in self.candidates if not taken(c)]
        self.in_flight += 1
        if batch.series_arr_id is not None:
            self.series_busy[batch.series_arr_id] = self.series_busy.get(batch.series_arr_id, 0) + 1
        self.state = state
