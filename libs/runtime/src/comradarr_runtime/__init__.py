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
from ._keys import apply_handoffs, handoff_aad
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
from .maintenance import (
    Prune,
    cutoff,
    delete_in_batches,
    delete_orphans,
    maintenance_subscription,
    prune_history_table,
    read_maintenance_settings,
)

__all__ = [
    "DataDirInUseError",
    "Prune",
    "Runner",
    "Servers",
    "ServiceContext",
    "ServiceDefinition",
    "UnknownServiceError",
    "apply_handoffs",
    "attach_to_running",
    "available_services",
    "cutoff",
    "delete_in_batches",
    "delete_orphans",
    "freeze_heap",
    "handoff_aad",
    "has_embedded_database",
    "hold_data_dir",
    "load_service",
    "maintenance_subscription",
    "prune_history_table",
    "read_maintenance_settings",
    "run",
    "run_until_signalled",
    "start_database",
    "start_missing",
    "thaw_heap",
    "tool_database",
]
