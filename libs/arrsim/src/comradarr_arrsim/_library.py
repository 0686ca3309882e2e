"""A deterministic *arr library: series/episodes or movies, files, qualities, history."""

from __future__ import annotations

import dataclasses
import random
from datetime import UTC, datetime

DAY = 86400.0
WEEK = 7 * DAY
# Library dates are relative to this instant so a seed always yields the same library.
DEFAULT_REFERENCE = datetime(2025, 6, 1, tzinfo=UTC).timestamp()


@dataclasses.dataclass(frozen=True, slots=True)
class QualityDef:
    """A quality as the app defines it."""

    id: int
    name: str
    source: str
    resolution: int
    modifier: str | None = None


# Ordered worst → best: the index is the rank used to decide "cutoff not met".
SERIES_QUALITIES: tuple[QualityDef, ...] = (
    QualityDef(1, "SDTV", "television", 480),
    QualityDef(2, "DVD", "dvd", 480),
    QualityDef(4, "HDTV-720p", "television", 720),
    QualityDef(5, "WEBDL-720p", "web", 720),
    QualityDef(14, "WEBRip-720p", "webRip", 720),
    QualityDef(6, "Bluray-720p", "bluray", 720),
    QualityDef(9, "HDTV-1080p", "television", 1080),
    QualityDef(3, "WEBDL-1080p", "web", 1080),
    QualityDef(15, "WEBRip-1080p", "webRip", 1080),
    QualityDef(7, "Bluray-1080p", "bluray", 1080),
    QualityDef(18, "WEBDL-2160p", "web", 2160),
    QualityDef(19, "Bluray-2160p", "bluray", 2160),
)
MOVIE_QUALITIES: tuple[QualityDef, ...] = (
    QualityDef(1, "SDTV", "tv", 480, "none"),
    QualityDef(2, "DVD", "dvd", 480, "none"),
    QualityDef(4, "HDTV-720p", "tv", 720, "none"),
    QualityDef(5, "WEBDL-720p", "webdl", 720, "none"),
    QualityDef(6, "Bluray-720p", "bluray", 720, "none"),
    QualityDef(9, "HDTV-1080p", "tv", 1080, "none"),
    QualityDef(3, "WEBDL-1080p", "webdl", 1080, "none"),
    QualityDef(7, "Bluray-1080p", "bluray", 1080, "none"),
    QualityDef(30, "Remux-1080p", "bluray", 1080, "remux"),
    QualityDef(18, "WEBDL-2160p", "webdl", 2160, "none"),
    QualityDef(19, "Bluray-2160p", "bluray", 2160, "none"),
)


@dataclasses.dataclass(frozen=True, slots=True)
class FormatDef:
    """A custom format (its conditions are not simulated: files are given formats)."""

    id: int
    name: str


CUSTOM_FORMATS: tuple[FormatDef, ...] = (
    FormatDef(1, "Preferred Group"),
    FormatDef(2, "x265"),
    FormatDef(3, "Repack/Proper"),
)
# The format scores of the profiles that use custom formats: a preferred group reaches the
# cutoff score on its own; x265 (and a repack of it) stays below it.
_FORMAT_SCORES = {1: 100, 2: 40, 3: 10}


@dataclasses.dataclass(frozen=True, slots=True)
class ProfileDef:
    """A quality profile: allowed qualities, the cutoff and the custom-format scores."""

    id: int
    name: str
    cutoff: int
    upgrade_allowed: bool
    allowed: frozenset[int]
    # Score of each custom format in this profile (formats not named score 0).
    format_scores: dict[int, int] = dataclasses.field(default_factory=dict)
    min_format_score: int = 0
    # A file whose format score is below this is upgraded (once its quality meets cutoff).
    cutoff_format_score: int = 0
    # How much better a release's score must be to count as an upgrade.
    min_upgrade_format_score: int = 1

    def format_score(self, formats: tuple[int, ...]) -> int:
        """A file's custom-format score under this profile."""
        return sum(self.format_scores.get(f, 0) for f in formats)


@dataclasses.dataclass(frozen=True, kw_only=True)
class LibrarySpec:
    """Sizes and shares of a generated library."""

    seed: int = 1
    series: int = 20
    seasons: int = 3
    episodes_per_season: int = 10
    movies: int = 50
    missing_share: float = 0.2
    cutoff_share: float = 0.15
    # Series whose last season is still airing (later episodes in the future).
    airing_seasons: int = 2
    unmonitored_share: float = 0.1
    # Special episodes (season 0, unmonitored as Sonarr does by default) per series.
    specials: int = 1
    indexers: int = 6
    # Of the files whose quality meets the cutoff (in a profile that scores custom formats),
    # the share whose format score stays below the profile's cutoff format score.
    format_share: float = 0.1
    reference_time: float = DEFAULT_REFERENCE


@dataclasses.dataclass(slots=True)
class SimFile:
    """An episode or movie file."""

    id: int
    owner_id: int  # series id for episode files, movie id for movie files
    season_number: int
    quality: QualityDef
    revision: int
    is_repack: bool
    size: int
    date_added: float
    relative_path: str
    release_group: str
    cutoff_not_met: bool
    # Custom formats the file matches, and its score under its profile.
    formats: tuple[int, ...] = ()
    format_score: int = 0


@dataclasses.dataclass(slots=True)
class SimEpisode:
    """An episode (or a Whisparr v2 scene)."""

    id: int
    series_id: int
    season_number: int
    episode_number: int
    title: str
    air_date: float | None
    monitored: bool
    tvdb_id: int
    file_id: int | None = None
    last_search_time: float | None = None


@dataclasses.dataclass(slots=True)
class SimSeries:
    """A series with its seasons' monitored flags."""

    id: int
    title: str
    sort_title: str
    year: int
    tvdb_id: int
    imdb_id: str
    status: str
    network: str
    monitored: bool
    quality_profile_id: int
    added: float
    first_aired: float
    season_monitored: dict[int, bool]
    episode_ids: list[int]
    genres: list[str]


@dataclasses.dataclass(slots=True)
class SimMovie:
    """A movie (or a Whisparr v3 scene)."""

    id: int
    title: str
    sort_title: str
    year: int
    tmdb_id: int
    imdb_id: str
    foreign_id: str
    status: str
    studio: str
    monitored: bool
    quality_profile_id: int
    added: float
    release_date: float
    genres: list[str]
    file_id: int | None = None
    last_search_time: float | None = None


@dataclasses.dataclass(slots=True)
class SimHistory:
    """One history event."""

    id: int
    event_type: str
    date: float
    series_id: int | None
    episode_id: int | None
    movie_id: int | None
    source_title: str
    quality: QualityDef
    download_id: str
    data: dict[str, str]


_ADJECTIVES = (
    "Silent", "Broken", "Golden", "Hidden", "Last", "Crimson", "Northern", "Quiet", "Wild",
    "Electric", "Lost", "Burning", "Frozen", "Velvet", "Iron", "Distant", "Hollow", "Bright",
)  # fmt: skip
_NOUNS = (
    "Harbor", "Kingdom", "Signal", "Frontier", "Orchard", "Station", "Empire", "Garden", "Tide",
    "Protocol", "Valley", "Circuit", "Archive", "Lantern", "Meridian", "Atlas", "Crown", "Canyon",
)  # fmt: skip
_NETWORKS = ("HBO", "AMC", "BBC One", "Netflix", "FX", "NBC", "Apple TV+", "Prime Video")
_STUDIOS = ("A24", "Warner Bros.", "Focus Features", "Neon", "Universal", "Lionsgate")
_GENRES = ("Drama", "Comedy", "Crime", "Sci-Fi", "Thriller", "Documentary", "Animation")
_GROUPS = ("NTb", "FLUX", "SiGMA", "CAKES", "GGEZ", "EDITH", "KOGi")
_EPISODE_WORDS = ("Pilot", "Return", "Reckoning", "Departure", "Aftermath", "Gambit", "Homecoming")


def sort_title(title: str) -> str:
    """How the apps sort titles: lower case, leading article dropped."""
    lowered = title.lower()
    for article in ("the ", "a ", "an "):
        if lowered.startswith(article):
            return lowered[len(article) :]
    return lowered


def _title(rng: random.Random, index: int) -> str:
    base = f"{rng.choice(_ADJECTIVES)} {rng.choice(_NOUNS)}"
    if rng.random() < 0.3:
        base = f"The {base}"
    # The combinations run out for big libraries: number the repeats like real remakes.
    cycle = index // (len(_ADJECTIVES) * len(_NOUNS))
    return f"{base} {cycle + 1}" if cycle else base


class Library:
    """The simulated library and the ids it hands out."""

    def __init__(self, *, spec: LibrarySpec, movie_shape: bool, radarr_qualities: bool) -> None:
        self.spec = spec
        self.movie_shape = movie_shape
        # Whisparr Eros is Radarr-shaped but kept Sonarr's quality sources.
        self.qualities = MOVIE_QUALITIES if radarr_qualities else SERIES_QUALITIES
        self.rank = {q.id: i for i, q in enumerate(self.qualities)}
        self.quality_by_id = {q.id: q for q in self.qualities}
        all_ids = frozenset(q.id for q in self.qualities)
        self.formats = CUSTOM_FORMATS
        self.profiles: dict[int, ProfileDef] = {
            1: ProfileDef(1, "Any", 1, False, all_ids),
            4: ProfileDef(
                4,
                "HD-1080p",
                3,
                True,
                all_ids - {1, 2, 18, 19},
                format_scores=dict(_FORMAT_SCORES),
                cutoff_format_score=100,
                min_upgrade_format_score=10,
            ),
            5: ProfileDef(
                5,
                "Ultra-HD",
                19,
                True,
                frozenset({18, 19}),
                format_scores=dict(_FORMAT_SCORES),
                cutoff_format_score=100,
                min_upgrade_format_score=10,
            ),
        }
        self.series: dict[int, SimSeries] = {}
        self.episodes: dict[int, SimEpisode] = {}
        self.movies: dict[int, SimMovie] = {}
        self.files: dict[int, SimFile] = {}
        self.history: list[SimHistory] = []
        self._next_file_id = 1
        self._next_history_id = 1
        # Bumped on every change: caches of sorted wanted lists key on it.
        self.version = 0
        rng = random.Random(spec.seed)
        if movie_shape:
            self._generate_movies(rng)
        else:
            self._generate_series(rng)

    # --- generation ----------------------------------------------------------------

    def _pick_quality(self, rng: random.Random, profile: ProfileDef, *, below: bool) -> QualityDef:
        cutoff_rank = self.rank[profile.cutoff]
        pool = [
            q
            for q in self.qualities
            if q.id in profile.allowed and ((self.rank[q.id] < cutoff_rank) == below)
        ]
        if not pool:  # e.g. "Any" has nothing below its cutoff
            pool = [self.quality_by_id[profile.cutoff]]
        return rng.choice(pool)

    def _pick_formats(
        self, file_id: int, profile: ProfileDef, *, below_cutoff: bool, format_below: bool | None
    ) -> tuple[int, ...]:
        # A generator of its own (per file): the library's other draws stay as they were
        # before files had formats, so a seed yields the same library as then.
        rng = random.Random(f"{self.spec.seed}:formats:{file_id}")
        if not profile.format_scores:
            return ()
        if below_cutoff:
            return rng.choice(((), (2,), (1,)))
        if format_below is None:
            format_below = rng.random() < self.spec.format_share
        if format_below:
            return rng.choice(((2,), (2, 3)))
        return rng.choice(((1,), (1, 3)))

    def new_file(
        self,
        rng: random.Random,
        *,
        owner_id: int,
        season_number: int,
        profile_id: int,
        below_cutoff: bool,
        when: float,
        name: str,
        format_below: bool | None = None,
    ) -> SimFile:
        """Create a file for an item, below the profile's cutoff or not; format_below says
        whether its format score stays below the profile's cutoff score (None: by the
        library's format share)."""
        profile = self.profiles[profile_id]
        quality = self._pick_quality(rng, profile, below=below_cutoff)
        repack = rng.random() < 0.05
        group = rng.choice(_GROUPS)
        formats = self._pick_formats(
            self._next_file_id, profile, below_cutoff=below_cutoff, format_below=format_below
        )
        file = SimFile(
            id=self._next_file_id,
            owner_id=owner_id,
            season_number=season_number,
            quality=quality,
            revision=2 if repack else 1,
            is_repack=repack,
            size=rng.randint(300, 4000) * 1024 * 1024,
            date_added=when,
            relative_path=f"{name} [{quality.name}]-{group}.mkv",
            release_group=group,
            cutoff_not_met=self.rank[quality.id] < self.rank[profile.cutoff],
            formats=formats,
            format_score=profile.format_score(formats),
        )
        self._next_file_id += 1
        self.files[file.id] = file
        return file

    def _generate_series(self, rng: random.Random) -> None:
        spec = self.spec
        ref = spec.reference_time
        episode_id = 1
        for index in range(spec.series):
            series_id = index + 1
            title = _title(rng, index)
            airing = index < spec.airing_seasons
            seasons = max(1, spec.seasons)
            per_season = max(1, spec.episodes_per_season)
            if airing:
                # The last season started half a season ago: its second half is in the future.
                last_start = ref - (per_season // 2) * WEEK + DAY
                first = last_start - (seasons - 1) * 365 * DAY
            else:
                first = ref - (seasons * 365 + rng.randint(30, 2000)) * DAY
            monitored = rng.random() >= spec.unmonitored_share
            profile_id = 4 if rng.random() < 0.85 else 1
            series = SimSeries(
                id=series_id,
                title=title,
                sort_title=sort_title(title),
                year=datetime.fromtimestamp(first, UTC).year,
                tvdb_id=70000 + series_id * 13,
                imdb_id=f"tt{1000000 + series_id * 7:07d}",
                status="continuing" if airing else rng.choice(("ended", "ended", "continuing")),
                network=rng.choice(_NETWORKS),
                monitored=monitored,
                quality_profile_id=profile_id,
                added=first + rng.randint(1, 300) * DAY,
                first_aired=first,
                season_monitored={},
                episode_ids=[],
                genres=rng.sample(_GENRES, 2),
            )
            self.series[series_id] = series
            season_numbers = ([0] if spec.specials > 0 else []) + list(range(1, seasons + 1))
            for season in season_numbers:
                # Specials are unmonitored by default in Sonarr.
                series.season_monitored[season] = season != 0
                count = spec.specials if season == 0 else per_season
                season_start = first + (max(season, 1) - 1) * 365 * DAY
                for number in range(1, count + 1):
                    air: float | None = season_start + (number - 1) * WEEK
                    if season == 0:
                        air = first + rng.randint(30, 900) * DAY
                    ep = SimEpisode(
                        id=episode_id,
                        series_id=series_id,
                        season_number=season,
                        episode_number=number,
                        title=f"{rng.choice(_EPISODE_WORDS)} ({season}x{number:02d})",
                        air_date=air,
                        monitored=season != 0,
                        tvdb_id=1_000_000 + episode_id,
                    )
                    aired = air is not None and air <= ref
                    if aired and rng.random() >= spec.missing_share:
                        file = self.new_file(
                            rng,
                            owner_id=series_id,
                            season_number=season,
                            profile_id=profile_id,
                            below_cutoff=rng.random() < spec.cutoff_share,
                            when=(air or ref) + rng.randint(1, 72) * 3600,
                            name=f"{title} - S{season:02d}E{number:02d}",
                        )
                        ep.file_id = file.id
                    self.episodes[ep.id] = ep
                    series.episode_ids.append(ep.id)
                    episode_id += 1

    def _generate_movies(self, rng: random.Random) -> None:
        spec = self.spec
        ref = spec.reference_time
        for index in range(spec.movies):
            movie_id = index + 1
            title = _title(rng, index)
            release = ref - rng.randint(-60, 8000) * DAY
            released = release <= ref
            profile_id = 4 if rng.random() < 0.85 else 1
            movie = SimMovie(
                id=movie_id,
                title=title,
                sort_title=sort_title(title),
                year=datetime.fromtimestamp(release, UTC).year,
                tmdb_id=500000 + movie_id * 11,
                imdb_id=f"tt{2000000 + movie_id * 7:07d}",
                foreign_id=f"{rng.getrandbits(64):016x}",
                status="released" if released else "announced",
                studio=rng.choice(_STUDIOS),
                monitored=rng.random() >= spec.unmonitored_share,
                quality_profile_id=profile_id,
                added=min(release, ref) - rng.randint(1, 400) * DAY,
                release_date=release,
                genres=rng.sample(_GENRES, 2),
            )
            if released and rng.random() >= spec.missing_share:
                file = self.new_file(
                    rng,
                    owner_id=movie_id,
                    season_number=0,
                    profile_id=profile_id,
                    below_cutoff=rng.random() < spec.cutoff_share,
                    when=release + rng.randint(1, 90) * DAY,
                    name=f"{title} ({movie.year})",
                )
                movie.file_id = file.id
            self.movies[movie_id] = movie

    # --- changes ---------------------------------------------------------------------

    def add_history(
        self,
        *,
        event_type: str,
        when: float,
        quality: QualityDef,
        source_title: str,
        download_id: str,
        series_id: int | None = None,
        episode_id: int | None = None,
        movie_id: int | None = None,
    ) -> SimHistory:
        """Append a history record."""
        record = SimHistory(
            id=self._next_history_id,
            event_type=event_type,
            date=when,
            series_id=series_id,
            episode_id=episode_id,
            movie_id=movie_id,
            source_title=source_title,
            quality=quality,
            download_id=download_id,
            data={"indexer": "SimIndexer (Prowlarr)", "releaseGroup": "SIM"},
        )
        self._next_history_id += 1
        self.history.append(record)
        return record

    def file_of(self, item_id: int) -> SimFile | None:
        """The file of an episode (series libraries) or a movie (movie libraries)."""
        item = self.movies[item_id] if self.movie_shape else self.episodes[item_id]
        return self.files.get(item.file_id) if item.file_id is not None else None

    def profile_of(self, item_id: int) -> ProfileDef:
        """The quality profile of an episode's series or of a movie."""
        if self.movie_shape:
            return self.profiles[self.movies[item_id].quality_profile_id]
        return self.profiles[self.series[self.episodes[item_id].series_id].quality_profile_id]

    def format_upgradable(self, file: SimFile) -> bool:
        """Whether the app would upgrade the file for its format score alone."""
        owner = self.movies[file.owner_id] if self.movie_shape else self.series[file.owner_id]
        profile = self.profiles[owner.quality_profile_id]
        return (
            profile.upgrade_allowed
            and not file.cutoff_not_met
            and file.format_score < profile.cutoff_format_score
        )

    def replace_file(
        self,
        item_id: int,
        *,
        below_cutoff: bool | None,
        rng: random.Random,
        when: float,
        format_below: bool | None = None,
    ) -> SimFile | None:
        """Drop an item's file and give it a new one below or meeting the cutoff (or none);
        format_below as for new_file."""
        item: SimEpisode | SimMovie
        if self.movie_shape:
            movie = self.movies[item_id]
            item, owner, season, profile = movie, movie.id, 0, movie.quality_profile_id
            name = f"{movie.title} ({movie.year})"
        else:
            ep = self.episodes[item_id]
            series = self.series[ep.series_id]
            item, owner, season, profile = (
                ep,
                ep.series_id,
                ep.season_number,
                series.quality_profile_id,
            )
            name = f"{series.title} - S{ep.season_number:02d}E{ep.episode_number:02d}"
        if item.file_id is not None:
            self.files.pop(item.file_id, None)
        item.file_id = None
        if below_cutoff is None:
            return None
        file = self.new_file(
            rng,
            owner_id=owner,
            season_number=season,
            profile_id=profile,
            below_cutoff=below_cutoff,
            when=when,
            name=name,
            format_below=format_below,
        )
        item.file_id = file.id
        return file
