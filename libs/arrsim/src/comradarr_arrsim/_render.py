"""Turning simulated records into the JSON each app sends (camelCase, nulls omitted)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from comradarr_arrsim._flavors import FlavorInfo
from comradarr_arrsim._library import (
    Library,
    ProfileDef,
    QualityDef,
    SimEpisode,
    SimFile,
    SimHistory,
    SimMovie,
    SimSeries,
)

ENGLISH = {"id": 1, "name": "English"}


def iso(ts: float) -> str:
    """The apps' date format: ``yyyy-MM-ddTHH:mm:ssZ``."""
    # isoformat is several times faster than strftime, which matters for 200k episodes.
    return datetime.fromtimestamp(int(ts), UTC).isoformat()[:-6] + "Z"


def _slug(title: str) -> str:
    return "-".join("".join(c if c.isalnum() else " " for c in title.lower()).split())


def quality(
    info: FlavorInfo, q: QualityDef, *, revision: int = 1, repack: bool = False
) -> dict[str, Any]:
    """A QualityModel."""
    inner: dict[str, Any] = {
        "id": q.id,
        "name": q.name,
        "source": q.source,
        "resolution": q.resolution,
    }
    if q.modifier is not None and not info.eros:
        inner["modifier"] = q.modifier
    return {"quality": inner, "revision": {"version": revision, "real": 0, "isRepack": repack}}


def custom_formats(lib: Library, f: SimFile) -> list[dict[str, Any]]:
    """The CustomFormatResources a file matches."""
    names = {cf.id: cf.name for cf in lib.formats}
    return [{"id": cf, "name": names[cf]} for cf in f.formats]


def episode_file(info: FlavorInfo, lib: Library, f: SimFile) -> dict[str, Any]:
    """An EpisodeFileResource."""
    series = lib.series[f.owner_id]
    data: dict[str, Any] = {
        "id": f.id,
        "seriesId": f.owner_id,
        "seasonNumber": f.season_number,
        "relativePath": f"Season {f.season_number:02d}/{f.relative_path}",
        "path": f"/tv/{series.title}/Season {f.season_number:02d}/{f.relative_path}",
        "size": f.size,
        "dateAdded": iso(f.date_added),
        "releaseGroup": f.release_group,
        "languages": [ENGLISH],
        "quality": quality(info, f.quality, revision=f.revision, repack=f.is_repack),
        "customFormats": custom_formats(lib, f),
        "customFormatScore": f.format_score,
        "qualityCutoffNotMet": f.cutoff_not_met,
    }
    if info.sonarr_fields:
        data["indexerFlags"] = 0
        data["releaseType"] = "singleEpisode"
    return data


def episode(
    info: FlavorInfo, lib: Library, ep: SimEpisode, *, include_file: bool
) -> dict[str, Any]:
    """An EpisodeResource."""
    data: dict[str, Any] = {
        "id": ep.id,
        "seriesId": ep.series_id,
        "tvdbId": ep.tvdb_id,
        "episodeFileId": ep.file_id or 0,
        "seasonNumber": ep.season_number,
        "title": ep.title,
        "runtime": 45,
        "hasFile": ep.file_id is not None,
        "monitored": ep.monitored,
    }
    if info.sonarr_fields:
        data["episodeNumber"] = ep.episode_number
        if ep.air_date is not None:
            data["airDate"] = iso(ep.air_date)[:10]
            data["airDateUtc"] = iso(ep.air_date)
        if ep.last_search_time is not None:
            data["lastSearchTime"] = iso(ep.last_search_time)
        data["unverifiedSceneNumbering"] = False
    else:
        # Whisparr v2 scenes carry the site title instead of an episode number.
        data["seriesTitle"] = lib.series[ep.series_id].title
        data["grabbed"] = False
    if include_file and ep.file_id is not None:
        data["episodeFile"] = episode_file(info, lib, lib.files[ep.file_id])
    return data


def series(info: FlavorInfo, lib: Library, s: SimSeries, *, now: float) -> dict[str, Any]:
    """A SeriesResource with statistics."""
    seasons: list[dict[str, Any]] = []
    total_eps = total_files = total_count = 0
    total_size = 0
    by_season: dict[int, list[SimEpisode]] = {}
    for eid in s.episode_ids:
        ep = lib.episodes[eid]
        by_season.setdefault(ep.season_number, []).append(ep)
    previous: float | None = None
    upcoming: float | None = None
    for number, monitored in s.season_monitored.items():
        eps = by_season.get(number, [])
        files = [lib.files[e.file_id] for e in eps if e.file_id is not None]
        aired = [e for e in eps if e.air_date is not None and e.air_date <= now]
        wanted = [e for e in aired if e.monitored] + [
            e for e in eps if e.file_id and not e.monitored
        ]
        size = sum(f.size for f in files)
        prev_s = max((e.air_date for e in aired if e.air_date is not None), default=None)
        next_s = min(
            (e.air_date for e in eps if e.air_date is not None and e.air_date > now), default=None
        )
        stats: dict[str, Any] = {
            "episodeFileCount": len(files),
            "episodeCount": len(wanted),
            "totalEpisodeCount": len(eps),
            "sizeOnDisk": size,
            "releaseGroups": sorted({f.release_group for f in files}),
            "percentOfEpisodes": (100.0 * len(files) / len(wanted)) if wanted else 0.0,
        }
        if prev_s is not None:
            stats["previousAiring"] = iso(prev_s)
        if next_s is not None:
            stats["nextAiring"] = iso(next_s)
        seasons.append({"seasonNumber": number, "monitored": monitored, "statistics": stats})
        if number != 0:
            total_eps += len(wanted)
            total_count += len(eps)
            total_files += len(files)
            total_size += size
        if prev_s is not None and (previous is None or prev_s > previous):
            previous = prev_s
        if next_s is not None and (upcoming is None or next_s < upcoming):
            upcoming = next_s
    data: dict[str, Any] = {
        "id": s.id,
        "title": s.title,
        "sortTitle": s.sort_title,
        "status": s.status,
        "ended": s.status == "ended",
        "network": s.network,
        "images": [],
        "originalLanguage": ENGLISH,
        "seasons": seasons,
        "year": s.year,
        "path": f"/tv/{s.title}",
        "qualityProfileId": s.quality_profile_id,
        "monitored": s.monitored,
        "useSceneNumbering": False,
        "runtime": 45,
        "tvdbId": s.tvdb_id,
        "firstAired": iso(s.first_aired),
        "cleanTitle": s.sort_title.replace(" ", ""),
        "titleSlug": _slug(s.title),
        "rootFolderPath": "/tv/",
        "genres": s.genres,
        "tags": [],
        "added": iso(s.added),
        "ratings": {"votes": 1200, "value": 8.1},
        "statistics": {
            "seasonCount": len([n for n in s.season_monitored if n != 0]),
            "episodeFileCount": total_files,
            "episodeCount": total_eps,
            "totalEpisodeCount": total_count,
            "sizeOnDisk": total_size,
            "releaseGroups": [],
            "percentOfEpisodes": (100.0 * total_files / total_eps) if total_eps else 0.0,
        },
    }
    if previous is not None:
        data["previousAiring"] = iso(previous)
    if upcoming is not None:
        data["nextAiring"] = iso(upcoming)
    if info.sonarr_fields:
        data.update(
            {
                "seasonFolder": True,
                "monitorNewItems": "all",
                "imdbId": s.imdb_id,
                "seriesType": "standard",
                "tvRageId": 0,
                "tvMazeId": s.tvdb_id // 3,
                "tmdbId": s.tvdb_id // 2,
                "alternateTitles": [],
            }
        )
    return data


def movie_file(info: FlavorInfo, lib: Library, f: SimFile) -> dict[str, Any]:
    """A MovieFileResource."""
    movie = lib.movies[f.owner_id]
    data: dict[str, Any] = {
        "id": f.id,
        "movieId": f.owner_id,
        "relativePath": f.relative_path,
        "path": f"/movies/{movie.title} ({movie.year})/{f.relative_path}",
        "size": f.size,
        "dateAdded": iso(f.date_added),
        "releaseGroup": f.release_group,
        "languages": [ENGLISH],
        "quality": quality(info, f.quality, revision=f.revision, repack=f.is_repack),
        "customFormats": custom_formats(lib, f),
        "customFormatScore": f.format_score,
        "indexerFlags": 0,
        "qualityCutoffNotMet": f.cutoff_not_met,
    }
    return data


def movie(info: FlavorInfo, lib: Library, m: SimMovie, *, now: float) -> dict[str, Any]:
    """A MovieResource with its file."""
    file = lib.files.get(m.file_id) if m.file_id is not None else None
    size = file.size if file is not None else 0
    data: dict[str, Any] = {
        "id": m.id,
        "title": m.title,
        "originalLanguage": ENGLISH,
        "sortTitle": m.sort_title,
        "sizeOnDisk": size,
        "status": m.status,
        "images": [],
        "year": m.year,
        "path": f"/movies/{m.title} ({m.year})",
        "qualityProfileId": m.quality_profile_id,
        "hasFile": file is not None,
        "monitored": m.monitored,
        "isAvailable": m.release_date <= now,
        "folderName": f"/movies/{m.title} ({m.year})",
        "runtime": 104,
        "cleanTitle": m.sort_title.replace(" ", ""),
        "tmdbId": m.tmdb_id,
        "titleSlug": _slug(m.title),
        "rootFolderPath": "/movies/",
        "genres": m.genres,
        "tags": [],
        "added": iso(m.added),
        "statistics": {
            "movieFileCount": 1 if file is not None else 0,
            "sizeOnDisk": size,
            "releaseGroups": [file.release_group] if file is not None else [],
        },
    }
    if info.eros:
        data.update(
            {
                "foreignId": m.foreign_id,
                "stashId": m.foreign_id,
                "studioTitle": m.studio,
                "releaseDate": iso(m.release_date)[:10],
                "itemType": "scene",
            }
        )
    else:
        data.update(
            {
                "originalTitle": m.title,
                "imdbId": m.imdb_id,
                "studio": m.studio,
                "movieFileId": m.file_id or 0,
                "minimumAvailability": "released",
                "inCinemas": iso(m.release_date),
                "digitalRelease": iso(m.release_date + 90 * 86400),
                "popularity": 12.5,
            }
        )
        if m.last_search_time is not None:
            data["lastSearchTime"] = iso(m.last_search_time)
    if file is not None:
        data["movieFile"] = movie_file(info, lib, file)
    return data


def history(info: FlavorInfo, h: SimHistory) -> dict[str, Any]:
    """A HistoryResource."""
    data: dict[str, Any] = {
        "id": h.id,
        "sourceTitle": h.source_title,
        "languages": [ENGLISH],
        "quality": quality(info, h.quality),
        "customFormats": [],
        "customFormatScore": 0,
        "qualityCutoffNotMet": False,
        "date": iso(h.date),
        "downloadId": h.download_id,
        "eventType": h.event_type,
        "data": h.data,
    }
    if h.movie_id is not None:
        data["movieId"] = h.movie_id
    else:
        data["episodeId"] = h.episode_id
        data["seriesId"] = h.series_id
    return data


def quality_profile(info: FlavorInfo, lib: Library, p: ProfileDef) -> dict[str, Any]:
    """A QualityProfileResource."""
    items = [
        {
            "quality": quality(info, q)["quality"],
            "items": [],
            "allowed": q.id in p.allowed,
        }
        for q in lib.qualities
    ]
    data: dict[str, Any] = {
        "id": p.id,
        "name": p.name,
        "upgradeAllowed": p.upgrade_allowed,
        "cutoff": p.cutoff,
        "items": items,
        "minFormatScore": p.min_format_score,
        "cutoffFormatScore": p.cutoff_format_score,
        # Every custom format is listed in every profile, scored 0 where it does not count.
        "formatItems": [
            {"format": cf.id, "name": cf.name, "score": p.format_scores.get(cf.id, 0)}
            for cf in lib.formats
        ],
    }
    if info.min_upgrade_format_score:
        data["minUpgradeFormatScore"] = p.min_upgrade_format_score
    return data


def system_status(
    info: FlavorInfo, *, start: float, instance_name: str, url_base: str
) -> dict[str, Any]:
    """A SystemResource."""
    data: dict[str, Any] = {
        "appName": info.app_name,
        "instanceName": instance_name,
        "version": info.version,
        "buildTime": iso(start - 30 * 86400),
        "isDebug": False,
        "isProduction": True,
        "isAdmin": False,
        "isUserInteractive": False,
        "startupPath": f"/app/{info.app_name.lower()}/bin",
        "appData": "/config",
        "osName": "debian",
        "osVersion": "12",
        "isNetCore": True,
        "isLinux": True,
        "isOsx": False,
        "isWindows": False,
        "isDocker": True,
        "mode": "console",
        "branch": "main",
        "authentication": "forms",
        "migrationVersion": 215,
        "urlBase": url_base,
        "runtimeName": ".NET",
        "startTime": iso(start),
        "packageVersion": info.version,
        "packageAuthor": "comradarr-arrsim",
        "packageUpdateMechanism": "docker",
        "packageUpdateMechanismMessage": "",
        "databaseType": "sqLite",
    }
    if info.sonarr_fields or info.shape == "indexer" or info.app_name == "Radarr":
        # Whisparr's documents describe these as .NET Version objects; the app itself
        # sends strings, so they are left out there rather than sent in either form.
        data["runtimeVersion"] = "8.0.12"
        data["databaseVersion"] = "3.46.1"
    return data
