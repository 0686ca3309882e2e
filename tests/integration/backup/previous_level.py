"""Makes tests/fixtures/backup-previous-level.zip: a backup taken one migration level back.

The schema lacks the newest migration of mirror (custom-format scores, quality profiles),
dispatcher (webhook finds) and gateway (a queue index), as an install of the release before
would. Regenerate (only when the fixture must change) with
``TEST_DATABASE_URL=... uv run python -m tests.integration.backup.previous_level``.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from pathlib import Path

import asyncpg
from comradarr_backup import create_backup
from comradarr_db import apply_migrations, discover

from .support import KEY, populate

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "backup-previous-level.zip"
LEFT_FOR_LATER = {("mirror", 10), ("dispatcher", 4), ("gateway", 10)}


def older_migrations() -> list:  # type: ignore[type-arg]
    """Every migration the fixture's install had applied."""
    return [m for m in discover() if (m.component, m.version) not in LEFT_FOR_LATER]


async def _make(admin_url: str) -> None:
    name = f"comradarr_fixture_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(admin_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        conn = await asyncpg.connect(admin_url.rsplit("/", 1)[0] + f"/{name}")
        try:
            await apply_migrations(conn, older_migrations())
            await populate(conn)
            with FIXTURE.open("wb") as fh:
                await create_backup(conn, secret_key=KEY, dest=fh)
        finally:
            await conn.close()
    finally:
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await admin.close()


if __name__ == "__main__":
    asyncio.run(_make(os.environ["TEST_DATABASE_URL"]))
    print(f"wrote {FIXTURE}")
