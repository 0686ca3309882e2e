"""Version detection: app name and version → API base and resource shape."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from comradarr_arr import AppKind, ArrClient, ArrUnsupportedError, Shape, resolve_api
from comradarr_arrsim import Flavor, Simulator

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("app", "version", "base", "shape"),
    [
        ("Sonarr", "3.0.10.1567", "/api/v3", Shape.SERIES),
        ("Sonarr", "4.0.14.2939", "/api/v3", Shape.SERIES),
        ("Sonarr", "5.0.0.3012", "/api/v5", Shape.SERIES),
        ("Radarr", "3.2.2.5080", "/api/v3", Shape.MOVIE),
        ("Radarr", "4.7.5.7809", "/api/v3", Shape.MOVIE),
        ("Radarr", "5.26.2.10099", "/api/v3", Shape.MOVIE),
        ("Whisparr", "2.0.0.1000", "/api/v3", Shape.SERIES),
        ("Whisparr", "3.2.0.45", "/api/v3", Shape.MOVIE),
        ("Prowlarr", "1.37.0.5076", "/api/v1", Shape.INDEXER),
    ],
)
def test_supported_versions(app: str, version: str, base: str, shape: Shape) -> None:
    info = resolve_api(app_name=app, version=version)
    assert (info.api_base, info.shape, info.version) == (base, shape, version)
    assert info.api_version == base.rsplit("/", 1)[1]


@pytest.mark.parametrize(
    ("app", "version", "needle"),
    [
        ("Lidarr", "2.0.0", "found Lidarr 2.0.0"),
        (None, "4.0", "found <no appName> 4.0"),
        ("Sonarr", "6.1.0.1", "found Sonarr 6.1.0.1"),
        ("Radarr", "2.0.0.1", "found Radarr 2.0.0.1"),
        ("Whisparr", "", "unreadable version"),
    ],
)
def test_unknown_app_or_version_names_what_was_found(
    app: str | None, version: str, needle: str
) -> None:
    with pytest.raises(ArrUnsupportedError, match=needle):
        resolve_api(app_name=app, version=version)


@pytest.mark.parametrize(
    ("flavor", "app", "base", "shape"),
    [
        (Flavor.SONARR_V3, AppKind.SONARR, "/api/v3", Shape.SERIES),
        (Flavor.SONARR_V5, AppKind.SONARR, "/api/v5", Shape.SERIES),
        (Flavor.RADARR_V3, AppKind.RADARR, "/api/v3", Shape.MOVIE),
        (Flavor.WHISPARR_V2, AppKind.WHISPARR, "/api/v3", Shape.SERIES),
        (Flavor.WHISPARR_V3, AppKind.WHISPARR, "/api/v3", Shape.MOVIE),
        (Flavor.PROWLARR_V1, AppKind.PROWLARR, "/api/v1", Shape.INDEXER),
    ],
)
async def test_detection_against_each_simulator(
    make_sim: Callable[..., Simulator],
    make_client: Callable[..., tuple[ArrClient, Any]],
    flavor: Flavor,
    app: AppKind,
    base: str,
    shape: Shape,
) -> None:
    sim = make_sim(flavor)
    client, _ = make_client(sim)
    async with client:
        info = await client.api_info()
        assert (info.app, info.api_base, info.shape) == (app, base, shape)
        await client.api_info()
    # Detected once, then cached.
    assert sum(1 for r in sim.requests if r.path.endswith("system/status")) <= 2


async def test_sonarr_v3_app_version_is_served_on_api_v3(
    make_sim: Callable[..., Simulator], make_client: Callable[..., tuple[ArrClient, Any]]
) -> None:
    sim = make_sim(Flavor.SONARR_V3, version="3.0.10.1567")
    client, _ = make_client(sim)
    async with client:
        assert (await client.api_info()).major == 3


async def test_wrong_app_type_is_a_clear_error(
    make_sim: Callable[..., Simulator], make_client: Callable[..., tuple[ArrClient, Any]]
) -> None:
    client, _ = make_client(make_sim(Flavor.RADARR_V3), app=AppKind.SONARR)
    async with client:
        with pytest.raises(ArrUnsupportedError, match="expected sonarr but found Radarr 5"):
            await client.api_info()


async def test_unsupported_version_from_a_simulator(
    make_sim: Callable[..., Simulator], make_client: Callable[..., tuple[ArrClient, Any]]
) -> None:
    client, _ = make_client(make_sim(Flavor.SONARR_V5, version="6.0.0.1"))
    async with client:
        with pytest.raises(ArrUnsupportedError, match=r"found Sonarr 6\.0\.0\.1"):
            await client.api_info()


async def test_shape_mismatch_is_refused(
    make_sim: Callable[..., Simulator], make_client: Callable[..., tuple[ArrClient, Any]]
) -> None:
    client, _ = make_client(make_sim(Flavor.RADARR_V3))
    async with client:
        with pytest.raises(ArrUnsupportedError, match="series endpoints"):
            [s async for s in client.series()]
        with pytest.raises(ArrUnsupportedError, match="series endpoints"):
            await client.search_episodes(episode_ids=[1])


@pytest.mark.parametrize("url", ["sonarr:8989", "ftp://host", "http://", "not a url"])
async def test_connection_test_rejects_urls_it_cannot_use(url: str) -> None:
    from comradarr_arr import ConnectorConfig, test_connection

    result = await test_connection(config=ConnectorConfig(name="u", url=url, api_key="k"))
    assert not result.ok and result.error == "invalid_url"
