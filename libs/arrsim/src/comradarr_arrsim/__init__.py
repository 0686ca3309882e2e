"""Faithful simulators of the *arr apps' HTTP APIs (Sonarr, Radarr, Whisparr, Prowlarr)."""

from comradarr_arrsim._faults import Fault, FaultSet
from comradarr_arrsim._flavors import FLAVORS, Flavor, FlavorInfo
from comradarr_arrsim._library import (
    DEFAULT_REFERENCE,
    Library,
    LibrarySpec,
    QualityDef,
    SimEpisode,
    SimFile,
    SimHistory,
    SimMovie,
    SimSeries,
)
from comradarr_arrsim._server import RunningServer, serve_in_thread
from comradarr_arrsim._sim import (
    Behaviour,
    Clock,
    ManualClock,
    RequestRecord,
    SimCommand,
    SimulatedDrop,
    Simulator,
    WallClock,
)

__all__ = [
    "DEFAULT_REFERENCE",
    "FLAVORS",
    "Behaviour",
    "Clock",
    "Fault",
    "FaultSet",
    "Flavor",
    "FlavorInfo",
    "Library",
    "LibrarySpec",
    "ManualClock",
    "QualityDef",
    "RequestRecord",
    "RunningServer",
    "SimCommand",
    "SimEpisode",
    "SimFile",
    "SimHistory",
    "SimMovie",
    "SimSeries",
    "SimulatedDrop",
    "Simulator",
    "WallClock",
    "serve_in_thread",
]
