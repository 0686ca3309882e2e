"""``comradarr admin``: the owner's way back in, on the host, with the services up or down.

``unlock`` forgets every failed-login counter and lock; ``reset-password`` sets a new
password for the administrator and signs every session out. Both talk to the database
only (DATABASE_URL, else the embedded PostgreSQL under the data directory, shared with a
running ``comradarr up`` or started for the moment).
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from typing import Any

import asyncpg
from comradarr_crypto import PasswordHasher
from comradarr_logging import configure_logging
from comradarr_runtime import run, tool_database
from comradarr_settings import CoreSettings, SettingsError, load_settings
from pydantic import TypeAdapter, ValidationError

from . import repo
from .text import Password

_NOT_SET_UP = "no administrator yet: run `comradarr up` and finish setup in the web UI"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="comradarr admin", description="the administrator's account, from the host"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("unlock", help="clear every failed-login lock and counter")
    reset = sub.add_parser(
        "reset-password", help="set a new administrator password; signs every session out"
    )
    reset.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the new password from the first line of stdin (for scripts)",
    )
    return parser


def _new_password(from_stdin: bool) -> str:
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    elif not sys.stdin.isatty():
        raise ValueError("stdin is not a terminal: pass the password with --password-stdin")
    else:
        password = getpass.getpass("New password: ")
        if getpass.getpass("Repeat it: ") != password:
            raise ValueError("the two passwords differ")
    try:
        return TypeAdapter(Password).validate_python(password)
    except ValidationError as exc:
        raise ValueError(f"password {exc.errors()[0]['msg'].lower()}") from None


async def _unlock(conn: asyncpg.Connection) -> str:
    cleared = await repo.unlock_logins(conn)
    return f"cleared {cleared} failed-login counter(s): every address and account may sign in"


def _reset(password: str) -> Callable[[asyncpg.Connection], Coroutine[Any, Any, str]]:
    async def reset(conn: asyncpg.Connection) -> str:
        user = await repo.first_user(conn)
        if user is None:
            raise LookupError(_NOT_SET_UP)
        password_hash = PasswordHasher().hash(password)
        async with conn.transaction():
            await repo.set_password_hash(conn, user_id=user.id, password_hash=password_hash)
            ended = await repo.delete_other_sessions(conn, user_id=user.id, keep_id=None)
            await repo.unlock_logins(conn)
        return (
            f"password of {user.username!r} changed; {ended} session(s) signed out "
            "and failed-login locks cleared"
        )

    return reset


@contextmanager
def _database(settings: CoreSettings) -> Iterator[str]:
    """The database to work on; never created (no data, nothing to unlock)."""
    try:
        with tool_database(settings) as url:
            yield url
    except LookupError as exc:
        raise LookupError(f"{_NOT_SET_UP} ({exc})") from None


async def _with_connection(
    url: str, action: Callable[[asyncpg.Connection], Coroutine[Any, Any, str]]
) -> str:
    conn = await asyncpg.connect(url)
    try:
        return await action(conn)
    except asyncpg.UndefinedTableError:
        raise LookupError(_NOT_SET_UP) from None
    finally:
        await conn.close()


def main(argv: list[str]) -> int:
    """Run ``comradarr admin`` with argv (without the program name); return the exit code."""
    args = _parser().parse_args(argv)
    configure_logging(service="comradarr-admin", level="warning", stream=sys.stderr)
    try:
        settings = load_settings(CoreSettings)
        action: Callable[[asyncpg.Connection], Coroutine[Any, Any, str]] = _unlock
        if args.command == "reset-password":
            action = _reset(_new_password(args.password_stdin))
        with _database(settings) as url:
            message = run(_with_connection(url, action))
    except (SettingsError, ValueError, LookupError) as exc:
        print(f"comradarr admin: {exc}", file=sys.stderr)
        return 1
    except (OSError, asyncpg.PostgresError) as exc:
        print(f"comradarr admin: the database is unreachable ({exc})", file=sys.stderr)
        return 1
    print(message)
    return 0
