"""The content browser: filtered pages of the mirror, series and movie detail, bulk actions."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any, Literal

from comradarr_logging import get_logger
from comradarr_proto import ItemsQueued
from fastapi import APIRouter, HTTPException, Path, Query, Request, Response
from pydantic import BaseModel, Field, model_validator

from . import content_repo
from .content_repo import SORTS, CursorError, PageQuery
from .errors import invalid
from .fastjson import page_response
from .models import ErrorBody, Strict
from .security import ProtectedRoute, request_connection, shares_auth_connection
from .state import Gateway, gateway_of
from .text import _clean
from .totals import TotalCache

log = get_logger(__name__)

IdPath = Annotated[int, Path(ge=1, le=2**53)]
ContentType = Literal["series", "movie", "episode"]
Status = Literal["all", "missing", "upgrade", "queued", "searching", "exhausted"]
RegistryState = Literal["pending", "queued", "searching", "cooldown", "exhausted"]
MAX_PAGE_SIZE = 200
MAX_BULK = 500
HISTORY_PER_EPISODE = 5
HISTORY_PER_MOVIE = 20
TOTAL_TTL_SECONDS = 5.0
_SORT = re.compile(r"-?[a-z_]{1,20}")


class RegistryInfo(BaseModel):
    """An item's search registry entry (absent when nothing is wanted)."""

    id: int
    state: RegistryState
    search_type: Literal["gap", "upgrade", "format"]
    priority: float
    user_priority: int | None
    attempts: int
    next_eligible_at: datetime
    last_searched_at: datetime | None
    last_error: str | None = None


class SearchRecord(BaseModel):
    """One search of an entry."""

    id: int
    command_name: str | None
    search_type: str
    outcome: str
    error: str | None
    started_at: datetime
    ended_at: datetime | None


class ContentItem(BaseModel):
    """A series, movie or episode as the browser lists it."""

    type: ContentType
    id: int = Field(description="Content id (series, movie or episode id; not a registry id).")
    connector_id: int
    arr_id: int
    title: str | None
    series_id: int | None = None
    series_title: str | None = None
    season_number: int | None = None
    episode_number: int | None = None
    year: int | None = None
    air_date: datetime | None = None
    added: datetime | None = None
    monitored: bool
    has_file: bool | None = None
    quality: str | None = None
    cutoff_not_met: bool | None = None
    arr_status: str | None = None
    episode_count: int | None = None
    episode_file_count: int | None = None
    missing_count: int | None = None
    wanted: Literal["missing", "upgrade"] | None = None
    registry: RegistryInfo | None = None


class ContentPageOut(BaseModel):
    """A page of content; follow next_cursor for the next one (keyset), or use page."""

    type: ContentType
    sort: str
    page: int | None
    page_size: int
    total: int | None = Field(
        description=f"Matching items, counted up to {content_repo.TOTAL_CAP} (a count may be "
        f"up to {TOTAL_TTL_SECONDS:g} s old); null when include_total is false."
    )
    total_capped: bool = Field(description="True when more items match than were counted.")
    next_cursor: str | None
    items: list[ContentItem]


class EpisodeDetail(BaseModel):
    """An episode with its quality, status, registry entry and latest searches."""

    id: int
    arr_id: int
    season_number: int
    episode_number: int | None
    title: str | None
    air_date: datetime | None
    monitored: bool
    has_file: bool
    quality: str | None
    cutoff_not_met: bool
    file_size: int | None
    wanted: Literal["missing", "upgrade"] | None
    registry: RegistryInfo | None
    history: list[SearchRecord]


class SeasonDetail(BaseModel):
    """A season and its episodes."""

    season_number: int
    monitored: bool
    episode_count: int
    episode_file_count: int
    total_episode_count: int
    episodes: list[EpisodeDetail]


class SeriesDetail(BaseModel):
    """A series with every season and episode."""

    id: int
    connector_id: int
    arr_id: int
    title: str
    year: int | None
    status: str | None
    monitored: bool
    tvdb_id: int | None
    imdb_id: str | None
    episode_count: int
    episode_file_count: int
    size_on_disk: int
    synced_at: datetime
    seasons: list[SeasonDetail]


class MovieDetail(BaseModel):
    """A movie with its quality, status, registry entry and latest searches."""

    id: int
    connector_id: int
    arr_id: int
    title: str
    year: int | None
    status: str | None
    monitored: bool
    is_available: bool
    has_file: bool
    quality: str | None
    cutoff_not_met: bool
    file_size: int | None
    tmdb_id: int | None
    imdb_id: str | None
    added: datetime | None
    synced_at: datetime
    wanted: Literal["missing", "upgrade"] | None
    registry: RegistryInfo | None
    history: list[SearchRecord]


class BulkAction(Strict):
    """A bulk change. `target` says what the ids are: registry entry ids, or content ids
    (episode, movie, or series meaning all of its episodes)."""

    action: Literal["queue", "priority", "exhaust", "reset"]
    target: Literal["registry", "episode", "movie", "series"]
    ids: list[Annotated[int, Field(ge=1, le=2**53)]] = Field(min_length=1, max_length=MAX_BULK)
    priority: int | None = Field(
        default=None,
        ge=-100,
        le=100,
        description="action=priority: the user's nudge (null clears).",
    )

    @model_validator(mode="after")
    def _priority(self) -> BulkAction:
        if self.action == "priority" and "priority" not in self.model_fields_set:
            raise ValueError("priority is required for action 'priority' (null clears it)")
        if self.action != "priority" and self.priority is not None:
            raise ValueError("priority is only used with action 'priority'")
        return self


class BulkResult(BaseModel):
    """What a bulk action did. Entries in flight (queued/searching) are never changed."""

    action: str
    target: str
    requested: int
    matched: int = Field(description="Registry entries the ids resolved to (after creation).")
    created: int = Field(description="Entries created for wanting items that had none (queue).")
    changed: int
    skipped_in_flight: int
    not_found: list[int]


_REGISTRY_COLUMNS = (
    ("id", "registry_id"),
    ("state", "state"),
    ("search_type", "search_type"),
    ("priority", "priority"),
    ("user_priority", "user_priority"),
    ("attempts", "attempts"),
    ("next_eligible_at", "next_eligible_at"),
    ("last_searched_at", "last_searched_at"),
)


def _registry_data(row: Mapping[str, Any]) -> dict[str, Any] | None:
    if row["registry_id"] is None:
        return None
    data = {field: row[column] for field, column in _REGISTRY_COLUMNS}
    data["last_error"] = row.get("last_error")
    return data


def _registry(row: dict[str, Any]) -> RegistryInfo | None:
    data = _registry_data(row)
    return None if data is None else RegistryInfo.model_validate(data)


def _sort(kind: str, sort: str | None) -> str:
    if sort is None:
        return content_repo.DEFAULT_SORT[kind]
    if not _SORT.fullmatch(sort) or sort.lstrip("-") not in SORTS[kind]:
        choices = ", ".join(sorted(SORTS[kind]))
        raise invalid(("query", "sort"), f"sort for {kind} must be one of {choices} (- for desc)")
    return sort


def content_router() -> APIRouter:
    """Routes under /content."""
    router = APIRouter(prefix="/content", tags=["content"], route_class=ProtectedRoute)
    totals = TotalCache(ttl=TOTAL_TTL_SECONDS)

    @router.get("", response_model=ContentPageOut)
    @shares_auth_connection
    async def browse(
        request: Request,
        type: Annotated[ContentType, Query(description="What to list.")] = "series",
        connector_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
        status: Annotated[
            Status,
            Query(
                description="missing: monitored without a file (aired); upgrade: below cutoff; "
                "queued: waiting in the search queue (pending, queued or cooldown); "
                "searching: in flight; exhausted: gave up until reset. For series: any episode."
            ),
        ] = "all",
        q: Annotated[
            str | None,
            Query(
                max_length=100,
                description="Title search (episodes: their series' title, or their own with "
                "match=episode). Prefix match below "
                "three characters, contains match from three.",
            ),
        ] = None,
        match: Annotated[
            Literal["series", "episode"],
            Query(
                description="For type=episode: search the series' titles (fast, indexed) or "
                "the episodes' own titles (a scan of the connector's episodes)."
            ),
        ] = "series",
        sort: Annotated[
            str | None,
            Query(
                max_length=24,
                description="series/movie: title, added, year; episode: title, air_date. "
                "Prefix - for descending.",
            ),
        ] = None,
        page: Annotated[int, Query(ge=1, le=10_000)] = 1,
        page_size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 50,
        cursor: Annotated[
            str | None, Query(max_length=1000, description="next_cursor of the previous page.")
        ] = None,
        include_total: bool = True,
    ) -> Response:
        chosen = _sort(type, sort)
        text = q.strip() if q else None
        if text:
            try:
                _clean(text)
            except ValueError as exc:
                raise invalid(("query", "q"), str(exc)) from None
        after = None
        if cursor:
            if page != 1:
                raise invalid(("query", "page"), "use either page or cursor, not both")
            try:
                after = content_repo.decode_cursor(cursor, type, chosen)
            except CursorError as exc:
                raise invalid(("query", "cursor"), str(exc)) from None
        if match == "episode" and type != "episode":
            raise invalid(("query", "match"), "match=episode applies to type=episode only")
        total_key = (type, connector_id, status, (text or "").lower(), match)
        cached = totals.get(total_key) if include_total else None
        query = PageQuery(
            kind=type,
            sort=chosen,
            connector_id=connector_id,
            status=status,
            q=text or None,
            match=match,
            limit=page_size,
            offset=(page - 1) * page_size,
            after=after,
            with_total=include_total and cached is None,
        )
        async with request_connection(request) as conn:
            result = await content_repo.browse(conn, query)
        total = result.total if cached is None else cached
        if result.total is not None:
            totals.put(total_key, result.total)
        head = {
            "type": type,
            "sort": chosen,
            "page": None if cursor else page,
            "page_size": page_size,
            "total": None if total is None else min(total, content_repo.TOTAL_CAP),
            "total_capped": total is not None and total > content_repo.TOTAL_CAP,
            "next_cursor": result.next_cursor,
        }
        return page_response(head, "items", [r["item"] for r in result.rows])

    @router.get(
        "/series/{series_id}",
        response_model=SeriesDetail,
        responses={404: {"model": ErrorBody, "description": "No series has that id"}},
    )
    @shares_auth_connection
    async def series(series_id: IdPath, request: Request) -> SeriesDetail:
        async with request_connection(request) as conn:
            found = await content_repo.series_detail(conn, series_id=series_id)
            if found is None:
                raise HTTPException(404, "no series has that id")
            ids = [e["registry_id"] for e in found["episodes"] if e["registry_id"] is not None]
            history = await content_repo.history_for(
                conn, registry_ids=ids, per_entry=HISTORY_PER_EPISODE
            )
        return _series_out(found, history)

    @router.get(
        "/movies/{movie_id}",
        response_model=MovieDetail,
        responses={404: {"model": ErrorBody, "description": "No movie has that id"}},
    )
    @shares_auth_connection
    async def movie(movie_id: IdPath, request: Request) -> MovieDetail:
        async with request_connection(request) as conn:
            m = await content_repo.movie_detail(conn, movie_id=movie_id)
            if m is None:
                raise HTTPException(404, "no movie has that id")
            ids = [m["registry_id"]] if m["registry_id"] is not None else []
            history = await content_repo.history_for(
                conn, registry_ids=ids, per_entry=HISTORY_PER_MOVIE
            )
        return MovieDetail(
            id=m["id"],
            connector_id=m["connector_id"],
            arr_id=m["arr_id"],
            title=m["title"],
            year=m["year"],
            status=m["status"],
            monitored=m["monitored"],
            is_available=m["is_available"],
            has_file=m["has_file"],
            quality=m["quality_name"],
            cutoff_not_met=m["quality_cutoff_not_met"],
            file_size=m["file_size"],
            tmdb_id=m["tmdb_id"],
            imdb_id=m["imdb_id"],
            added=m["added"],
            synced_at=m["synced_at"],
            wanted=m["wanted"],
            registry=_registry(m),
            history=[SearchRecord.model_validate(h) for h in history.get(m["registry_id"], [])],
        )

    @router.post("/bulk", response_model=BulkResult)
    async def bulk(body: BulkAction, request: Request) -> BulkResult:
        """Queue (search now), set the user priority, mark exhausted or reset many items."""
        gw = gateway_of(request)
        ids = sorted(set(body.ids))
        async with gw.ctx.pool.acquire() as conn:
            outcome = await content_repo.bulk_apply(
                conn, action=body.action, target=body.target, ids=ids, priority=body.priority
            )
        totals.clear()
        await publish_queued(gw, outcome.queued_by_connector)
        log.info(
            "bulk content action",
            action=body.action,
            target=body.target,
            requested=len(ids),
            changed=outcome.changed,
        )
        return BulkResult(
            action=body.action,
            target=body.target,
            requested=len(ids),
            matched=outcome.matched,
            created=outcome.created,
            changed=outcome.changed,
            skipped_in_flight=outcome.in_flight,
            not_found=outcome.not_found,
        )

    return router


async def publish_queued(gw: Gateway, by_connector: dict[int, int]) -> None:
    """Wake the dispatcher for connectors that got pending entries (best effort: its own
    tick finds them anyway)."""
    for connector_id, count in sorted(by_connector.items()):
        try:
            await gw.ctx.bus.publish(ItemsQueued(connector_id=connector_id, count=count))
        except Exception:
            log.warning("could not publish ItemsQueued", connector_id=connector_id)


def _series_out(found: dict[str, Any], history: dict[int, list[dict[str, Any]]]) -> SeriesDetail:
    s = found["series"]
    seasons: dict[int, dict[str, Any]] = {
        row["season_number"]: {**row, "episodes": []} for row in found["seasons"]
    }
    for e in found["episodes"]:
        season = seasons.setdefault(
            e["season_number"],
            {
                "season_number": e["season_number"],
                "monitored": False,
                "episode_count": 0,
                "episode_file_count": 0,
                "total_episode_count": 0,
                "episodes": [],
            },
        )
        season["episodes"].append(
            EpisodeDetail(
                id=e["id"],
                arr_id=e["arr_id"],
                season_number=e["season_number"],
                episode_number=e["episode_number"],
                title=e["title"],
                air_date=e["air_date_utc"],
                monitored=e["monitored"],
                has_file=e["has_file"],
                quality=e["quality"],
                cutoff_not_met=e["quality_cutoff_not_met"],
                file_size=e["file_size"],
                wanted=e["wanted"],
                registry=_registry(e),
                history=[SearchRecord.model_validate(h) for h in history.get(e["registry_id"], [])],
            )
        )
    return SeriesDetail(
        id=s["id"],
        connector_id=s["connector_id"],
        arr_id=s["arr_id"],
        title=s["title"],
        year=s["year"],
        status=s["status"],
        monitored=s["monitored"],
        tvdb_id=s["tvdb_id"],
        imdb_id=s["imdb_id"],
        episode_count=s["episode_count"],
        episode_file_count=s["episode_file_count"],
        size_on_disk=s["size_on_disk"],
        synced_at=s["synced_at"],
        seasons=[SeasonDetail.model_validate(v) for _, v in sorted(seasons.items())],
    )
