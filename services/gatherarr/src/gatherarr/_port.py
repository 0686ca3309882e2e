"""The small port gatherarr needs from a Radarr or Sonarr instance, and its error vocabulary."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True, slots=True, order=True)
class WantedItem:
    """One searchable unit: a movie (Radarr) or one season of a series (Sonarr)."""

    movie_id: int | None = None
    series_id: int | None = None
    season_number: int | None = None
    reason: str = "missing"  # "missing" or "cutoff"

    @classmethod
    def movie(cls, movie_id: int, *, reason: str = "missing") -> WantedItem:
        """Build a Radarr movie item."""
        return cls(movie_id=movie_id, reason=reason)

    @classmethod
    def season(cls, series_id: int, season_number: int, *, reason: str = "missing") -> WantedItem:
        """Build a Sonarr season item."""
        return cls(series_id=series_id, season_number=season_number, reason=reason)

    @property
    def key(self) -> str:
        """Stable identifier used in the state file."""
        if self.movie_id is not None:
            return f"movie:{self.movie_id}"
        return f"season:{self.series_id}:{self.season_number}"

    def log_fields(self) -> dict[str, int]:
        """Identifiers every log line about this item carries."""
        if self.movie_id is not None:
            return {"movie_id": self.movie_id}
        assert self.series_id is not None and self.season_number is not None
        return {"series_id": self.series_id, "season_number": self.season_number}


@dataclass(frozen=True, slots=True)
class GrabEvent:
    """A grabbed event from an application's history."""

    item_key: str
    date: datetime


class TargetError(Exception):
    """A failed call to a target; ``transient`` decides whether it is retried."""

    transient: bool = False
    kind: str = "error"

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after

    @property
    def summary(self) -> str:
        """Short text for the state file, never containing request headers."""
        return f"{self.kind}: {self}"[:300]


class TransientError(TargetError):
    """Network error, timeout, 5xx or 429: worth retrying."""

    transient = True
    kind = "transient"


class AuthError(TargetError):
    """401 or 403: the API key is wrong; retrying will not help."""

    kind = "auth"


class PermanentError(TargetError):
    """Any other 4xx or malformed answer: retrying will not help."""

    kind = "client"


class TargetClient(Protocol):
    """What gatherarr needs from one Radarr or Sonarr instance."""

    async def check_auth(self) -> None:
        """Verify the API key by reading the system status."""

    async def wanted(self) -> list[WantedItem]:
        """Return monitored items that are missing or below cutoff."""

    async def search(self, item: WantedItem) -> int | None:
        """Send one MoviesSearch or SeasonSearch command; return the command id if known."""

    async def grabbed_since(self, since: datetime) -> list[GrabEvent]:
        """Return grabbed history events newer than ``since``."""

    async def aclose(self) -> None:
        """Release the underlying connections."""
