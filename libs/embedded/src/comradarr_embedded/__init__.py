"""Embedded PostgreSQL and nats-server for the all-in-one mode and for tests."""

from ._nats import EmbeddedNats, EmbeddedServerError, find_nats_server, free_port
from ._postgres import EmbeddedPostgres

__all__ = [
    "EmbeddedNats",
    "EmbeddedPostgres",
    "EmbeddedServerError",
    "find_nats_server",
    "free_port",
]
