"""The *arr client against the simulators (over ASGI) and scripted transports."""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import httpx
import pytest
import structlog
from comradarr_arr import (
    ArrApplicationError,
    ArrAuthenticationError,
    ArrClient,
    ArrConnectionRefusedError,
    ArrDNSError,
    ArrNetworkError,
    ArrNotFoundError,
    ArrProtocolError,
    ArrRateLimitedError,
    ArrServerError,
    ArrTimeoutError,
    ArrTLSError,
    Episode,
    HealthStatus,
    QualityModel,
    RetryPolicy,
    parse_retry_after,
)
from comradarr_arrsim import Behaviour, Fault, Flavor, Simulator
from prometheus_client import REGISTRY

pytestmark = pytest.mark.unit

SimFactory = Callable[..., Simulator]
ClientFactory = Callable[..., tuple[ArrClient, Any]]


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


# --- wire basics -------------------------------------------------------------------------


async def test_key_in_header_only_with_user_agent_and_url_base(
    make_sim: SimFactory, make_client: ClientFactory, api_key: str
) -> None:
    sim = make_sim(Flavor.SONARR_V3, url_base="/sonarr")
    client, _ = make_client(sim, url="http://sim/sonarr/")
    async with client:
        assert [s.id async for s in client.series()]
    assert sim.requests
    for record in sim.requests:
        assert record.api_key_header
        assert api_key not in record.query and "apikey" not in record.query.lower()
        assert record.user_agent is not None and record.user_agent.startswith("Comradarr/")
    assert {r.path for r in sim.requests} >= {"/api/v3/system/status", "/api/v3/series"}


# --- library reads -----------------------------------------------------------------------


@pytest.mark.parametrize("flavor", [Flavor.SONARR_V3, Flavor.SONARR_V5, Flavor.WHISPARR_V2])
async def test_series_episodes_and_wanted(
    make_sim: SimFactory, make_client: ClientFactory, flavor: Flavor
) -> None:
    sim = make_sim(flavor, series=6, seasons=2, episodes_per_season=5, specials=1)
    client, _ = make_client(sim, page_size=7)
    async with client:
        series = [s async for s in client.series()]
        assert len(series) == 6
        assert all(s.statistics is not None and s.seasons for s in series)
        episodes: list[Episode] = []
        for s in series:
            episodes += [e async for e in client.episodes(series_id=s.id)]
        assert len(episodes) == len(sim.library.episodes)
        with_file = [e for e in episodes if e.has_file]
        assert with_file and all(e.episode_file is not None for e in with_file)
        cutoff_flags = {e.id for e in episodes if e.quality_cutoff_not_met}
        missing = [e.id async for e in client.missing_episodes()]
        cutoff = [e.id async for e in client.cutoff_unmet_episodes()]
    assert sorted(missing) == sim.wanted_ids(kind="missing")
    assert sorted(cutoff) == sim.wanted_ids(kind="cutoff")
    assert set(cutoff) <= cutoff_flags
    episode_queries = [r.query for r in sim.requests if r.path.endswith("/episode")]
    if flavor is Flavor.SONARR_V5:
        assert all("includeSubresources=episodeFile" in q for q in episode_queries)
        assert all(r.path.startswith("/api/v5/") for r in sim.requests[1:])
    else:
        assert all("includeEpisodeFile=true" in q for q in episode_queries)


@pytest.mark.parametrize("flavor", [Flavor.RADARR_V3, Flavor.WHISPARR_V3])
async def test_movies_and_wanted(
    make_sim: SimFactory, make_client: ClientFactory, flavor: Flavor
) -> None:
    sim = make_sim(flavor, movies=40)
    client, _ = make_client(sim, page_size=6)
    async with client:
        movies = [m async for m in client.movies()]
        missing = [m.id async for m in client.missing_movies()]
        cutoff = [m async for m in client.cutoff_unmet_movies()]
        profiles = [p async for p in client.quality_profiles()]
    assert len(movies) == 40
    assert any(m.movie_file is not None for m in movies)
    assert sorted(missing) == sim.wanted_ids(kind="missing")
    assert sorted(m.id for m in cutoff) == sim.wanted_ids(kind="cutoff")
    assert all(m.quality_cutoff_not_met for m in cutoff)
    assert {p.name for p in profiles} == {"Any", "HD-1080p", "Ultra-HD"}
    if flavor is Flavor.WHISPARR_V3:
        assert all(m.foreign_id for m in movies)


async def test_prowlarr_indexers_and_status(
    make_sim: SimFactory, make_client: ClientFactory
) -> None:
    client, _ = make_client(make_sim(Flavor.PROWLARR_V1, indexers=6))
    async with client:
        indexers = [i async for i in client.indexers()]
        statuses = [s async for s in client.indexer_statuses()]
    assert len(indexers) == 6
    assert {s.indexer_id for s in statuses} == {3, 6}
    assert all(s.disabled_till is not None for s in statuses)
    assert indexers[2].status is not None and indexers[2].status.indexer_id == 3


async def test_prowlarr_statistics_and_messages(
    make_sim: SimFactory, make_client: ClientFactory
) -> None:
    sim = make_sim(Flavor.PROWLARR_V1, indexers=3)
    sim.set_indexer(2, disabled_for=600, message="Query limit reached")
    client, _ = make_client(sim)
    async with client:
        stats = await client.indexer_stats()
        indexers = [i async for i in client.indexers()]
    assert stats is not None and [s.indexer_id for s in stats] == [1, 2, 3]
    assert stats[0].number_of_queries > 0
    assert indexers[1].message is not None
    assert indexers[1].message.message == "Query limit reached"
    # An older Prowlarr without indexerstats: no statistics, no error.
    sim.add_fault(Fault(kind="status", status=404, path="/indexerstats"))
    client, _ = make_client(sim)
    async with client:
        assert await client.indexer_stats() is None


async def test_queue_status_and_format_scores(
    make_sim: SimFactory, make_client: ClientFactory
) -> None:
    sim = make_sim(Flavor.SONARR_V3, series=6, format_share=0.5)
    sim.queued_extra = 7
    client, _ = make_client(sim)
    async with client:
        queue = await client.queue_status()
        profiles = {p.id: p async for p in client.quality_profiles()}
        episodes = [e async for e in client.episodes(series_id=1)]
    assert queue.total_count == 7
    assert profiles[4].cutoff_format_score == 100
    assert profiles[4].min_upgrade_format_score == 10
    files = [e.episode_file for e in episodes if e.episode_file is not None]
    assert files and all(f.custom_format_score is not None for f in files)


# --- pagination ------------------------------------------------------------------------


async def test_empty_wanted_list_is_one_request(
    make_sim: SimFactory, make_client: ClientFactory
) -> None:
    sim = make_sim(missing_share=0.0, airing_seasons=0)
    client, _ = make_client(sim)
    async with client:
        assert [e async for e in client.missing_episodes()] == []
    assert sim.counters["GET /api/v3/wanted/missing"] == 1


async def test_exact_multiple_of_page_size_stops_without_an_extra_page(
    make_sim: SimFactory, make_client: ClientFactory
) -> None:
    # 3 series x 2 seasons x 5 episodes, all aired, all missing, all monitored: 30 records.
    sim = make_sim(
        series=3,
        seasons=2,
        episodes_per_season=5,
        missing_share=1.0,
        airing_seasons=0,
        unmonitored_share=0.0,
        specials=0,
    )
    assert len(sim.wanted_ids(kind="missing")) == 30
    client, _ = make_client(sim, page_size=10)
    async with client:
        ids = [e.id async for e in client.missing_episodes()]
    assert sorted(ids) == sim.wanted_ids(kind="missing")
    assert sim.counters["GET /api/v3/wanted/missing"] == 3


@pytest.mark.parametrize("change", [-4, 5])
async def test_total_changing_mid_walk_neither_skips_nor_repeats(
    make_sim: SimFactory, make_client: ClientFactory, change: int
) -> None:
    sim = make_sim(series=5, seasons=2, episodes_per_season=10, missing_share=0.5, airing_seasons=0)
    before = set(sim.wanted_ids(kind="missing"))
    sim.add_fault(Fault(kind="library_change", change=change, path="wanted/missing", times=1))
    client, _ = make_client(sim, page_size=5)
    async with client:
        ids = [e.id async for e in client.missing_episodes(sort_key="episodes.id")]
    after = set(sim.wanted_ids(kind="missing"))
    assert len(after) == len(before) + change
    assert len(ids) == len(set(ids)), "an item was yielded twice"
    assert after <= set(ids), "an item still wanted was skipped"
    assert set(ids) <= before | after


async def test_paging_parameters_are_sent(make_sim: SimFactory, make_client: ClientFactory) -> None:
    sim = make_sim()
    client, _ = make_client(sim, page_size=1000)
    async with client:
        [e async for e in client.missing_episodes(sort_direction="descending")]
    query = next(r.query for r in sim.requests if r.path.endswith("wanted/missing"))
    for part in (
        "page=1",
        "pageSize=1000",
        "sortKey=episodes.airDateUtc",
        "sortDirection=descending",
        "monitored=true",
    ):
        assert part in query


# --- malformed records -------------------------------------------------------------------


async def test_malformed_records_are_skipped_logged_and_counted(
    make_sim: SimFactory, make_client: ClientFactory, api_key: str
) -> None:
    sim = make_sim(series=2, seasons=2, episodes_per_season=10, specials=0)
    sim.add_fault(Fault(kind="malformed", share=0.25, path="/episode"))
    client, _ = make_client(sim)
    name = client.config.name
    with structlog.testing.capture_logs() as logs:
        async with client:
            episodes = [e async for e in client.episodes(series_id=1)]
    assert len(episodes) == 15  # 20 episodes, every 4th broken
    skipped = [entry for entry in logs if entry["event"] == "arr.record.malformed"]
    assert len(skipped) == 5
    assert all(
        entry["log_level"] == "warning" and str(entry["id"]).startswith("malformed-")
        for entry in skipped
    )
    assert sample("comradarr_arr_malformed_records_total", connector=name, endpoint="episode") == 5
    assert api_key not in repr(logs)


# --- errors and retries ------------------------------------------------------------------


async def test_401_is_authentication_and_not_retried(
    make_sim: SimFactory, make_client: ClientFactory
) -> None:
    sim = make_sim()
    client, fake = make_client(sim, api_key="wrong")
    async with client:
        with pytest.raises(ArrAuthenticationError, match="API key rejected") as info:
            await client.api_info()
    assert info.value.status_code == 401
    assert fake.sleeps == []


async def test_404_is_not_found(make_sim: SimFactory, make_client: ClientFactory) -> None:
    client, _ = make_client(make_sim())
    async with client:
        await client.api_info()
        with pytest.raises(ArrNotFoundError):
            await client.command(command_id=999)


async def test_503_starting_up_is_retried_with_backoff(
    make_sim: SimFactory, make_client: ClientFactory
) -> None:
    sim = make_sim()
    sim.add_fault(Fault(kind="status", status=503, times=2))
    client, fake = make_client(sim, retry=RetryPolicy(max_retries=3, base_delay=0.5, max_delay=8))
    async with client:
        info = await client.api_info()
    assert info.app_name == "Sonarr"
    assert len(fake.sleeps) == 2
    # Equal jitter: half the exponential step fixed, half random.
    assert 0.25 <= fake.sleeps[0] <= 0.5
    assert 0.5 <= fake.sleeps[1] <= 1.0
    assert (
        sample(
            "comradarr_arr_retries_total",
            connector=client.config.name,
            endpoint="system/status",
            reason="server",
        )
        == 2
    )


async def test_500_gives_up_after_max_retries(
    make_sim: SimFactory, make_client: ClientFactory
) -> None:
    sim = make_sim()
    sim.add_fault(Fault(kind="status", status=500, body='{"message": "database is locked"}'))
    client, fake = make_client(sim, retry=RetryPolicy(max_retries=2, base_delay=1, max_delay=1.5))
    async with client:
        with pytest.raises(ArrServerError, match="database is locked") as info:
            await client.api_info()
    assert info.value.status_code == 500
    assert len(fake.sleeps) == 2 and all(d <= 1.5 for d in fake.sleeps)


@pytest.mark.parametrize("header", ["seconds", "http-date"])
async def test_429_honours_retry_after(
    make_sim: SimFactory, make_client: ClientFactory, header: str
) -> None:
    sim = make_sim()
    now = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
    value = "7" if header == "seconds" else format_datetime(now + timedelta(seconds=7), usegmt=True)
    sim.add_fault(Fault(kind="status", status=429, retry_after=value, times=1))
    client, fake = make_client(sim)
    client._now = lambda: now
    async with client:
        await client.api_info()
    assert fake.sleeps == [7.0]


async def test_429_without_retries_surfaces_retry_after(
    make_sim: SimFactory, make_client: ClientFactory
) -> None:
    sim = make_sim()
    sim.add_fault(Fault(kind="status", status=429, retry_after="120"))
    client, _ = make_client(sim, retry=RetryPolicy(max_retries=0))
    async with client:
        with pytest.raises(ArrRateLimitedError) as info:
            await client.api_info()
    assert info.value.retry_after == 120.0


def test_parse_retry_after() -> None:
    now = datetime(2025, 6, 1, tzinfo=UTC)
    assert parse_retry_after("30", now=now) == 30.0
    assert parse_retry_after("Sun, 01 Jun 2025 00:01:00 GMT", now=now) == 60.0
    assert parse_retry_after("Sat, 31 May 2025 00:00:00 GMT", now=now) == 0.0
    assert parse_retry_after("soon", now=now) is None
    assert parse_retry_after(None, now=now) is None


async def test_commands_are_not_retried_on_500_but_are_on_503(
    make_sim: SimFactory, make_client: ClientFactory
) -> None:
    sim = make_sim()
    client, fake = make_client(sim)
    async with client:
        await client.api_info()
        sim.add_fault(Fault(kind="status", status=500, path="/command", times=1))
        with pytest.raises(ArrServerError):
            await client.search_episodes(episode_ids=[1])
        sim.add_fault(Fault(kind="status", status=503, path="/command", times=1))
        command = await client.search_episodes(episode_ids=[1])
    assert command.status == "queued"
    assert sim.counters["POST /api/v3/command"] == 3
    assert len(fake.sleeps) == 1


def _scripted(responses: list[httpx.Response | Exception]) -> httpx.MockTransport:
    queue = list(responses)

    def handler(request: httpx.Request) -> httpx.Response:
        item = queue.pop(0)
        if isinstance(item, Exception):
            raise item
        return item

    return httpx.MockTransport(handler)


async def test_cookies_a_response_sets_are_sent_back(make_client: ClientFactory) -> None:
    sent: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request.headers.get("Cookie"))
        headers = {"Set-Cookie": "affinity=a1; Path=/"} if len(sent) == 1 else {}
        return httpx.Response(200, json={"status": "OK"}, headers=headers)

    client, _ = make_client(httpx.MockTransport(handler), url="http://arr:8989")
    async with client:
        for _ in range(3):
            await client.ping()
    assert sent == [None, "affinity=a1", "affinity=a1"]


def _connect_error(cause: BaseException) -> httpx.ConnectError:
    error = httpx.ConnectError(str(cause))
    error.__cause__ = cause
    return error


@pytest.mark.parametrize(
    ("error", "expected", "message"),
    [
        (
            _connect_error(ConnectionRefusedError(111, "Connection refused")),
            ArrConnectionRefusedError,
            "connection refused at http://arr:8989",
        ),
        (
            _connect_error(socket.gaierror(-2, "Name or service not known")),
            ArrDNSError,
            "'arr' could not be resolved",
        ),
        (
            _connect_error(ssl.SSLCertVerificationError("certificate verify failed")),
            ArrTLSError,
            "TLS certificate not trusted",
        ),
        (httpx.RemoteProtocolError("peer closed connection"), ArrNetworkError, "dropped"),
    ],
)
async def test_network_failures_are_told_apart(
    make_client: ClientFactory, error: Exception, expected: type[Exception], message: str
) -> None:
    client, _ = make_client(
        _scripted([error]), url="http://arr:8989", retry=RetryPolicy(max_retries=0)
    )
    async with client:
        with pytest.raises(expected, match=message) as info:
            await client.ping()
    assert type(info.value) is expected


async def test_timeout_carries_the_elapsed_time(make_client: ClientFactory) -> None:
    client, fake = make_client(
        httpx.MockTransport(lambda r: httpx.Response(200)),
        retry=RetryPolicy(max_retries=0),
        timeout=2.0,
    )

    def slow(request: httpx.Request) -> httpx.Response:
        fake.now += 2.5
        raise httpx.ReadTimeout("timed out", request=request)

    client._transport = httpx.MockTransport(slow)
    async with client:
        with pytest.raises(ArrTimeoutError, match="within 2s") as info:
            await client.ping()
    assert info.value.elapsed == pytest.approx(2.5)


async def test_network_errors_are_retried_tls_is_not(make_client: ClientFactory) -> None:
    ok = httpx.Response(200, json={"status": "OK"})
    refused = _connect_error(ConnectionRefusedError(111, "Connection refused"))
    client, fake = make_client(_scripted([refused, refused, ok]))
    async with client:
        response, _ = await client._send("GET", "ping", endpoint="ping")
    assert response.status_code == 200 and len(fake.sleeps) == 2
    tls = _connect_error(ssl.SSLCertVerificationError("certificate verify failed"))
    client, fake = make_client(_scripted([tls]))
    async with client:
        with pytest.raises(ArrTLSError):
            await client._send("GET", "ping", endpoint="ping")
    assert fake.sleeps == []


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"message": "Series does not exist"}', "400: Series does not exist"),
        (
            b'[{"propertyName": "EpisodeIds", "errorMessage": "must not be empty"}]',
            "400: must not be empty",
        ),
        (b"plain text reason", "400: plain text reason"),
    ],
)
async def test_other_4xx_is_an_application_error_with_the_apps_message(
    make_client: ClientFactory, body: bytes, message: str
) -> None:
    client, fake = make_client(_scripted([httpx.Response(400, content=body)]))
    async with client:
        with pytest.raises(ArrApplicationError, match=message) as info:
            await client._send("GET", "api/v3/episode", endpoint="episode")
    assert info.value.status_code == 400 and fake.sleeps == []


async def test_non_json_answer_is_a_protocol_error(make_client: ClientFactory) -> None:
    client, _ = make_client(_scripted([httpx.Response(200, content=b"<html>login</html>")]))
    async with client:
        with pytest.raises(ArrProtocolError, match="not JSON"):
            await client.ping()


# --- health ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("checks", "status"),
    [
        ([], HealthStatus.HEALTHY),
        (
            [{"source": "UpdateCheck", "type": "notice", "message": "New update"}],
            HealthStatus.HEALTHY,
        ),
        (
            [{"source": "IndexerCheck", "type": "warning", "message": "Indexers unavailable"}],
            HealthStatus.DEGRADED,
        ),
        (
            [
                {"source": "IndexerCheck", "type": "warning", "message": "Indexers unavailable"},
                {"source": "RootFolderCheck", "type": "error", "message": "Missing root folder"},
            ],
            HealthStatus.UNHEALTHY,
        ),
    ],
)
async def test_health_mapping_keeps_messages(
    make_sim: SimFactory,
    make_client: ClientFactory,
    checks: list[dict[str, Any]],
    status: HealthStatus,
) -> None:
    sim = make_sim()
    sim.health_checks = checks
    client, _ = make_client(sim)
    async with client:
        report = await client.health()
    assert report.status is status
    assert [c.message for c in report.checks] == [c["message"] for c in checks]
    for check in checks:
        assert report.message is not None and check["message"] in report.message


async def test_health_offline_when_unreachable(make_client: ClientFactory) -> None:
    refused = _connect_error(ConnectionRefusedError(111, "Connection refused"))
    client, _ = make_client(_scripted([refused]), retry=RetryPolicy(max_retries=0))
    async with client:
        report = await client.health()
    assert report.status is HealthStatus.OFFLINE
    assert report.message is not None and "connection refused" in report.message


# --- commands ----------------------------------------------------------------------------


async def test_search_lifecycle_and_consequences(
    make_sim: SimFactory, make_client: ClientFactory
) -> None:
    behaviour = Behaviour(
        find_probability=1.0, command_queue_delay=1, command_duration=2, import_delay=5
    )
    sim = make_sim(
        series=3, seasons=2, episodes_per_season=6, missing_share=0.5, behaviour=behaviour
    )
    start = datetime.fromtimestamp(sim.clock.now(), UTC)
    client, fake = make_client(sim)
    async with client:
        missing = [e.id async for e in client.missing_episodes()]
        targets = missing[:3]
        command = await client.search_episodes(episode_ids=targets)
        assert command.status == "queued" and command.name == "EpisodeSearch"
        done = await client.wait_for_command(command_id=command.id, poll_interval=1)
        assert (
            done.status == "completed" and done.message == "Completed: 3 of 3 items found a release"
        )
        # Grabbed now, imported after the import delay: still missing until then.
        assert set(targets) <= {e.id async for e in client.missing_episodes()}
        await fake.sleep(6)
        still_missing = {e.id async for e in client.missing_episodes()}
        history = [h async for h in client.history_since(since=start)]
    assert not set(targets) & still_missing
    assert sorted((h.event_type, h.episode_id) for h in history) == sorted(
        [("grabbed", t) for t in targets] + [("downloadFolderImported", t) for t in targets]
    )
    imported = [h for h in history if h.event_type == "downloadFolderImported"]
    assert all(h.quality is not None and h.quality.quality.name for h in imported)
    body = next(r.body for r in sim.requests if r.method == "POST")
    assert body is not None and '"episodeIds"' in body


async def test_season_and_movie_search_bodies(
    make_sim: SimFactory, make_client: ClientFactory
) -> None:
    sim = make_sim()
    client, _ = make_client(sim)
    async with client:
        command = await client.search_season(series_id=2, season_number=1)
    assert command.body["seriesId"] == 2 and command.body["seasonNumber"] == 1
    movies = make_sim(Flavor.RADARR_V3)
    client, _ = make_client(movies)
    async with client:
        command = await client.search_movies(movie_ids=[3, 4])
    assert command.name == "MoviesSearch" and command.body["movieIds"] == [3, 4]


async def test_failed_command_keeps_its_message(
    make_sim: SimFactory, make_client: ClientFactory
) -> None:
    sim = make_sim(behaviour=Behaviour(command_failure_probability=1.0))
    client, _ = make_client(sim)
    async with client:
        command = await client.search_episodes(episode_ids=[1])
        done = await client.wait_for_command(command_id=command.id, poll_interval=0.1)
    assert done.status == "failed" and done.is_terminal
    assert done.message == "Failed: no indexers available (simulated)"


async def test_wait_for_command_gives_up_at_the_deadline(
    make_sim: SimFactory, make_client: ClientFactory
) -> None:
    sim = make_sim()
    client, fake = make_client(sim)
    fake._also = None  # the app's time stands still: the command never ends
    async with client:
        command = await client.search_episodes(episode_ids=[1])
        last = await client.wait_for_command(command_id=command.id, max_wait=10, poll_interval=3)
    assert last.status == "queued" and not last.is_terminal
    assert sum(fake.sleeps) == pytest.approx(10)


# --- concurrency, metrics, secrets -------------------------------------------------------


async def test_concurrency_is_limited_per_connector(
    make_sim: SimFactory, make_client: ClientFactory
) -> None:
    sim = make_sim(series=8)
    in_flight = 0
    peak = 0

    async def counting(scope: Any, receive: Any, send: Any) -> None:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        try:
            await asyncio.sleep(0.01)
            await sim.app(scope, receive, send)
        finally:
            in_flight -= 1

    client, _ = make_client(httpx.ASGITransport(app=counting), max_concurrency=2)
    async with client:
        await client.api_info()
        await asyncio.gather(*(client.system_status() for _ in range(8)))
    assert peak == 2


async def test_request_metrics_are_labelled(
    make_sim: SimFactory, make_client: ClientFactory
) -> None:
    client, _ = make_client(make_sim())
    name = client.config.name
    async with client:
        [s async for s in client.series()]
    assert (
        sample("comradarr_arr_requests_total", connector=name, endpoint="series", outcome="200")
        == 1
    )
    assert (
        sample("comradarr_arr_request_duration_seconds_count", connector=name, endpoint="series")
        == 1
    )


async def test_the_api_key_never_reaches_the_logs(
    make_sim: SimFactory, make_client: ClientFactory, caplog: pytest.LogCaptureFixture, api_key: str
) -> None:
    sim = make_sim()
    sim.add_fault(Fault(kind="status", status=503, times=1))
    sim.add_fault(Fault(kind="malformed", share=0.5, path="/series"))
    client, _ = make_client(sim)
    caplog.set_level(logging.DEBUG)
    with structlog.testing.capture_logs() as logs:
        async with client:
            await client.health()
            [s async for s in client.series()]
            client._http.headers["X-Api-Key"] = api_key + "-wrong"
            client._info = None
            with pytest.raises(ArrAuthenticationError):
                await client.api_info()
    assert logs, "expected retry, detection and malformed-record logs"
    text = repr(logs) + caplog.text
    assert api_key not in text
    assert repr(client.config).count(api_key) == 0


# --- models ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "wire",
    [
        {
            "quality": {"id": 3, "name": "WEBDL-1080p", "source": "web", "resolution": 1080},
            "revision": {"version": 2, "real": 0, "isRepack": True},
        },
        {
            "quality": {
                "id": 30,
                "name": "Remux-1080p",
                "source": "bluray",
                "resolution": 1080,
                "modifier": "remux",
            },
            "revision": {"version": 1, "real": 1, "isRepack": False},
        },
    ],
)
def test_quality_model_round_trips(wire: dict[str, Any]) -> None:
    model = QualityModel.model_validate(wire)
    assert model.to_wire() == wire
    assert model.revision.is_repack is wire["revision"]["isRepack"]


@pytest.mark.parametrize(
    ("env", "url", "expected"),
    [
        ({}, "http://sonarr:8989", None),
        ({"HTTP_PROXY": "http://proxy:3128"}, "http://sonarr:8989", "http://proxy:3128"),
        ({"HTTP_PROXY": "http://proxy:3128"}, "https://sonarr:8989", None),
        ({"https_proxy": "http://proxy:3128"}, "https://sonarr", "http://proxy:3128"),
        ({"ALL_PROXY": "http://proxy:3128"}, "http://sonarr:8989", "http://proxy:3128"),
        (
            {"HTTP_PROXY": "http://proxy:3128", "NO_PROXY": "sonarr,.lan"},
            "http://sonarr:8989",
            None,
        ),
        (
            {"HTTP_PROXY": "http://proxy:3128", "NO_PROXY": ".lan"},
            "http://radarr.lan:7878",
            None,
        ),
    ],
)
def test_the_proxy_is_the_environment_s_unless_no_proxy_exempts_the_host(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], url: str, expected: str | None
) -> None:
    from comradarr_arr._client import proxy_for

    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert proxy_for(url) == expected


async def test_each_request_is_one_debug_line_and_none_above_debug(
    make_sim: SimFactory, make_client: ClientFactory, caplog: pytest.LogCaptureFixture
) -> None:
    client, _ = make_client(make_sim())
    async with client:
        caplog.set_level(logging.INFO)
        with structlog.testing.capture_logs() as quiet:
            await client.ping()
        caplog.set_level(logging.DEBUG)
        with structlog.testing.capture_logs() as shown:
            await client.ping()
    assert not [e for e in quiet if e["event"] == "arr.request"]
    lines = [e for e in shown if e["event"] == "arr.request"]
    assert len(lines) == 1
    assert lines[0]["method"] == "GET" and lines[0]["status"] == 200
    assert lines[0]["target"].endswith("/ping")
