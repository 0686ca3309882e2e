"""``comradarr secrets``: change SECRET_KEY, from the host, with the services running.

    comradarr secrets rotate [--new-key-file FILE] [--handoff-days N]
    comradarr secrets forget-old
    comradarr secrets status

``rotate`` re-encrypts every stored secret (connector API keys, notification channel URLs,
webhook tokens) in one transaction and switches the running services to the new key
without a restart. Where SECRET_KEY comes from the data directory, the new key is generated
and written there; where it comes from the environment (Kubernetes), the new key is read
from --new-key-file or NEW_SECRET_KEY, and the command says what to set next.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
from comradarr_bus import Bus
from comradarr_db import tool_pool
from comradarr_logging import configure_logging
from comradarr_proto import SecretKeyRotated
from comradarr_runtime import attach_to_running, run
from comradarr_settings import CoreSettings, SettingsError, load_settings

from .admin import _database
from .keyrotation import KeyFile, Rotation, current_keyring, forget_old_keys, rotate_key

NEW_KEY_VARIABLE = "NEW_SECRET_KEY"
MAX_KEY_FILE = 4096


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="comradarr secrets", description="change the key that encrypts stored secrets"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    rotate = sub.add_parser("rotate", help="re-encrypt every secret under a new SECRET_KEY")
    rotate.add_argument(
        "--new-key-file",
        type=Path,
        help=f"file holding the new key (else ${NEW_KEY_VARIABLE}; generated when SECRET_KEY"
        " lives in the data directory)",
    )
    rotate.add_argument(
        "--handoff-days",
        type=float,
        default=7.0,
        help="how long a service started with the old key may still switch (default 7)",
    )
    sub.add_parser("forget-old", help="delete the handed-over keys (once all run the new key)")
    sub.add_parser("status", help="the current key's id and any handed-over keys")
    return parser


def _from_environment(settings: CoreSettings) -> bool:
    return settings.secret_key is not None


def _new_key(settings: CoreSettings, key_file: Path | None) -> str:
    if key_file is not None:
        if key_file.stat().st_size > MAX_KEY_FILE:
            raise ValueError(f"{key_file} is too large to be a key")
        key = key_file.read_text(encoding="utf-8").strip()
    elif os.environ.get(NEW_KEY_VARIABLE):
        key = os.environ[NEW_KEY_VARIABLE].strip()
    elif _from_environment(settings):
        raise ValueError(
            "SECRET_KEY comes from the environment, so the new key must too: put it in a file"
            f" (openssl rand -hex 32 > new.key; --new-key-file new.key) or in ${NEW_KEY_VARIABLE}"
        )
    else:
        return secrets.token_urlsafe(48)
    # The same rules as SECRET_KEY itself (length, no placeholder).
    load_settings(CoreSettings, secret_key=key)
    return key


@asynccontextmanager
async def _bus(settings: CoreSettings) -> AsyncIterator[Bus | None]:
    """The bus the services listen on, if one is reachable (else they switch on start)."""
    url = settings.nats_url or attach_to_running(settings.data_dir)[1]
    if url is None:
        yield None
        return
    bus = Bus(url=url, prefix=settings.bus_prefix, client_name=f"comradarr-secrets-{os.getpid()}")
    try:
        await bus.connect(retry_for=5.0)
    except Exception as exc:
        print(
            f"note: the message bus is unreachable ({exc}); running services pick the new key"
            " up within 30 s, others when they start"
        )
        yield None
        return
    try:
        yield bus
    finally:
        await bus.stop(timeout=2.0)


async def _rotate(
    settings: CoreSettings, url: str, new_key: str, handoff: timedelta
) -> tuple[Rotation, str]:
    key_file = None if _from_environment(settings) else KeyFile(settings.data_dir, new_key)
    async with tool_pool(url, size=2) as pool, _bus(settings) as bus:

        async def announce(msg: SecretKeyRotated) -> None:
            if bus is not None:
                await bus.publish(msg)

        old = await current_keyring(pool, settings.resolved_secret_key())
        try:
            done = await rotate_key(
                pool,
                old=old,
                new_key=new_key,
                announce=announce,
                now=datetime.now(UTC),
                persist=key_file.persist if key_file else None,
                handoff=handoff,
                settle_seconds=2.0 if bus is not None else 0.0,
            )
        except BaseException:
            if key_file is not None:
                key_file.discard()
            raise
    return done, str(key_file.path) if key_file else ""


def _next_steps(settings: CoreSettings, done: Rotation, key_path: str, source: str) -> str:
    lines = [
        f"{done.rotated} secret(s) re-encrypted in one transaction under the new key"
        f" (id {done.key_id}; previous {done.previous_key_id}).",
        "Running services switched to it; no restart is needed.",
    ]
    until = done.handoff_expires_at.strftime("%Y-%m-%d %H:%M UTC")
    if _from_environment(settings):
        lines += [
            "",
            "Next: set SECRET_KEY to the new key where your deployment keeps it, e.g.",
            f"  kubectl create secret generic comradarr --from-file=SECRET_KEY={source}"
            " --dry-run=client -o yaml | kubectl apply -f -",
            f"A service restarted with the old key before then still switches, until {until}.",
        ]
    else:
        lines += [f"The new key is in {key_path} (the previous one in secret_key.previous)."]
    lines += [
        "If the old key may have leaked: once every service runs with the new key, run",
        "  comradarr secrets forget-old",
        "",
        "Backups made before now are sealed with the previous key: restoring one needs",
        "SECRET_KEY set to that key, so keep it beside them, or take a new backup now:",
        "  comradarr backup create",
    ]
    return "\n".join(lines)


async def _status(settings: CoreSettings, url: str) -> str:
    async with tool_pool(url, size=2) as pool:
        keyring = await current_keyring(pool, settings.resolved_secret_key())
        rows = await pool.fetch(
            "SELECT key_id, state, expires_at FROM secret_key_handoffs ORDER BY created_at"
        )
    source = "the environment" if _from_environment(settings) else "the data directory"
    lines = [f"SECRET_KEY from {source}; active key id {keyring.key_id.hex()}"]
    lines += [
        f"handed-over key {bytes(r['key_id']).hex()} ({r['state']})"
        f" until {r['expires_at']:%Y-%m-%d %H:%M %Z}"
        for r in rows
    ]
    return "\n".join(lines)


async def _forget(url: str) -> str:
    async with tool_pool(url, size=2) as pool:
        removed = await forget_old_keys(pool)
    return f"{removed} handed-over key(s) deleted: only the current SECRET_KEY opens the secrets"


def main(argv: list[str]) -> int:
    """Run ``comradarr secrets`` with argv (without the program name); return the exit code."""
    args = _parser().parse_args(argv)
    configure_logging(service="comradarr-secrets", level="warning", stream=sys.stderr)
    try:
        settings = load_settings(CoreSettings)
        with _database(settings) as url:
            if args.command == "status":
                message = run(_status(settings, url))
            elif args.command == "forget-old":
                message = run(_forget(url))
            else:
                if not 0 < args.handoff_days <= 365:
                    raise ValueError("--handoff-days must be between 0 and 365")
                new_key = _new_key(settings, args.new_key_file)
                source = str(args.new_key_file) if args.new_key_file else "new.key"
                done, path = run(_rotate(settings, url, new_key, timedelta(days=args.handoff_days)))
                message = _next_steps(settings, done, path, source)
    except (SettingsError, ValueError, LookupError, OSError) as exc:
        print(f"comradarr secrets: {exc}", file=sys.stderr)
        return 1
    except asyncpg.PostgresError as exc:
        print(f"comradarr secrets: the database refused ({exc}); nothing changed", file=sys.stderr)
        return 1
    except Exception as exc:  # a secret that does not decrypt (tampered, another key)
        notes = " ".join(getattr(exc, "__notes__", []))
        print(
            f"comradarr secrets: rotation stopped, nothing changed: {exc} {notes}".rstrip(),
            file=sys.stderr,
        )
        return 1
    print(message)
    return 0
