"""The `comradarr` command: run everything, one service, migrations, or a tool."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
from importlib import metadata

import structlog
from comradarr_db import migrate
from comradarr_logging import configure_logging
from comradarr_settings import CoreSettings, SettingsError, load_settings

from ._embedded import (
    DataDirInUseError,
    Servers,
    attach_to_running,
    hold_data_dir,
    start_database,
    start_missing,
)
from ._loop import run
from ._runner import Runner, run_until_signalled
from ._service import UnknownServiceError, available_services, load_service
from ._ui import start_ui

TOOLS_GROUP = "comradarr.cli"
log = structlog.get_logger(__name__)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="comradarr", description="Comradarr library completion")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.add_parser("up", help="run every service in one process (embedded servers if unset)")
    one = sub.add_parser("service", help="run one service against the configured servers")
    one.add_argument("name", help="service name: " + ", ".join(sorted(available_services())))
    sub.add_parser("migrate", help="apply database migrations and exit")
    sub.add_parser("services", help="list installed services")
    for ep in sorted(metadata.entry_points(group=TOOLS_GROUP), key=lambda e: e.name):
        sub.add_parser(
            ep.name, help=f"{ep.name} tools (comradarr {ep.name} --help)", add_help=False
        )
    return parser


def _settings() -> CoreSettings:
    return load_settings(CoreSettings)


def _up(settings: CoreSettings) -> int:
    with hold_data_dir(settings.data_dir):
        return _up_holding(settings)


async def _supervised(runner: Runner, servers: Servers) -> None:
    # Embedded servers that die are restarted while the services run.
    watchdog = asyncio.create_task(servers.supervise(runner.stopping))
    try:
        await run_until_signalled(runner)
    finally:
        watchdog.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watchdog


def _up_holding(settings: CoreSettings) -> int:
    servers = start_missing(
        data_dir=settings.data_dir,
        database_url=settings.database_url,
        nats_url=settings.nats_url,
    )
    ui = None
    try:
        ui = start_ui(settings)
        definitions = [load_service(name) for name in sorted(available_services())]
        assert servers.nats_url is not None  # start_missing always provides one
        runner = Runner(
            definitions,
            settings=settings,
            database_url=servers.database_url,
            nats_url=servers.nats_url,
            http_port=settings.gateway_port,
            client_name="comradarr-all-in-one",
        )
        run(_supervised(runner, servers))
    finally:
        if ui is not None:
            ui.stop()
        servers.stop()
    return 0


def _service(settings: CoreSettings, name: str) -> int:
    database_url, nats_url = settings.database_url, settings.nats_url
    if database_url is None or nats_url is None:
        # Beside a running `comradarr up`, share its embedded servers.
        embedded_db, embedded_nats = attach_to_running(settings.data_dir)
        database_url = database_url or embedded_db
        nats_url = nats_url or embedded_nats
    missing = [n for n, v in (("DATABASE_URL", database_url), ("NATS_URL", nats_url)) if not v]
    if missing:
        why = "required by `comradarr service` (or run `comradarr up`)"
        raise SettingsError([(n, why) for n in missing])
    assert database_url is not None and nats_url is not None
    definition = load_service(name)
    port = settings.gateway_port if definition.http_app is not None else settings.service_port
    runner = Runner(
        [definition],
        settings=settings,
        database_url=database_url,
        nats_url=nats_url,
        http_port=port,
        client_name=f"comradarr-{name}-{os.getpid()}",
    )
    run(run_until_signalled(runner))
    return 0


def _migrate(settings: CoreSettings) -> int:
    servers = start_database(data_dir=settings.data_dir, database_url=settings.database_url)
    try:
        ran = run(migrate(servers.database_url))
    finally:
        servers.stop()
    print(f"{ran} migration(s) applied")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `comradarr` console script."""
    args_in = sys.argv[1:] if argv is None else argv
    tools = {ep.name: ep for ep in metadata.entry_points(group=TOOLS_GROUP)}
    if args_in and args_in[0] in tools:
        code: int = tools[args_in[0]].load()(args_in[1:])
        return code
    args = _parser().parse_args(args_in)
    if args.command is None:
        _parser().print_help()
        return 2
    if args.command == "services":
        for name, ep in sorted(available_services().items()):
            print(f"{name:12} {ep.load().description}")
        return 0
    try:
        settings = _settings()
        service_name = "all-in-one" if args.command == "up" else getattr(args, "name", args.command)
        configure_logging(service=service_name, level=settings.log_level)
        if args.command == "up":
            return _up(settings)
        if args.command == "service":
            return _service(settings, args.name)
        return _migrate(settings)
    except SettingsError as exc:
        print(f"comradarr: {exc}", file=sys.stderr)
        return 2
    except UnknownServiceError as exc:
        print(f"comradarr: {exc}", file=sys.stderr)
        return 2
    except DataDirInUseError as exc:
        print(f"comradarr: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
