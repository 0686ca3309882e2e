"""The simulated app types and how each one shapes its JSON."""

from __future__ import annotations

import dataclasses
import enum


class Flavor(enum.StrEnum):
    """One simulated app and API version."""

    SONARR_V3 = "sonarr-v3"
    SONARR_V5 = "sonarr-v5"
    RADARR_V3 = "radarr-v3"
    WHISPARR_V2 = "whisparr-v2"
    WHISPARR_V3 = "whisparr-v3"
    PROWLARR_V1 = "prowlarr-v1"


@dataclasses.dataclass(frozen=True, kw_only=True)
class FlavorInfo:
    """Static facts about a flavor."""

    app_name: str
    version: str
    api_base: str
    shape: str  # series | movie | indexer
    # Which OpenAPI document describes it (tests validate against it).
    openapi: str
    # Fields a flavor's schema does not have, or describes as .NET objects the real app
    # sends as strings: leaving them out keeps every answer valid against its document.
    sonarr_fields: bool = False
    eros: bool = False
    # Sonarr v4+ and Radarr serve minUpgradeFormatScore on quality profiles; Whisparr's
    # documents do not have it.
    min_upgrade_format_score: bool = False


FLAVORS: dict[Flavor, FlavorInfo] = {
    Flavor.SONARR_V3: FlavorInfo(
        app_name="Sonarr",
        version="4.0.14.2939",
        api_base="/api/v3",
        shape="series",
        openapi="sonarr-v3.openapi.json",
        sonarr_fields=True,
        min_upgrade_format_score=True,
    ),
    Flavor.SONARR_V5: FlavorInfo(
        app_name="Sonarr",
        version="5.0.0.3012",
        api_base="/api/v5",
        shape="series",
        openapi="sonarr-v5.openapi.json",
        sonarr_fields=True,
        min_upgrade_format_score=True,
    ),
    Flavor.RADARR_V3: FlavorInfo(
        app_name="Radarr",
        version="5.26.2.10099",
        api_base="/api/v3",
        shape="movie",
        openapi="radarr-v3.openapi.json",
        min_upgrade_format_score=True,
    ),
    Flavor.WHISPARR_V2: FlavorInfo(
        app_name="Whisparr",
        version="2.0.0.1000",
        api_base="/api/v3",
        shape="series",
        openapi="whisparr-v3.openapi.json",
    ),
    Flavor.WHISPARR_V3: FlavorInfo(
        app_name="Whisparr",
        version="3.2.0.45",
        api_base="/api/v3",
        shape="movie",
        openapi="whisparr-eros-v3.openapi.json",
        eros=True,
    ),
    Flavor.PROWLARR_V1: FlavorInfo(
        app_name="Prowlarr",
        version="1.37.0.5076",
        api_base="/api/v1",
        shape="indexer",
        openapi="prowlarr-v1.openapi.json",
    ),
}
