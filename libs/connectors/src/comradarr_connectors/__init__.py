"""Connectors: the stored *arr applications, their encrypted keys and their health."""

from ._models import (
    BLOCKING_HEALTH,
    BLOCKING_HEALTH_SQL,
    Connector,
    ConnectorType,
    HealthStatus,
    mask,
)
from ._repository import (
    SECRET_COLUMN,
    ConnectorNotFoundError,
    create_connector,
    delete_connector,
    get_api_key,
    get_connector,
    list_connectors,
    record_detected_version,
    record_health,
    update_connector,
)
from ._sweeps import SWEEP_TIMEOUT, running_sweep, sweep_refusal

__all__ = [
    "BLOCKING_HEALTH",
    "BLOCKING_HEALTH_SQL",
    "SECRET_COLUMN",
    "SWEEP_TIMEOUT",
    "Connector",
    "ConnectorNotFoundError",
    "ConnectorType",
    "HealthStatus",
    "create_connector",
    "delete_connector",
    "get_api_key",
    "get_connector",
    "list_connectors",
    "mask",
    "record_detected_version",
    "record_health",
    "running_sweep",
    "sweep_refusal",
    "update_connector",
]
