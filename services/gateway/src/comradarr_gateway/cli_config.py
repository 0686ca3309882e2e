"""``comradarr config``: export the configuration (no secret) and import it into an install,
from the host, with the services up or down (the same checks and code as the API).

    comradarr config export [--output FILE]
    comradarr config import FILE [--secrets FILE]

Import asks for each connector's API key and each channel's URL on the terminal, or reads
them from a JSON file: {"connectors": {"<name>": "<api key>"}, "channels": {"<name>":
{"url": "<apprise url>"}}}.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
from comradarr_db import Connection, tool_pool
from comradarr_logging import configure_logging
from comradarr_runtime import run
from comradarr_settings import CoreSettings, SettingsError, load_settings
from pydantic import ValidationError

from . import repo
from .admin import _database
from .appsettings import build
from .configio import ConfigDocument, ImportProblems, ImportSecrets, export_config, import_config
from .keyrotation import current_keyring

# A configuration file is a few kilobytes; refuse to read a huge one into memory.
MAX_FILE_BYTES = 16 * 1024 * 1024


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="comradarr config", description="export or import the configuration (no secrets)"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    out = sub.add_parser("export", help="write the configuration as JSON (no secret in it)")
    out.add_argument("--output", "-o", type=Path, help="file to write (default: stdout)")
    imp = sub.add_parser("import", help="check a configuration file, then create all of it")
    imp.add_argument("file", type=Path, help="a file written by `comradarr config export`")
    imp.add_argument(
        "--secrets",
        type=Path,
        help="JSON file with the API keys and channel URLs (else asked on the terminal)",
    )
    return parser


def _read_json(path: Path, what: str) -> Any:
    if path.stat().st_size > MAX_FILE_BYTES:
        raise ValueError(f"{what} {path} is larger than {MAX_FILE_BYTES // 1024 // 1024} MiB")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{what} {path} is not JSON: {exc}") from None


def _problems(where: str, exc: ValidationError) -> ImportProblems:
    return ImportProblems(
        [
            f"{where}: {'.'.join(str(x) for x in e['loc'])}: {e['msg']}".replace(": : ", ": ")
            for e in exc.errors()
        ]
    )


def _ask_secrets(doc: ConfigDocument, given: ImportSecrets) -> ImportSecrets:
    """Ask on the terminal for every secret the file needs and the secrets file lacks."""
    connectors = dict(given.connectors)
    channels = {k: v.model_dump() for k, v in given.channels.items()}
    interactive = sys.stdin.isatty()
    for c in doc.connectors:
        name = str(c.get("name", ""))
        if name and name not in connectors and interactive:
            connectors[name] = getpass.getpass(f"API key of connector '{name}': ").strip()
    for ch in doc.notification_channels:
        name = str(ch.get("name", ""))
        if name and name not in channels and interactive:
            url = getpass.getpass(f"Apprise URL of channel '{name}' ({ch.get('kind')}): ")
            channels[name] = {"url": url.strip()}
    try:
        return ImportSecrets.model_validate({"connectors": connectors, "channels": channels})
    except ValidationError as exc:
        raise _problems("secrets", exc) from None


async def _on_database(
    url: str, action: Callable[[asyncpg.Pool, Connection], Awaitable[str]]
) -> str:
    # Two connections: the action's own, and one for reading the key handoffs.
    async with tool_pool(url, size=2) as pool, pool.acquire() as conn:
        return await action(pool, conn)


async def _export(_pool: asyncpg.Pool, conn: Connection) -> str:
    app_settings = build(await repo.load_settings_rows(conn))
    doc = await export_config(conn, settings=app_settings, now=datetime.now(UTC))
    return doc.model_dump_json(indent=2)


def _import(
    secret_key: str, doc: ConfigDocument, secrets: ImportSecrets
) -> Callable[[asyncpg.Pool, Connection], Awaitable[str]]:
    async def action(pool: asyncpg.Pool, conn: Connection) -> str:
        # With any key handed over by a rotation: secrets go under the active one.
        box = await current_keyring(pool, secret_key)
        summary = await import_config(conn, box=box, doc=doc, secrets=secrets)
        parts = ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in summary.model_dump().items())
        return f"imported: {parts}"

    return action


def _write(text: str, output: Path | None) -> None:
    if output is None:
        print(text)
        return
    fd = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text + "\n")
    print(f"configuration written to {output} (no secret in it)", file=sys.stderr)


def main(argv: list[str]) -> int:
    """Run ``comradarr config`` with argv (without the program name); return the exit code."""
    args = _parser().parse_args(argv)
    configure_logging(service="comradarr-config", level="warning", stream=sys.stderr)
    try:
        settings = load_settings(CoreSettings)
        if args.command == "export":
            with _database(settings) as url:
                _write(run(_on_database(url, _export)), args.output)
            return 0
        try:
            doc = ConfigDocument.model_validate(_read_json(args.file, "configuration"))
            given = (
                ImportSecrets.model_validate(_read_json(args.secrets, "secrets file"))
                if args.secrets
                else ImportSecrets()
            )
        except ValidationError as exc:
            raise _problems(str(args.file), exc) from None
        secrets = _ask_secrets(doc, given)
        key = settings.resolved_secret_key()
        with _database(settings) as url:
            message = run(_on_database(url, _import(key, doc, secrets)))
    except ImportProblems as exc:
        print("comradarr config: nothing was imported; fix these first:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  - {problem}", file=sys.stderr)
        return 1
    except (SettingsError, ValueError, LookupError, OSError) as exc:
        print(f"comradarr config: {exc}", file=sys.stderr)
        return 1
    except asyncpg.PostgresError as exc:
        print(f"comradarr config: the database refused ({exc})", file=sys.stderr)
        return 1
    print(message)
    return 0
