"""Pydantic models of the *arr resources: only the fields Comradarr uses.

Unknown fields are ignored because every app version adds some; camelCase aliases
match the wire format, and ``populate_by_name`` lets code build models in snake_case.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic.alias_generators import to_camel


class ArrModel(BaseModel):
    """Base of every *arr resource model."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True, alias_generator=to_camel)

    def to_wire(self) -> dict[str, Any]:
        """Dump as the app would send it: camelCase, nulls omitted."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


# --- quality -------------------------------------------------------------------------


class Quality(ArrModel):
    """A quality definition (e.g. WEBDL-1080p)."""

    id: int
    name: str | None = None
    source: str | None = None
    resolution: int | None = None
    # Radarr-family only: none, regional, screener, rawhd, brdisk, remux.
    modifier: str | None = None


class Revision(ArrModel):
    """A release revision: PROPER/REPACK bookkeeping."""

    version: int = 1
    real: int = 0
    is_repack: bool = False


class QualityModel(ArrModel):
    """Quality plus revision, as carried by files and history records."""

    quality: Quality
    revision: Revision = Field(default_factory=Revision)


class QualityProfileItem(ArrModel):
    """One entry of a quality profile: a quality or a named group of qualities."""

    id: int | None = None
    name: str | None = None
    quality: Quality | None = None
    items: list[QualityProfileItem] = Field(default_factory=list)
    allowed: bool = False


class QualityProfile(ArrModel):
    """A quality profile with its cutoff and, where the app scores custom formats (Sonarr
    v4+, Radarr, Whisparr), its format-score thresholds."""

    id: int
    name: str
    upgrade_allowed: bool = False
    cutoff: int
    items: list[QualityProfileItem] = Field(default_factory=list)
    min_format_score: int = 0
    # A file whose format score is below this is still upgraded once its quality meets
    # the cutoff (which qualityCutoffNotMet and wanted/cutoff do not say).
    cutoff_format_score: int = 0
    # How much a release must beat a file's score by to upgrade it (Sonarr v4+, Radarr).
    min_upgrade_format_score: int | None = None


# --- system --------------------------------------------------------------------------


class SystemStatus(ArrModel):
    """The answer of ``system/status``."""

    app_name: str | None = None
    instance_name: str | None = None
    version: str
    url_base: str | None = None
    branch: str | None = None


class HealthCheck(ArrModel):
    """One health check message of the app."""

    source: str | None = None
    type: str = "ok"
    message: str | None = None
    wiki_url: str | None = None

    @field_validator("wiki_url", mode="before")
    @classmethod
    def _uri_object(cls, value: Any) -> Any:
        # Some builds describe wikiUrl as a .NET Uri object rather than a string.
        if isinstance(value, dict):
            return value.get("fullUri")
        return value


class HealthStatus(enum.StrEnum):
    """Overall health of a connector."""

    HEALTHY = "healthy"
    DEGRADED = "degraded"
    UNHEALTHY = "unhealthy"
    OFFLINE = "offline"
    # The app refused the API key (401/403): re-entering the key is the fix.
    AUTH_FAILED = "auth_failed"


# --- series / episodes ---------------------------------------------------------------


class SeasonStatistics(ArrModel):
    """Per-season counts."""

    episode_file_count: int = 0
    episode_count: int = 0
    total_episode_count: int = 0
    size_on_disk: int = 0
    previous_airing: datetime | None = None
    next_airing: datetime | None = None


class Season(ArrModel):
    """A season of a series."""

    season_number: int
    monitored: bool = False
    statistics: SeasonStatistics | None = None


class SeriesStatistics(ArrModel):
    """Series-wide counts, used to skip unchanged series on incremental syncs."""

    season_count: int = 0
    episode_file_count: int = 0
    episode_count: int = 0
    total_episode_count: int = 0
    size_on_disk: int = 0
    percent_of_episodes: float = 0.0


class Series(ArrModel):
    """A series (Sonarr, Whisparr v2 sites)."""

    id: int
    title: str | None = None
    sort_title: str | None = None
    status: str | None = None
    ended: bool = False
    monitored: bool = False
    quality_profile_id: int | None = None
    tvdb_id: int | None = None
    year: int | None = None
    series_type: str | None = None
    path: str | None = None
    added: datetime | None = None
    first_aired: datetime | None = None
    previous_airing: datetime | None = None
    next_airing: datetime | None = None
    seasons: list[Season] = Field(default_factory=list)
    statistics: SeriesStatistics | None = None


class EpisodeFile(ArrModel):
    """An episode's file; carries ``qualityCutoffNotMet``."""

    id: int
    series_id: int | None = None
    season_number: int | None = None
    relative_path: str | None = None
    size: int = 0
    date_added: datetime | None = None
    quality: QualityModel | None = None
    quality_cutoff_not_met: bool = False
    # The sum of the file's custom formats' scores in its profile (None where not served).
    custom_format_score: int | None = None


class Episode(ArrModel):
    """An episode (or a Whisparr v2 scene)."""

    id: int
    series_id: int
    season_number: int
    # Whisparr v2 scenes have no episode number.
    episode_number: int | None = None
    absolute_episode_number: int | None = None
    title: str | None = None
    air_date_utc: datetime | None = None
    monitored: bool = False
    has_file: bool = False
    episode_file_id: int | None = None
    episode_file: EpisodeFile | None = None
    last_search_time: datetime | None = None

    @property
    def quality_cutoff_not_met(self) -> bool:
        """Whether the file exists and is below the profile's cutoff."""
        return self.episode_file is not None and self.episode_file.quality_cutoff_not_met


# --- movies --------------------------------------------------------------------------


class MovieFile(ArrModel):
    """A movie's file; carries ``qualityCutoffNotMet``."""

    id: int
    movie_id: int | None = None
    relative_path: str | None = None
    size: int = 0
    date_added: datetime | None = None
    quality: QualityModel | None = None
    quality_cutoff_not_met: bool = False
    custom_format_score: int | None = None


class Movie(ArrModel):
    """A movie (Radarr, Whisparr v3 Eros scenes and movies)."""

    id: int
    title: str | None = None
    sort_title: str | None = None
    year: int | None = None
    status: str | None = None
    monitored: bool = False
    is_available: bool = False
    has_file: bool | None = None
    movie_file_id: int | None = None
    movie_file: MovieFile | None = None
    quality_profile_id: int | None = None
    tmdb_id: int | None = None
    imdb_id: str | None = None
    # Whisparr Eros identifies items by StashDB / foreign ids.
    foreign_id: str | None = None
    stash_id: str | None = None
    added: datetime | None = None
    last_search_time: datetime | None = None

    @property
    def quality_cutoff_not_met(self) -> bool:
        """Whether the file exists and is below the profile's cutoff."""
        return self.movie_file is not None and self.movie_file.quality_cutoff_not_met


# --- history -------------------------------------------------------------------------


class HistoryRecord(ArrModel):
    """One history event (grabbed, imported, failed, ...)."""

    id: int
    event_type: str
    date: datetime
    source_title: str | None = None
    series_id: int | None = None
    episode_id: int | None = None
    movie_id: int | None = None
    download_id: str | None = None
    quality: QualityModel | None = None
    quality_cutoff_not_met: bool = False
    data: dict[str, Any] = Field(default_factory=dict)


# --- commands ------------------------------------------------------------------------

TERMINAL_COMMAND_STATUSES = frozenset({"completed", "failed", "aborted", "cancelled", "orphaned"})


class Command(ArrModel):
    """A command resource (EpisodeSearch, SeasonSearch, MoviesSearch, ...)."""

    id: int
    name: str | None = None
    command_name: str | None = None
    message: str | None = None
    status: str
    result: str | None = None
    queued: datetime | None = None
    started: datetime | None = None
    ended: datetime | None = None
    body: dict[str, Any] = Field(default_factory=dict)

    @property
    def is_terminal(self) -> bool:
        """Whether the command reached an end state."""
        return self.status in TERMINAL_COMMAND_STATUSES


# --- download queue ------------------------------------------------------------------


class QueueStatus(ArrModel):
    """``queue/status``: how many downloads the app's queue holds."""

    total_count: int = 0
    count: int = 0
    unknown_count: int = 0
    errors: bool = False
    warnings: bool = False


# --- prowlarr ------------------------------------------------------------------------


class ProviderMessage(ArrModel):
    """A message Prowlarr attaches to an indexer (info, warning or error)."""

    message: str | None = None
    type: str | None = None


class Indexer(ArrModel):
    """A Prowlarr indexer."""

    id: int
    name: str | None = None
    enable: bool = False
    protocol: str | None = None
    privacy: str | None = None
    priority: int | None = None
    implementation: str | None = None
    definition_name: str | None = None
    app_profile_id: int | None = None
    supports_rss: bool = False
    supports_search: bool = False
    tags: list[int] = Field(default_factory=list)
    added: datetime | None = None
    message: ProviderMessage | None = None
    status: IndexerStatus | None = None


class IndexerStatus(ArrModel):
    """A Prowlarr indexer status (listed only while the indexer is disabled)."""

    id: int
    indexer_id: int
    disabled_till: datetime | None = None
    most_recent_failure: datetime | None = None
    initial_failure: datetime | None = None


class IndexerStatistics(ArrModel):
    """Prowlarr's counts for one indexer (``indexerstats``)."""

    indexer_id: int
    indexer_name: str | None = None
    average_response_time: int = 0
    number_of_queries: int = 0
    number_of_grabs: int = 0
    number_of_rss_queries: int = 0
    number_of_failed_queries: int = 0
    number_of_failed_grabs: int = 0
    number_of_failed_rss_queries: int = 0


Indexer.model_rebuild()
