"""PostgreSQL access: the pool, versioned migrations, exactly-once message work."""

from ._idempotency import AlreadyProcessed, once
from ._migrations import (
    ENTRY_POINT_GROUP,
    Migration,
    MigrationError,
    apply_migrations,
    discover,
    load_from_directory,
    migrate,
)
from ._pool import PoolConfig, create_pool, ping, skip_next_reset, tool_pool
from ._types import Connection

__all__ = [
    "ENTRY_POINT_GROUP",
    "AlreadyProcessed",
    "Connection",
    "Migration",
    "MigrationError",
    "PoolConfig",
    "apply_migrations",
    "create_pool",
    "discover",
    "load_from_directory",
    "migrate",
    "once",
    "ping",
    "skip_next_reset",
    "tool_pool",
]
