"""The database a host-side tool (``comradarr admin``, ``comradarr backup``) works on."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from comradarr_settings import CoreSettings

from ._embedded import attach_to_running, has_embedded_database, start_database


@contextmanager
def tool_database(settings: CoreSettings, *, create: bool = False) -> Iterator[str]:
    """DATABASE_URL; else the embedded PostgreSQL of a running `comradarr up`; else that
    embedded server started for the moment. Without create, a data directory holding no
    database raises LookupError instead of getting an empty one."""
    if settings.database_url is not None:
        yield settings.database_url
        return
    running, _ = attach_to_running(settings.data_dir)
    if running is not None:
        yield running
        return
    if not create and not has_embedded_database(settings.data_dir):
        raise LookupError(f"no database under {settings.data_dir}")
    servers = start_database(data_dir=settings.data_dir, database_url=None)
    try:
        yield servers.database_url
    finally:
        servers.stop()
