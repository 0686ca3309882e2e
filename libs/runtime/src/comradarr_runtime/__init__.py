"""Service runtime: definitions, the runner (one service or all-in-one) and the CLI."""

from ._embedded import (
    DataDirInUseError,
    Servers,
    attach_to_running,
    has_embedded_database,
    hold_data_dir,
    start_database,
    start_missing,
)
from ._heap import freeze_heap, thaw_heap
from ._loop import run
from ._runner import Runner, run_until_signalled
from ._service import (
    ServiceContext,
    ServiceDefinition,
    UnknownServiceError,
    available_services,
    load_service,
)
from ._tooldb import tool_database

__all__ = [
    "DataDirInUseError",
    "Runner",
    "Servers",
    "ServiceContext",
    "ServiceDefinition",
    "UnknownServiceError",
    "attach_to_running",
    "available_services",
    "freeze_heap",
    "has_embedded_database",
    "hold_data_dir",
    "load_service",
    "run",
    "run_until_signalled",
    "start_database",
    "start_missing",
    "thaw_heap",
    "tool_database",
]
