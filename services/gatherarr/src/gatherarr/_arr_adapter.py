"""TargetClient adapter over comradarr_arr's ArrClient, with per-request observation."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime

import httpx
from comradarr_arr import (
    AppKind,
    ArrAuthenticationError,
    ArrClient,
    ArrError,
    ArrNetworkError,
    ArrRateLimitedError,
    ArrServerError,
    ArrTLSError,
    ConnectorConfig,
    RetryPolicy,
)

from gatherarr._config import TargetType
from gatherarr._port import (
    AuthError,
    GrabEvent,
    PermanentError,
    TargetError,
    TransientError,
    WantedItem,
)

Observe = Callable[[float, bool], None]
_APP = {TargetType.RADARR: AppKind.RADARR, TargetType.SONARR: AppKind.SONARR}


def map_error(exc: ArrError) -> TargetError:
    """Translate comradarr_arr's error classes into gatherarr's retry vocabulary."""
    message = exc.message
    if isinstance(exc, ArrAuthenticationError):
        return AuthError(message)
    if isinstance(exc, ArrRateLimitedError):
        return TransientError(message, retry_after=exc.retry_after)
    if isinstance(exc, ArrServerError):
        return TransientError(message)
    if isinstance(exc, ArrNetworkError) and not isinstance(exc, ArrTLSError):
        return TransientError(message)
    return PermanentError(message)


class ObservedTransport(httpx.AsyncBaseTransport):
    """Wraps a transport to time every single HTTP request and report failures."""

    def __init__(self, *, inner: httpx.AsyncBaseTransport, observe: Observe) -> None:
        self._inner = inner
        self._observe = observe

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Forward one request, observing its duration up to the response head."""
        started = time.perf_counter()
        try:
            response = await self._inner.handle_async_request(request)
        except BaseException:
            self._observe(time.perf_counter() - started, False)
            raise
        self._observe(time.perf_counter() - started, response.status_code < 400)
        return response

    async def aclose(self) -> None:
        """Close the wrapped transport."""
        await self._inner.aclose()


class ArrTargetClient:
    """The TargetClient port implemented with comradarr_arr (retries left to gatherarr)."""

    def __init__(
        self,
        *,
        name: str,
        type_: TargetType,
        url: str,
        api_key: str,
        timeout_seconds: float,
        observe: Observe | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.type = type_
        inner = transport if transport is not None else httpx.AsyncHTTPTransport()
        if observe is not None:
            inner = ObservedTransport(inner=inner, observe=observe)
        self._client = ArrClient(
            ConnectorConfig(
                name=name,
                url=url,
                api_key=api_key,
                app=_APP[type_],
                timeout=timeout_seconds,
                max_concurrency=1,
                # gatherarr's own bounded backoff decides; two retry layers would multiply.
                retry=RetryPolicy(max_retries=0),
            ),
            transport=inner,
        )
        self._detected = False
        # Sonarr history names episodes, not seasons; wanted listings teach us the mapping.
        self._episode_season: dict[int, tuple[int, int]] = {}

    async def check_auth(self) -> None:
        """Read system/status with the API key (detection does it on first use)."""
        try:
            if not self._detected:
                await self._client.api_info()
                self._detected = True
                return
            info = await self._client.api_info()
            await self._client.system_status(api_base=info.api_base)
        except ArrError as exc:
            raise map_error(exc) from exc

    async def wanted(self) -> list[WantedItem]:
        """Monitored movies, or seasons with monitored episodes, missing or below cutoff."""
        try:
            if self.type is TargetType.RADARR:
                return await self._wanted_movies()
            return await self._wanted_seasons()
        except ArrError as exc:
            raise map_error(exc) from exc

    async def _wanted_movies(self) -> list[WantedItem]:
        items: list[WantedItem] = []
        async for movie in self._client.missing_movies(monitored=True):
            if movie.monitored:
                items.append(WantedItem.movie(movie.id, reason="missing"))
        async for movie in self._client.cutoff_unmet_movies(monitored=True):
            if movie.monitored:
                items.append(WantedItem.movie(movie.id, reason="cutoff"))
        return items

    async def _wanted_seasons(self) -> list[WantedItem]:
        items: list[WantedItem] = []
        seen: set[tuple[int, int, str]] = set()
        for reason, source in (
            ("missing", self._client.missing_episodes(monitored=True)),
            ("cutoff", self._client.cutoff_unmet_episodes(monitored=True)),
        ):
            async for episode in source:
                self._episode_season[episode.id] = (episode.series_id, episode.season_number)
                key = (episode.series_id, episode.season_number, reason)
                if episode.monitored and key not in seen:
                    seen.add(key)
                    items.append(
                        WantedItem.season(episode.series_id, episode.season_number, reason=reason)
                    )
        return items

    async def search(self, item: WantedItem) -> int | None:
        """One MoviesSearch for one movie, or one SeasonSearch for one season."""
        try:
            if item.movie_id is not None:
                command = await self._client.search_movies(movie_ids=[item.movie_id])
            else:
                assert item.series_id is not None and item.season_number is not None
                command = await self._client.search_season(
                    series_id=item.series_id, season_number=item.season_number
                )
        except ArrError as exc:
            raise map_error(exc) from exc
        return command.id

    async def grabbed_since(self, since: datetime) -> list[GrabEvent]:
        """Grabbed history events since ``since``, keyed like WantedItem.key."""
        try:
            records = [
                r async for r in self._client.history_since(since=since, event_type="grabbed")
            ]
            events: list[GrabEvent] = []
            for record in records:
                if record.event_type.lower() != "grabbed":
                    continue
                if record.movie_id is not None and self.type is TargetType.RADARR:
                    events.append(GrabEvent(item_key=f"movie:{record.movie_id}", date=record.date))
                elif record.episode_id is not None and self.type is TargetType.SONARR:
                    season = await self._season_of(record.episode_id, record.series_id)
                    if season is not None:
                        key = f"season:{season[0]}:{season[1]}"
                        events.append(GrabEvent(item_key=key, date=record.date))
            return events
        except ArrError as exc:
            raise map_error(exc) from exc

    async def _season_of(self, episode_id: int, series_id: int | None) -> tuple[int, int] | None:
        known = self._episode_season.get(episode_id)
        if known is not None or series_id is None:
            return known
        # Unknown after a restart: one episode listing of that series fills the map.
        async for episode in self._client.episodes(series_id=series_id):
            self._episode_season[episode.id] = (episode.series_id, episode.season_number)
        return self._episode_season.get(episode_id)

    async def aclose(self) -> None:
        """Close the HTTP connection pool."""
        await self._client.aclose()
