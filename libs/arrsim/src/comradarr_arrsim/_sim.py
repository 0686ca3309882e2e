"""The simulator: an ASGI app per flavor, with state, commands, faults and a request log."""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import functools
import heapq
import itertools
import random
import re
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, Protocol
from urllib.parse import parse_qs

import orjson
import structlog
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from comradarr_arrsim import _render as render
from comradarr_arrsim._faults import Fault, FaultSet
from comradarr_arrsim._flavors import FLAVORS, Flavor, FlavorInfo
from comradarr_arrsim._library import Library, LibrarySpec, SimEpisode, SimMovie

log = structlog.get_logger(__name__)

JSON = "application/json; charset=utf-8"
TERMINAL = frozenset({"completed", "failed", "aborted", "cancelled", "orphaned"})


class Clock(Protocol):
    """Simulated time in epoch seconds."""

    def now(self) -> float:
        """The current simulated time."""
        ...


class WallClock:
    """Simulated time that starts at the library's reference time and runs in real time."""

    def __init__(self, *, start: float) -> None:
        self._offset = start - time.monotonic()

    def now(self) -> float:
        """The current simulated time."""
        return time.monotonic() + self._offset


class ManualClock:
    """Simulated time that moves only when told to (for tests)."""

    def __init__(self, *, start: float) -> None:
        self._now = start

    def now(self) -> float:
        """The current simulated time."""
        return self._now

    def advance(self, seconds: float) -> None:
        """Move time forward."""
        self._now += seconds


@dataclasses.dataclass(kw_only=True)
class Behaviour:
    """How the simulated app reacts to commands."""

    command_queue_delay: float = 0.1
    command_duration: float = 0.5
    # Chance that a searched item finds a release.
    find_probability: float = 0.5
    # From "grabbed" to "imported" (the file appears).
    import_delay: float = 1.0
    command_failure_probability: float = 0.0


@dataclasses.dataclass(frozen=True, kw_only=True)
class RequestRecord:
    """One request the simulator received."""

    method: str
    path: str
    query: str
    body: str | None
    time: float  # when it arrived (simulated clock)
    status: int
    user_agent: str | None
    api_key_header: bool


@dataclasses.dataclass(kw_only=True)
class SimCommand:
    """A command and its lifecycle."""

    id: int
    name: str
    body: dict[str, Any]
    queued: float
    status: str = "queued"
    result: str = "unknown"
    message: str | None = None
    started: float | None = None
    ended: float | None = None


class SimulatedDrop(ConnectionResetError):
    """Raised mid-response so the server closes the connection (a dropped connection)."""


class _DropResponse(Response):
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", JSON.encode()), (b"content-length", b"4096")],
            }
        )
        await send({"type": "http.response.body", "body": b'[{"id":1,', "more_body": True})
        raise SimulatedDrop("simulated dropped connection")


_COMMAND_NAMES = {
    "EpisodeSearch": "Episode Search",
    "SeasonSearch": "Season Search",
    "SeriesSearch": "Series Search",
    "MoviesSearch": "Movies Search",
    "MissingEpisodeSearch": "Missing Episode Search",
    "CutoffUnmetEpisodeSearch": "Cutoff Unmet Episode Search",
    "MissingMoviesSearch": "Missing Movies Search",
    "CutoffUnmetMoviesSearch": "Cutoff Unmet Movies Search",
}
_ID_PATH = re.compile(r"^(.*)/(\d+)$")


class Simulator:
    """A simulated *arr app: ``.app`` is the ASGI app; the rest is for tests and demos."""

    def __init__(
        self,
        *,
        flavor: Flavor,
        api_key: str,
        spec: LibrarySpec | None = None,
        behaviour: Behaviour | None = None,
        clock: Clock | None = None,
        instance_name: str | None = None,
        version: str | None = None,
        url_base: str = "",
        max_log: int = 100_000,
    ) -> None:
        base = FLAVORS[flavor]
        self.flavor = flavor
        self.info: FlavorInfo = dataclasses.replace(base, version=version) if version else base
        self.api_key = api_key
        self.spec = spec or LibrarySpec()
        self.behaviour = behaviour or Behaviour()
        self.clock: Clock = clock or WallClock(start=self.spec.reference_time)
        self.instance_name = instance_name or self.info.app_name
        self.url_base = url_base.rstrip("/")
        self.faults = FaultSet()
        # None: Prowlarr derives its checks from its indexers; the other apps have none.
        self.health_checks: list[dict[str, Any]] | None = None
        # The download queue (queue/status totalCount): releases grabbed and not yet
        # imported, plus queued_extra (set by tests: downloads the simulation does not make).
        self.downloading = 0
        self.queued_extra = 0
        self.library = Library(
            spec=self.spec,
            movie_shape=self.info.shape == "movie",
            radarr_qualities=self.info.app_name == "Radarr",
        )
        self.started_at = self.clock.now()
        self._log: collections.deque[RequestRecord] = collections.deque(maxlen=max_log)
        self.counters: collections.Counter[str] = collections.Counter()
        self.commands: dict[int, SimCommand] = {}
        self._command_ids = itertools.count(1)
        self._events: list[tuple[float, int, Callable[[], None]]] = []
        self._event_seq = itertools.count()
        self._item_cache: dict[tuple[int, bool], bytes] = {}
        self._parent_cache: dict[int, bytes] = {}
        # Whole /episode answers per (series, with files): the hot path of a full sync.
        self._episode_list_cache: dict[tuple[int, bool], bytes] = {}
        self._wanted_cache: dict[tuple[Any, ...], list[int]] = {}
        self._indexer_stats: dict[int, dict[str, Any]] = {}
        self.indexers = self._make_indexers() if self.info.shape == "indexer" else []
        self._route_table = self._routes()
        self.app = Starlette(
            routes=[
                Route(
                    "/{path:path}",
                    self._handle,
                    methods=["GET", "HEAD", "POST", "PUT", "DELETE"],
                )
            ]
        )

    # --- public helpers for tests ----------------------------------------------------

    @property
    def requests(self) -> list[RequestRecord]:
        """The request log (oldest first)."""
        return list(self._log)

    def clear_requests(self) -> None:
        """Forget the request log and counters."""
        self._log.clear()
        self.counters.clear()

    def add_fault(self, fault: Fault) -> Fault:
        """Activate a fault (same as ``faults.add``)."""
        return self.faults.add(fault)

    def tick(self) -> None:
        """Run every scheduled event that is due (commands starting, ending, imports)."""
        now = self.clock.now()
        while self._events and self._events[0][0] <= now:
            _, _, action = heapq.heappop(self._events)
            action()

    def prewarm(self) -> None:
        """Serialize every record now, so the first full read is as fast as the next ones."""
        lib = self.library
        if lib.movie_shape:
            for movie_id in lib.movies:
                self._movie_bytes(movie_id)
            return
        for series_id in lib.series:
            self._series_bytes(series_id)
        for series in lib.series.values():
            for include_file in (True, False):
                ids = series.episode_ids
                body = self._join(
                    "episode",
                    ids,
                    functools.partial(self._episode_bytes, include_file=include_file),
                )
                self._episode_list_cache[(series.id, include_file)] = body

    def wanted_ids(self, *, kind: str, monitored: bool = True) -> list[int]:
        """Ids currently in wanted/missing (``kind="missing"``) or wanted/cutoff."""
        return list(self._wanted(kind=kind, sort_key="id", descending=False, monitored=monitored))

    def changed(self, *, episode_ids: Iterable[int] = (), movie_ids: Iterable[int] = ()) -> None:
        """Invalidate caches after the library was edited directly."""
        lib = self.library
        lib.version += 1
        for eid in episode_ids:
            self._item_cache.pop((eid, True), None)
            self._item_cache.pop((eid, False), None)
            ep = lib.episodes.get(eid)
            if ep is not None:
                self._parent_cache.pop(ep.series_id, None)
                self._episode_list_cache.pop((ep.series_id, True), None)
                self._episode_list_cache.pop((ep.series_id, False), None)
        for mid in movie_ids:
            self._item_cache.pop((mid, True), None)
            self._item_cache.pop((mid, False), None)

    # --- dispatch --------------------------------------------------------------------

    async def _handle(self, request: Request) -> Response:
        # A request is recorded at its arrival: serving it (and the simulation's catching
        # up before that) must not move it closer to the next one.
        arrived = self.clock.now()
        path = request.url.path
        if self.url_base and path.startswith(self.url_base):
            path = path[len(self.url_base) :] or "/"
        body_bytes = await request.body()
        if path.startswith("/__sim/"):
            return await self._control(request, path, body_bytes)
        self.tick()
        response = await self._serve(request, path, body_bytes)
        self._record(request, path, body_bytes, response.status_code, arrived)
        return response

    def _record(
        self, request: Request, path: str, body: bytes, status: int, arrived: float
    ) -> None:
        template = _ID_PATH.sub(r"\1/{id}", path)
        self.counters[f"{request.method} {template}"] += 1
        self._log.append(
            RequestRecord(
                method=request.method,
                path=path,
                query=request.url.query,
                body=body.decode("utf-8", "replace") if body else None,
                time=arrived,
                status=status,
                user_agent=request.headers.get("user-agent"),
                api_key_header="x-api-key" in request.headers,
            )
        )

    async def _serve(self, request: Request, path: str, body: bytes) -> Response:
        fault = self.faults.take(path, ("status", "slow", "drop"))
        if fault is not None:
            if fault.kind == "slow":
                await asyncio.sleep(fault.delay)
            elif fault.kind == "drop":
                return _DropResponse()
            else:
                headers = {"Retry-After": fault.retry_after} if fault.retry_after else None
                content = fault.body.encode() if fault.body else b""
                return Response(content, status_code=fault.status, headers=headers)
        method = request.method
        if path == "/ping" and method in ("GET", "HEAD"):
            return _json(b'{"status":"OK"}')
        if not self._authorized(request):
            # The real apps answer 401 with an empty body.
            return Response(b"", status_code=401)
        query = parse_qs(request.url.query, keep_blank_values=True)
        api = self.info.api_base
        # Sonarr v5 still answers status under /api/v3, which is how clients find v5.
        if path in (f"{api}/system/status", "/api/v3/system/status") and (
            path.startswith(api) or self.flavor is Flavor.SONARR_V5
        ):
            return self._dump(
                render.system_status(
                    self.info,
                    start=self.started_at,
                    instance_name=self.instance_name,
                    url_base=self.url_base,
                )
            )
        if not path.startswith(api + "/"):
            return _not_found()
        route = path[len(api) + 1 :]
        handler = self._route_table.get((method, _ID_PATH.sub(r"\1/{id}", route)))
        if handler is None:
            return _not_found()
        return handler(route, query, body)

    def _authorized(self, request: Request) -> bool:
        key = request.headers.get("x-api-key")
        if key is None:
            key = request.query_params.get("apikey")
        return key == self.api_key

    def _routes(
        self,
    ) -> dict[tuple[str, str], Callable[[str, dict[str, list[str]], bytes], Response]]:
        routes: dict[tuple[str, str], Callable[[str, dict[str, list[str]], bytes], Response]] = {
            ("GET", "health"): self._get_health,
        }
        shape = self.info.shape
        if shape == "series":
            routes.update(
                {
                    ("GET", "series"): self._get_series,
                    ("GET", "series/{id}"): self._get_one_series,
                    ("GET", "episode"): self._get_episodes,
                    ("GET", "wanted/missing"): self._get_wanted,
                    ("GET", "wanted/cutoff"): self._get_wanted,
                }
            )
        elif shape == "movie":
            routes.update(
                {
                    ("GET", "movie"): self._get_movies,
                    ("GET", "movie/{id}"): self._get_one_movie,
                    ("GET", "wanted/missing"): self._get_wanted,
                    ("GET", "wanted/cutoff"): self._get_wanted,
                }
            )
        else:
            routes.update(
                {
                    ("GET", "indexer"): self._get_indexers,
                    ("GET", "indexerstatus"): self._get_indexer_status,
                    ("GET", "indexerstats"): self._get_indexer_stats,
                }
            )
        if shape != "indexer":
            routes.update(
                {
                    ("GET", "qualityprofile"): self._get_profiles,
                    ("GET", "history/since"): self._get_history_since,
                    ("GET", "queue/status"): self._get_queue_status,
                    ("POST", "command"): self._post_command,
                    ("GET", "command"): self._get_commands,
                    ("GET", "command/{id}"): self._get_command,
                }
            )
        return routes

    # --- serialization helpers -------------------------------------------------------

    def _dump(self, data: Any, status: int = 200) -> Response:
        return _json(orjson.dumps(data), status)

    def _malformed_every(self, path: str) -> int:
        fault = self.faults.peek(path, "malformed")
        if fault is None or fault.share <= 0:
            return 0
        return max(1, round(1 / fault.share))

    def _join(self, route: str, ids: list[int], render_one: Callable[[int], bytes]) -> bytes:
        every = self._malformed_every(f"{self.info.api_base}/{route}")
        parts: list[bytes] = []
        for index, item_id in enumerate(ids):
            if every and (index + 1) % every == 0:
                # Wrong types where the client needs integers: a realistic corrupt record.
                parts.append(b'{"id":"malformed-%d","seriesId":"x","movieId":"x"}' % item_id)
            else:
                parts.append(render_one(item_id))
        return b"[" + b",".join(parts) + b"]"

    def _episode_bytes(self, episode_id: int, include_file: bool) -> bytes:
        key = (episode_id, include_file)
        cached = self._item_cache.get(key)
        if cached is None:
            ep = self.library.episodes[episode_id]
            cached = orjson.dumps(
                render.episode(self.info, self.library, ep, include_file=include_file)
            )
            self._item_cache[key] = cached
        return cached

    def _movie_bytes(self, movie_id: int) -> bytes:
        key = (movie_id, True)
        cached = self._item_cache.get(key)
        if cached is None:
            movie = self.library.movies[movie_id]
            cached = orjson.dumps(
                render.movie(self.info, self.library, movie, now=self.clock.now())
            )
            self._item_cache[key] = cached
        return cached

    def _series_bytes(self, series_id: int) -> bytes:
        cached = self._parent_cache.get(series_id)
        if cached is None:
            s = self.library.series[series_id]
            cached = orjson.dumps(render.series(self.info, self.library, s, now=self.clock.now()))
            self._parent_cache[series_id] = cached
        return cached

    def _wants_file(self, query: dict[str, list[str]]) -> bool:
        if self.info.api_base == "/api/v5":
            return "episodeFile" in query.get("includeSubresources", [])
        return _flag(query, "includeEpisodeFile", default=False)

    # --- handlers --------------------------------------------------------------------

    def _get_health(self, route: str, query: dict[str, list[str]], body: bytes) -> Response:
        checks = self.health_checks
        if checks is None:
            checks = self._indexer_health() if self.info.shape == "indexer" else []
        return self._dump([{k: v for k, v in c.items() if v is not None} for c in checks])

    def _get_queue_status(self, route: str, query: dict[str, list[str]], body: bytes) -> Response:
        self.tick()
        total = self.downloading + self.queued_extra
        return self._dump(
            {
                "id": 0,
                "totalCount": total,
                "count": total,
                "unknownCount": 0,
                "errors": False,
                "warnings": False,
                "unknownErrors": False,
                "unknownWarnings": False,
            }
        )

    def _get_series(self, route: str, query: dict[str, list[str]], body: bytes) -> Response:
        ids = sorted(self.library.series)
        return _json(self._join(route, ids, self._series_bytes))

    def _get_one_series(self, route: str, query: dict[str, list[str]], body: bytes) -> Response:
        series_id = int(route.rsplit("/", 1)[1])
        if series_id not in self.library.series:
            return _not_found()
        return _json(self._series_bytes(series_id))

    def _get_episodes(self, route: str, query: dict[str, list[str]], body: bytes) -> Response:
        raw = query.get("seriesId", [""])[0]
        if not raw.isdigit():
            # Sonarr needs seriesId (or episodeIds) and says so with a 400.
            return self._dump({"message": "seriesId or episodeIds must be provided"}, 400)
        series = self.library.series.get(int(raw))
        if series is None:
            return self._dump([])
        ids = series.episode_ids
        include_file = self._wants_file(query)
        season = query.get("seasonNumber", [""])[0]
        whole = not season.lstrip("-").isdigit()
        if not whole:
            eps = self.library.episodes
            ids = [i for i in ids if eps[i].season_number == int(season)]
        elif self._malformed_every(f"{self.info.api_base}/{route}") == 0:
            key = (series.id, include_file)
            cached = self._episode_list_cache.get(key)
            if cached is None:
                cached = self._join(
                    route, ids, functools.partial(self._episode_bytes, include_file=include_file)
                )
                self._episode_list_cache[key] = cached
            return _json(cached)
        return _json(
            self._join(
                route, ids, functools.partial(self._episode_bytes, include_file=include_file)
            )
        )

    def _get_movies(self, route: str, query: dict[str, list[str]], body: bytes) -> Response:
        return _json(self._join(route, sorted(self.library.movies), self._movie_bytes))

    def _get_one_movie(self, route: str, query: dict[str, list[str]], body: bytes) -> Response:
        movie_id = int(route.rsplit("/", 1)[1])
        if movie_id not in self.library.movies:
            return _not_found()
        return _json(self._movie_bytes(movie_id))

    def _wanted(self, *, kind: str, sort_key: str, descending: bool, monitored: bool) -> list[int]:
        lib = self.library
        now = self.clock.now()
        key = (kind, sort_key, descending, monitored, lib.version, int(now // 60))
        cached = self._wanted_cache.get(key)
        if cached is not None:
            return cached
        if len(self._wanted_cache) > 64:
            self._wanted_cache.clear()
        field = sort_key.rsplit(".", 1)[-1].lower()
        ids: list[int]
        if lib.movie_shape:
            movies = [m for m in lib.movies.values() if self._movie_wanted(m, kind, monitored, now)]
            if field in ("sorttitle", "title"):
                movies.sort(key=lambda m: (m.sort_title, m.id), reverse=descending)
            elif field == "lastsearchtime":
                movies.sort(key=lambda m: (m.last_search_time or 0.0, m.id), reverse=descending)
            elif field == "id":
                movies.sort(key=lambda m: m.id, reverse=descending)
            else:
                movies.sort(key=lambda m: (m.release_date, m.id), reverse=descending)
            ids = [m.id for m in movies]
        else:
            eps = [
                e for e in lib.episodes.values() if self._episode_wanted(e, kind, monitored, now)
            ]
            if field in ("sorttitle", "title"):
                series = lib.series
                eps.sort(
                    key=lambda e: (
                        series[e.series_id].sort_title,
                        e.season_number,
                        e.episode_number,
                        e.id,
                    ),
                    reverse=descending,
                )
            elif field == "lastsearchtime":
                eps.sort(key=lambda e: (e.last_search_time or 0.0, e.id), reverse=descending)
            elif field == "id":
                eps.sort(key=lambda e: e.id, reverse=descending)
            else:
                eps.sort(key=lambda e: (e.air_date or 0.0, e.id), reverse=descending)
            ids = [e.id for e in eps]
        self._wanted_cache[key] = ids
        return ids

    def _episode_wanted(self, e: SimEpisode, kind: str, monitored: bool, now: float) -> bool:
        if kind == "missing":
            if e.file_id is not None or e.air_date is None or e.air_date > now:
                return False
        else:
            if e.file_id is None or not self.library.files[e.file_id].cutoff_not_met:
                return False
        is_monitored = e.monitored and self.library.series[e.series_id].monitored
        return is_monitored == monitored

    def _movie_wanted(self, m: SimMovie, kind: str, monitored: bool, now: float) -> bool:
        if kind == "missing":
            if m.file_id is not None or m.release_date > now:
                return False
        else:
            if m.file_id is None or not self.library.files[m.file_id].cutoff_not_met:
                return False
        return m.monitored == monitored

    def _get_wanted(self, route: str, query: dict[str, list[str]], body: bytes) -> Response:
        kind = "missing" if route.endswith("missing") else "cutoff"
        page = max(1, _int(query, "page", 1))
        size = max(1, _int(query, "pageSize", 10))
        default_key = (
            "movieMetadata.sortTitle" if self.library.movie_shape else "episodes.airDateUtc"
        )
        sort_key = query.get("sortKey", [default_key])[0] or default_key
        direction = query.get("sortDirection", ["default"])[0] or "default"
        descending = direction == "descending"
        monitored = _flag(query, "monitored", default=True)
        ids = self._wanted(kind=kind, sort_key=sort_key, descending=descending, monitored=monitored)
        v5 = not self.library.movie_shape and self.info.api_base == "/api/v5"
        if v5 and not _flag(query, "includeSpecials", default=True):
            eps = self.library.episodes
            ids = [i for i in ids if eps[i].season_number != 0]
        chunk = ids[(page - 1) * size : page * size]
        if self.library.movie_shape:
            records = self._join(route, chunk, self._movie_bytes)
        else:
            include_file = kind == "cutoff" or self._wants_file(query)
            records = self._join(
                route, chunk, functools.partial(self._episode_bytes, include_file=include_file)
            )
        head = orjson.dumps(
            {
                "page": page,
                "pageSize": size,
                "sortKey": sort_key,
                "sortDirection": direction,
                "totalRecords": len(ids),
            }
        )
        change = self.faults.take(f"{self.info.api_base}/{route}", ("library_change",))
        if change is not None:
            self._change_wanted(kind=kind, delta=change.change)
        return _json(head[:-1] + b',"records":' + records + b"}")

    def _change_wanted(self, *, kind: str, delta: int) -> None:
        """Move ``abs(delta)`` items into (positive) or out of (negative) a wanted list."""
        lib = self.library
        rng = random.Random(lib.version)
        now = self.clock.now()
        touched: list[int] = []
        if delta < 0:
            wanted = self._wanted(kind=kind, sort_key="id", descending=False, monitored=True)
            for item_id in wanted[:-delta]:
                lib.replace_file(item_id, below_cutoff=False, rng=rng, when=now, format_below=False)
                touched.append(item_id)
        else:
            if lib.movie_shape:
                owned = [m.id for m in lib.movies.values() if m.file_id is not None and m.monitored]
            else:
                owned = [
                    e.id
                    for e in lib.episodes.values()
                    if e.file_id is not None and e.monitored and lib.series[e.series_id].monitored
                ]
            # Into missing: the file goes; into cutoff: a worse file replaces it.
            below = True if kind == "cutoff" else None
            for item_id in owned[:delta]:
                lib.replace_file(item_id, below_cutoff=below, rng=rng, when=now)
                touched.append(item_id)
        self._touched(touched)

    def _touched(self, ids: list[int]) -> None:
        if self.library.movie_shape:
            self.changed(movie_ids=ids)
        else:
            self.changed(episode_ids=ids)

    def _get_profiles(self, route: str, query: dict[str, list[str]], body: bytes) -> Response:
        lib = self.library
        return self._dump(
            [render.quality_profile(self.info, lib, p) for p in lib.profiles.values()]
        )

    def _get_history_since(self, route: str, query: dict[str, list[str]], body: bytes) -> Response:
        raw = query.get("date", [""])[0]
        try:
            since = datetime.fromisoformat(raw.replace("Z", "+00:00")).timestamp()
        except ValueError:
            return self._dump({"message": "date is required and must be a date"}, 400)
        event = query.get("eventType", [None])[0]
        records = [
            render.history(self.info, h)
            for h in self.library.history
            if h.date > since and (event is None or h.event_type == event)
        ]
        return self._dump(records)

    # --- commands --------------------------------------------------------------------

    def _command_json(self, c: SimCommand) -> dict[str, Any]:
        body = {
            **c.body,
            "sendUpdatesToClient": True,
            "updateScheduledTask": True,
            "requiresDiskAccess": False,
            "isExclusive": False,
            "isLongRunning": False,
            "name": c.name,
            "trigger": "manual",
            "suppressMessages": False,
        }
        data: dict[str, Any] = {
            "id": c.id,
            "name": c.name,
            "commandName": _COMMAND_NAMES.get(c.name, c.name),
            "body": body,
            "priority": "normal",
            "status": c.status,
            "result": c.result,
            "queued": render.iso(c.queued),
            "trigger": "manual",
            "stateChangeTime": render.iso(c.ended or c.started or c.queued),
            "sendUpdatesToClient": True,
            "updateScheduledTask": True,
        }
        if c.message:
            data["message"] = c.message
        if c.started is not None:
            data["started"] = render.iso(c.started)
        if c.ended is not None:
            data["ended"] = render.iso(c.ended)
            # Whisparr's documents describe duration as a .NET TimeSpan object: left out there.
            if self.info.app_name != "Whisparr" and c.started is not None:
                seconds = c.ended - c.started
                data["duration"] = f"00:{int(seconds // 60):02d}:{seconds % 60:010.7f}"
        return data

    def _post_command(self, route: str, query: dict[str, list[str]], body: bytes) -> Response:
        try:
            payload = orjson.loads(body or b"{}")
        except orjson.JSONDecodeError:
            return self._dump({"message": "Invalid JSON"}, 400)
        if not isinstance(payload, dict) or not isinstance(payload.get("name"), str):
            return self._dump({"message": "Command name is required"}, 400)
        name = payload["name"]
        if name not in _COMMAND_NAMES:
            return self._dump({"message": f"Unknown command: {name}"}, 400)
        now = self.clock.now()
        fields = {k: v for k, v in payload.items() if k != "name"}
        command = SimCommand(id=next(self._command_ids), name=name, body=fields, queued=now)
        self.commands[command.id] = command
        b = self.behaviour
        start = now + b.command_queue_delay
        self._schedule(start, lambda: self._start_command(command))
        self._schedule(start + b.command_duration, lambda: self._end_command(command))
        # The real apps answer 201 Created (the documents say 200).
        return self._dump(self._command_json(command), 201)

    def _get_commands(self, route: str, query: dict[str, list[str]], body: bytes) -> Response:
        return self._dump([self._command_json(c) for c in self.commands.values()])

    def _get_command(self, route: str, query: dict[str, list[str]], body: bytes) -> Response:
        command = self.commands.get(int(route.rsplit("/", 1)[1]))
        if command is None:
            return _not_found()
        return self._dump(self._command_json(command))

    def _schedule(self, when: float, action: Callable[[], None]) -> None:
        heapq.heappush(self._events, (when, next(self._event_seq), action))

    def _command_items(self, command: SimCommand) -> list[int]:
        lib = self.library
        body = command.body
        if command.name == "EpisodeSearch":
            return [i for i in _ints(body.get("episodeIds")) if i in lib.episodes]
        if command.name == "MoviesSearch":
            return [i for i in _ints(body.get("movieIds")) if i in lib.movies]
        if command.name in ("SeasonSearch", "SeriesSearch"):
            series = lib.series.get(body.get("seriesId") or 0)
            if series is None:
                return []
            season = body.get("seasonNumber")
            return [
                i
                for i in series.episode_ids
                if (command.name == "SeriesSearch" or lib.episodes[i].season_number == season)
                and lib.episodes[i].monitored
            ]
        if command.name in ("MissingEpisodeSearch", "MissingMoviesSearch"):
            return self.wanted_ids(kind="missing")
        return self.wanted_ids(kind="cutoff")

    def _start_command(self, command: SimCommand) -> None:
        if command.status != "queued":
            return
        command.status = "started"
        command.started = command.queued + self.behaviour.command_queue_delay
        items = self._command_items(command)
        for item_id in items:
            if self.library.movie_shape:
                self.library.movies[item_id].last_search_time = command.started
            else:
                self.library.episodes[item_id].last_search_time = command.started
        self._touched(items)

    def _end_command(self, command: SimCommand) -> None:
        if command.status in TERMINAL:
            return
        b = self.behaviour
        assert command.started is not None
        command.ended = command.started + b.command_duration
        rng = random.Random(f"{self.spec.seed}:{command.id}")
        if rng.random() < b.command_failure_probability:
            command.status, command.result = "failed", "unsuccessful"
            command.message = "Failed: no indexers available (simulated)"
            return
        items = self._command_items(command)
        lib = self.library
        found = [i for i in items if self._wants_release(i) and rng.random() < b.find_probability]
        for item_id in found:
            download_id = f"SIM{command.id:04d}{item_id:08d}"
            quality = lib.quality_by_id[3]
            title = self._release_title(item_id, quality.name)
            ids = self._history_ids(item_id)
            lib.add_history(
                event_type="grabbed",
                when=command.ended,
                quality=quality,
                source_title=title,
                download_id=download_id,
                **ids,
            )
            self.downloading += 1
            self._schedule(
                command.ended + b.import_delay,
                functools.partial(
                    self._finish_import, item_id, title=title, download_id=download_id
                ),
            )
        command.status, command.result = "completed", "successful"
        command.message = f"Completed: {len(found)} of {len(items)} items found a release"

    def _wants_release(self, item_id: int) -> bool:
        lib = self.library
        file = lib.file_of(item_id)
        return file is None or file.cutoff_not_met or lib.format_upgradable(file)

    def _history_ids(self, item_id: int) -> dict[str, int]:
        if self.library.movie_shape:
            return {"movie_id": item_id}
        return {"episode_id": item_id, "series_id": self.library.episodes[item_id].series_id}

    def _release_title(self, item_id: int, quality: str) -> str:
        lib = self.library
        if lib.movie_shape:
            m = lib.movies[item_id]
            return f"{m.title}.{m.year}.{quality}-SIM".replace(" ", ".")
        e = lib.episodes[item_id]
        title = lib.series[e.series_id].title
        return f"{title}.S{e.season_number:02d}E{e.episode_number:02d}.{quality}-SIM".replace(
            " ", "."
        )

    def _finish_import(self, item_id: int, *, title: str, download_id: str) -> None:
        lib = self.library
        when = self.clock.now()
        rng = random.Random(f"{self.spec.seed}:import:{download_id}")
        file = lib.replace_file(item_id, below_cutoff=False, rng=rng, when=when, format_below=False)
        assert file is not None
        self.downloading = max(0, self.downloading - 1)
        lib.add_history(
            event_type="downloadFolderImported",
            when=when,
            quality=file.quality,
            source_title=title,
            download_id=download_id,
            **self._history_ids(item_id),
        )
        self._touched([item_id])

    # --- prowlarr --------------------------------------------------------------------

    def _make_indexers(self) -> list[dict[str, Any]]:
        rng = random.Random(self.spec.seed)
        now = self.clock.now()
        names = ("NZBgeek", "DrunkenSlug", "1337x", "TorrentLeech", "NZBFinder", "IPTorrents")
        out: list[dict[str, Any]] = []
        for index in range(self.spec.indexers):
            name = f"{names[index % len(names)]}{'' if index < len(names) else f' {index}'}"
            torrent = index % 2 == 1
            indexer: dict[str, Any] = {
                "id": index + 1,
                "name": name,
                "fields": [],
                "implementationName": "Cardigann" if torrent else "Newznab",
                "implementation": "Cardigann" if torrent else "Newznab",
                "configContract": "CardigannSettings" if torrent else "NewznabSettings",
                "tags": [],
                "indexerUrls": [f"https://{name.lower().replace(' ', '')}.example/"],
                "legacyUrls": [],
                "definitionName": name.lower().replace(" ", ""),
                "enable": True,
                "redirect": False,
                "supportsRss": True,
                "supportsSearch": True,
                "supportsRedirect": False,
                "supportsPagination": False,
                "appProfileId": 1,
                "protocol": "torrent" if torrent else "usenet",
                "privacy": rng.choice(("public", "semiPrivate", "private")),
                "priority": 25,
                "downloadClientId": 0,
                "added": render.iso(now - rng.randint(10, 900) * 86400),
                "sortName": name.lower(),
            }
            # Every third indexer is disabled after failures: it shows in indexerstatus.
            if index % 3 == 2:
                indexer["status"] = {
                    "id": index + 1,
                    "indexerId": index + 1,
                    "disabledTill": render.iso(now + 3600),
                    "mostRecentFailure": render.iso(now - 600),
                    "initialFailure": render.iso(now - 7200),
                }
            queries = rng.randint(200, 5000)
            grabs = rng.randint(0, queries // 10)
            self._indexer_stats[index + 1] = {
                "indexerId": index + 1,
                "indexerName": name,
                "averageResponseTime": rng.randint(150, 2500),
                "averageGrabResponseTime": rng.randint(100, 900),
                "numberOfQueries": queries,
                "numberOfGrabs": grabs,
                "numberOfRssQueries": rng.randint(100, 3000),
                "numberOfAuthQueries": rng.randint(0, 20),
                "numberOfFailedQueries": rng.randint(0, queries // 20),
                "numberOfFailedGrabs": rng.randint(0, max(1, grabs // 20)),
                "numberOfFailedRssQueries": rng.randint(0, 50),
                "numberOfFailedAuthQueries": rng.randint(0, 3),
            }
            out.append(indexer)
        return out

    def set_indexer(
        self,
        indexer_id: int,
        *,
        enable: bool | None = None,
        disabled_for: float | None = None,
        healthy: bool = False,
        failed_ago: float = 600.0,
        message: str | None = None,
    ) -> dict[str, Any]:
        """Change a Prowlarr indexer: enable it or not; ``disabled_for`` seconds from now
        (negative: a disable that ran out, leaving a recent failure) gives it a failure
        status; ``healthy`` clears that status; ``message`` sets (or "" clears) the
        indexer's own message (a ProviderMessage, type error)."""
        indexer = next((i for i in self.indexers if i["id"] == indexer_id), None)
        if indexer is None:
            raise KeyError(f"no indexer {indexer_id}")
        now = self.clock.now()
        if enable is not None:
            indexer["enable"] = enable
        if healthy:
            indexer.pop("status", None)
        elif disabled_for is not None:
            started = indexer.get("status", {}).get("initialFailure")
            indexer["status"] = {
                "id": indexer_id,
                "indexerId": indexer_id,
                "disabledTill": render.iso(now + disabled_for),
                "mostRecentFailure": render.iso(now - failed_ago),
                "initialFailure": started or render.iso(now - failed_ago),
            }
        if message is not None:
            if message:
                indexer["message"] = {"message": message, "type": "error"}
            else:
                indexer.pop("message", None)
        return indexer

    def _blocked(self) -> list[dict[str, Any]]:
        """The indexers Prowlarr lists in indexerstatus: disabled until a future time."""
        now = self.clock.now()
        out = []
        for indexer in self.indexers:
            till = indexer.get("status", {}).get("disabledTill")
            if till and datetime.fromisoformat(till.replace("Z", "+00:00")).timestamp() > now:
                out.append(indexer)
        return out

    def _indexer_health(self) -> list[dict[str, Any]]:
        # Prowlarr's IndexerStatusCheck: a warning naming the indexers disabled for failures,
        # an error when that is every enabled one.
        blocked = [i for i in self._blocked() if i["enable"]]
        if not blocked:
            return []
        enabled = [i for i in self.indexers if i["enable"]]
        every = len(blocked) == len(enabled)
        text = (
            "All indexers are unavailable due to failures"
            if every
            else "Indexers unavailable due to failures: " + ", ".join(i["name"] for i in blocked)
        )
        return [
            {
                "source": "IndexerStatusCheck",
                "type": "error" if every else "warning",
                "message": text,
                "wikiUrl": "https://wiki.servarr.com/prowlarr/system#indexers-are-unavailable-due-to-failures",
            }
        ]

    def _get_indexers(self, route: str, query: dict[str, list[str]], body: bytes) -> Response:
        return self._dump(self.indexers)

    def _get_indexer_status(self, route: str, query: dict[str, list[str]], body: bytes) -> Response:
        return self._dump([i["status"] for i in self._blocked()])

    def _get_indexer_stats(self, route: str, query: dict[str, list[str]], body: bytes) -> Response:
        known = {i["id"] for i in self.indexers}
        stats = [s for key, s in self._indexer_stats.items() if key in known]
        return self._dump({"id": 0, "indexers": stats, "userAgents": [], "hosts": []})

    # --- control API -----------------------------------------------------------------

    def _control_indexer(self, indexer_id: int, body: bytes) -> Response:
        """``POST /__sim/indexers/{id}`` with set_indexer's arguments in camelCase."""
        try:
            data = orjson.loads(body or b"{}")
            if not isinstance(data, dict):
                raise ValueError("the body must be an object")
            enable = data.get("enable")
            message = data.get("message")
            if enable is not None and not isinstance(enable, bool):
                raise ValueError("enable must be a boolean")
            if message is not None and not isinstance(message, str):
                raise ValueError("message must be a string")
            failed_ago = _optional_number(data, "failedAgo")
            indexer = self.set_indexer(
                indexer_id,
                enable=enable,
                disabled_for=_optional_number(data, "disabledFor"),
                healthy=data.get("healthy") is True,
                failed_ago=600.0 if failed_ago is None else failed_ago,
                message=message,
            )
        except KeyError:
            return _not_found()
        except (orjson.JSONDecodeError, ValueError) as exc:
            return self._dump({"message": str(exc)}, 400)
        return self._dump(indexer)

    async def _control(self, request: Request, path: str, body: bytes) -> Response:
        method = request.method
        if path == "/__sim/faults":
            if method == "GET":
                return self._dump([f.to_dict() for f in self.faults.list()])
            if method == "DELETE":
                self.faults.clear()
                return Response(status_code=204)
            if method == "POST":
                try:
                    data = orjson.loads(body or b"{}")
                    items = data if isinstance(data, list) else [data]
                    faults = [Fault.from_dict(item) for item in items]
                except (orjson.JSONDecodeError, ValueError, TypeError) as exc:
                    return self._dump({"message": str(exc)}, 400)
                for fault in faults:
                    self.faults.add(fault)
                return self._dump([f.to_dict() for f in faults], 201)
        if path == "/__sim/requests":
            if method == "DELETE":
                self.clear_requests()
                return Response(status_code=204)
            return self._dump(
                {
                    "counters": dict(self.counters),
                    "requests": [dataclasses.asdict(r) for r in self._log],
                }
            )
        if path == "/__sim/health" and method == "POST":
            data = orjson.loads(body or b"[]")
            self.health_checks = list(data) if isinstance(data, list) else None
            return Response(status_code=204)
        if path == "/__sim/queue" and method == "POST":
            data = orjson.loads(body or b"{}")
            extra = data.get("totalCount") if isinstance(data, dict) else None
            if not isinstance(extra, int) or isinstance(extra, bool) or extra < 0:
                return self._dump({"message": "totalCount must be an integer >= 0"}, 400)
            self.queued_extra = extra
            return self._dump({"totalCount": self.downloading + self.queued_extra})
        match = re.fullmatch(r"/__sim/indexers/(\d+)", path)
        if match and method == "POST" and self.info.shape == "indexer":
            return self._control_indexer(int(match[1]), body)
        if path == "/__sim/state" and method == "GET":
            self.tick()
            return self._dump(
                {
                    "flavor": self.flavor.value,
                    "missing": len(self.wanted_ids(kind="missing")),
                    "cutoff": len(self.wanted_ids(kind="cutoff")),
                    "series": len(self.library.series),
                    "episodes": len(self.library.episodes),
                    "movies": len(self.library.movies),
                    "commands": {str(c.id): c.status for c in self.commands.values()},
                    "history": len(self.library.history),
                }
            )
        if path == "/__sim/clock" and method == "POST" and isinstance(self.clock, ManualClock):
            data = orjson.loads(body or b"{}")
            self.clock.advance(float(data.get("advance", 0)))
            self.tick()
            return self._dump({"now": render.iso(self.clock.now())})
        return _not_found()


def _optional_number(data: dict[str, Any], key: str) -> float | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{key} must be a number of seconds")
    return float(value)


def _json(content: bytes, status: int = 200) -> Response:
    return Response(content, status_code=status, media_type=JSON)


def _not_found() -> Response:
    return Response(b"", status_code=404)


def _flag(query: dict[str, list[str]], name: str, *, default: bool) -> bool:
    values = query.get(name)
    if not values:
        return default
    return values[0].lower() in ("true", "1", "yes")


def _int(query: dict[str, list[str]], name: str, default: int) -> int:
    values = query.get(name)
    if not values or not values[0].lstrip("-").isdigit():
        return default
    return int(values[0])


def _ints(value: Any) -> list[int]:
    if not isinstance(value, list):
        return []
    return [v for v in value if isinstance(v, int) and not isinstance(v, bool)]
