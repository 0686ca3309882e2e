"""``comradarr maintenance``: see and start maintenance runs from the host.

comradarr maintenance status     the last runs, the next one, the largest tables
comradarr maintenance run [--wait]   start a run now (the services do the work)
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import asyncpg
from comradarr_bus import Bus
from comradarr_db import tool_pool
from comradarr_logging import configure_logging
from comradarr_proto import RequestMaintenance
from comradarr_runtime import attach_to_running, run
from comradarr_settings import CoreSettings, SettingsError, load_settings

WAIT_SECONDS = 30 * 60


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="comradarr maintenance", description="maintenance runs: retention and VACUUM"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("status", help="the last runs, the next one and the largest tables")
    start = sub.add_parser("run", help="start a maintenance run now")
    start.add_argument("--wait", action="store_true", help="wait for it and print what it did")
    return parser


@contextmanager
def _servers(settings: CoreSettings) -> Iterator[tuple[str, str | None]]:
    """DATABASE_URL/NATS_URL, else the embedded servers of a running `comradarr up`."""
    db, nats = attach_to_running(settings.data_dir)
    database = settings.database_url or db
    if database is None:
        raise LookupError("no database: set DATABASE_URL, or run this beside `comradarr up`")
    yield database, settings.nats_url or nats


def describe(run_row: Any) -> str:
    """One run as a line: when, how it went, how long, what it removed."""
    took = (
        f"{(run_row['finished_at'] - run_row['started_at']).total_seconds():.1f} s"
        if run_row["finished_at"]
        else "still running"
    )
    removed = [
        f"{table} {count}"
        for step in (run_row["steps"] or {}).values()
        for table, count in sorted((step.get("removed") or {}).items())
        if count
    ]
    line = (
        f"#{run_row['id']} {run_row['started_at']:%Y-%m-%d %H:%M} UTC {run_row['trigger']}"
        f" {run_row['status']}, {took}, removed {run_row['removed']} row(s)"
    )
    if removed:
        line += ": " + ", ".join(removed)
    if run_row["error"]:
        line += f" ({run_row['error']})"
    return line


async def _status(database: str) -> str:
    async with tool_pool(database) as pool:
        runs = await pool.fetch("SELECT * FROM maintenance_runs ORDER BY id DESC LIMIT 5")
        nxt = await pool.fetchrow("SELECT * FROM maintenance_schedule")
        size = await pool.fetchval("SELECT pg_database_size(current_database())")
        tables = await pool.fetch(
            "SELECT c.relname, pg_total_relation_size(c.oid) AS bytes FROM pg_class c"
            " JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE c.relkind IN ('r', 'p') AND n.nspname = current_schema()"
            " ORDER BY bytes DESC LIMIT 8"
        )
    lines = [f"database: {size / 1024 / 1024:.1f} MiB"]
    lines += [f"  {t['relname']}: {t['bytes'] / 1024 / 1024:.1f} MiB" for t in tables]
    if nxt is not None:
        lines.append(
            f"next run: {nxt['next_run_at']:%Y-%m-%d %H:%M} UTC"
            f" ({nxt['cron']} in {nxt['timezone']})"
        )
    else:
        lines.append("next run: none scheduled (maintenance.enabled is off, or no scheduler ran)")
    lines += ["last runs:"] + [f"  {describe(r)}" for r in runs] if runs else ["no run yet"]
    return "\n".join(lines)


async def _run(settings: CoreSettings, database: str, nats: str | None, wait: bool) -> str:
    if nats is None:
        raise LookupError("no message bus: set NATS_URL, or run this beside `comradarr up`")
    async with tool_pool(database) as pool:
        running = await pool.fetchval(
            "SELECT id FROM maintenance_runs WHERE status IN ('running', 'vacuuming')"
        )
        if running is not None:
            return f"maintenance run #{running} is still running"
        last = await pool.fetchval("SELECT coalesce(max(id), 0) FROM maintenance_runs")
        bus = Bus(
            url=nats, prefix=settings.bus_prefix, client_name=f"comradarr-maint-{os.getpid()}"
        )
        await bus.connect(retry_for=5.0)
        try:
            await bus.publish(RequestMaintenance(requested_by="cli"))
        finally:
            await bus.stop(timeout=2.0)
        if not wait:
            return "maintenance requested: the scheduler starts it (comradarr maintenance status)"
        deadline = time.monotonic() + WAIT_SECONDS
        while time.monotonic() < deadline:
            row = await pool.fetchrow(
                "SELECT * FROM maintenance_runs WHERE id > $1 ORDER BY id LIMIT 1", last
            )
            if row is not None and row["finished_at"] is not None:
                return describe(row)
            await asyncio.sleep(1.0)
    return "maintenance still running; see `comradarr maintenance status`"


def main(argv: list[str]) -> int:
    """Run ``comradarr maintenance`` with argv (without the program name); return the code."""
    args = _parser().parse_args(argv)
    configure_logging(service="comradarr-maintenance", level="warning", stream=sys.stderr)
    try:
        settings = load_settings(CoreSettings)
        with _servers(settings) as (database, nats):
            if args.command == "status":
                message = run(_status(database))
            else:
                message = run(_run(settings, database, nats, args.wait))
    except (SettingsError, LookupError, OSError) as exc:
        print(f"comradarr maintenance: {exc}", file=sys.stderr)
        return 1
    except asyncpg.UndefinedTableError:
        print("comradarr maintenance: no maintenance tables yet (run `comradarr migrate`)")
        return 1
    except asyncpg.PostgresError as exc:
        print(f"comradarr maintenance: the database refused ({exc})", file=sys.stderr)
        return 1
    print(message)
    return 0
