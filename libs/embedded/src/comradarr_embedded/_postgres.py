"""An embedded PostgreSQL (the pgserver wheel) under the data directory."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import Any


class EmbeddedPostgres:
    """A PostgreSQL server owned by this process, its data kept in pgdata across restarts."""

    def __init__(self, pgdata: Path) -> None:
        self.pgdata = pgdata
        self._server: Any = None

    def start(self) -> str:
        """Start (or attach to) the server and return an admin connection URL."""
        self.pgdata.mkdir(parents=True, exist_ok=True)
        logging.getLogger("pgserver").setLevel(logging.WARNING)
        with warnings.catch_warnings():
            # platformdirs warns that XDG_RUNTIME_DIR is unset on servers; harmless here.
            warnings.simplefilter("ignore")
            import pgserver

            get_server: Any = pgserver.get_server  # type: ignore[attr-defined]
            self._server = get_server(self.pgdata, cleanup_mode="stop")
        return self.url()

    @property
    def name(self) -> str:
        """What this server is, for log lines."""
        return "PostgreSQL"

    @property
    def running(self) -> bool:
        """True while the postmaster lives (False before start and after stop)."""
        if self._server is None:
            return False
        info = self._server._postmaster_info
        return info is not None and bool(info.process.is_running())

    def restart(self) -> None:
        """Start the postmaster again after it died (same data, same socket).

        pgserver starts it only when its postmaster.pid names no live process; the lock is
        the one pgserver holds around every start and stop of a server.
        """
        if self._server is None:
            raise RuntimeError("embedded PostgreSQL is not started")
        with type(self._server)._lock:
            self._server.ensure_postgres_running()

    def url(self, database: str = "postgres") -> str:
        """Connection URL (unix socket) of a database on this server."""
        if self._server is None:
            raise RuntimeError("embedded PostgreSQL is not started")
        return str(self._server.get_uri(database))

    def stop(self) -> None:
        """Stop the server cleanly (fast shutdown); the data stays."""
        if self._server is not None:
            self._server.cleanup()
            self._server = None
