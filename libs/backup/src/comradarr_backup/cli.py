"""``comradarr backup``: create, list and restore backups from the host.

Works with the services running (it uses the database of a running ``comradarr up``, or
DATABASE_URL) or stopped (it starts the embedded PostgreSQL for the moment).
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from pathlib import Path

import asyncpg
from comradarr_bus import Bus
from comradarr_logging import configure_logging
from comradarr_proto import BackupRestored, Message
from comradarr_runtime import attach_to_running, run, tool_database
from comradarr_settings import CoreSettings, SettingsError, load_settings

from ._archive import BackupFile
from ._create import create_backup
from ._errors import BackupError
from ._jobs import Made, backup_into, restore_from
from ._restore import check_backup
from ._store import BackupStore, atomic_file, backups_folder

PROG = "comradarr backup"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description="back up and restore Comradarr")
    sub = parser.add_subparsers(dest="command", required=True)
    create = sub.add_parser("create", help="write a backup (services running or not)")
    create.add_argument(
        "--output", type=Path, help="the file to write (default: a new file in the backups folder)"
    )
    create.add_argument(
        "--no-mirror",
        action="store_true",
        help="leave out the library mirror (re-read from the *arr apps), and the queue and "
        "search history that hang on it: a much smaller file",
    )
    sub.add_parser("list", help="list the backups in the backups folder")
    restore = sub.add_parser("restore", help="replace everything with a backup's contents")
    restore.add_argument("file", type=Path, help="the backup file")
    restore.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    restore.add_argument(
        "--no-safety-backup",
        action="store_true",
        help="do not first back up the current state into the backups folder",
    )
    return parser


def _size(n: int) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:,} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return str(n)


async def _create(url: str, settings: CoreSettings, output: Path | None, mirror: bool) -> str:
    key = settings.resolved_secret_key()
    started = time.perf_counter()
    conn = await asyncpg.connect(url)
    try:
        if output is None:
            store = BackupStore(backups_folder(settings.data_dir))
            made = await backup_into(
                conn, store, secret_key=key, tag="manual", include_mirror=mirror
            )
        else:
            with atomic_file(output) as fh:
                manifest = await create_backup(conn, secret_key=key, dest=fh, include_mirror=mirror)
                size = fh.tell()
            made = Made(id=output.name, path=output, size=size, manifest=manifest)
    finally:
        await conn.close()
    m = made.manifest
    left = f"; left out: {', '.join(m.left_out)}" if not mirror else ""
    return (
        f"backup written: {made.path}\n"
        f"  {_size(made.size)}, {m.total_rows():,} rows in {len(m.tables)} tables, "
        f"{time.perf_counter() - started:.1f} s{left}\n"
        f"  SECRET_KEY fingerprint {m.key_fingerprint}: restoring needs this same key "
        "(the file holds the secrets encrypted, never the key)"
    )


async def _announce(settings: CoreSettings, msg: Message) -> str:
    """Tell running services over NATS; say plainly when none could be reached."""
    url = settings.nats_url or attach_to_running(settings.data_dir)[1]
    if not url:
        return "no running services found (no NATS_URL, no running `comradarr up`)"
    bus = Bus(url=url, prefix=settings.bus_prefix, client_name="comradarr-backup-cli")
    try:
        await bus.connect(retry_for=3)
        await bus.publish(msg)
    except Exception as exc:
        return f"running services could not be told over NATS ({exc})"
    finally:
        # The restore is done; a failed goodbye changes nothing.
        with contextlib.suppress(Exception):
            await bus.stop(timeout=2)
    return (
        "running services were told (evt.backup.restored); they read the database afresh "
        "on each cycle, so none was restarted"
    )


def _confirm(summary: str, yes: bool) -> None:
    print(summary)
    if yes:
        return
    if not sys.stdin.isatty():
        raise BackupError("stdin is not a terminal: pass --yes to restore without asking")
    answer = input("This replaces every setting, connector, user and queue entry. Type RESTORE: ")
    if answer.strip() != "RESTORE":
        raise BackupError("not confirmed; nothing was changed")


async def _restore(url: str, settings: CoreSettings, file: Path, yes: bool, safety: bool) -> str:
    key = settings.resolved_secret_key()
    with BackupFile(file) as backup:
        plan = check_backup(backup, secret_key=key)
    m = plan.manifest
    versions = ", ".join(f"{c} {v:04d}" for c, v in sorted(m.schema_versions().items()))
    then = f"; then {len(plan.after)} migration(s) bring it to this version" if plan.after else ""
    _confirm(
        f"{file}: a sound backup made {m.created_at:%Y-%m-%d %H:%M:%S} UTC by Comradarr "
        f"{m.comradarr_version}\n  {m.total_rows():,} rows in {len(m.tables)} tables"
        f"{'' if m.includes_mirror else ' (without the library mirror)'}; schema {versions}"
        f"{then}",
        yes,
    )
    conn = await asyncpg.connect(url)
    try:
        store = None if not safety else BackupStore(backups_folder(settings.data_dir))
        done = await restore_from(conn, file, secret_key=key, safety=store)
    finally:
        await conn.close()
    r = done.result
    told = await _announce(
        settings,
        BackupRestored(
            backup_created_at=m.created_at,
            rows=r.rows,
            migrations_applied=r.migrations_applied,
            safety_backup_id=done.safety.id if done.safety else None,
        ),
    )
    lines = [f"restored {r.rows:,} rows in {r.tables} tables in {r.seconds:.1f} s"]
    if r.migrations_applied:
        lines.append(f"  migrated: {', '.join(r.migrations_applied)}")
    if done.safety is not None:
        lines.append(f"  the state before the restore was kept as {done.safety.path}")
    lines.append("  every session was signed out: sign in with the backup's accounts")
    lines.append(f"  {told}")
    return "\n".join(lines)


def _list(settings: CoreSettings) -> str:
    store = BackupStore(backups_folder(settings.data_dir))
    found = store.list()
    if not found:
        return f"no backups in {store.folder}"
    rows = [f"{b.id}  {b.created_at:%Y-%m-%d %H:%M} UTC  {_size(b.size)}" for b in found]
    return "\n".join([str(store.folder), *rows])


def main(argv: list[str]) -> int:
    """Run ``comradarr backup`` with argv (without the program name); return the exit code."""
    args = _parser().parse_args(argv)
    configure_logging(service="comradarr-backup", level="warning", stream=sys.stderr)
    try:
        settings = load_settings(CoreSettings)
        if args.command == "list":
            message = _list(settings)
        elif args.command == "create":
            if args.output is not None and args.output.exists():
                raise BackupError(f"{args.output} exists; choose another file")
            with tool_database(settings) as url:
                message = run(_create(url, settings, args.output, not args.no_mirror))
        else:
            if not args.file.is_file():
                raise BackupError(f"{args.file} is not a file")
            with tool_database(settings, create=True) as url:
                message = run(
                    _restore(url, settings, args.file, args.yes, not args.no_safety_backup)
                )
    except LookupError as exc:
        print(f"{PROG}: nothing to back up: {exc}", file=sys.stderr)
        return 1
    except (SettingsError, BackupError) as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 1
    except (OSError, asyncpg.PostgresError) as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 1
    print(message)
    return 0
