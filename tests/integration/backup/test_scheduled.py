"""Scheduled backups: the scheduler fires at the cron time, the gateway writes the file into
the schedule's folder and keeps the newest N; done and failed are events for the notifier."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest
from comradarr_backup import BackupStore
from comradarr_bus import Bus
from comradarr_proto import BackupCompleted, BackupFailed
from comradarr_runtime import Runner, load_service
from comradarr_settings import CoreSettings, load_settings

from tests.support import wait_for

from .support import KEY, populate

pytestmark = pytest.mark.integration


async def test_the_schedule_fires_writes_prunes_and_reports(
    database_url: str, nats_url: str, bus_prefix: str, pool: asyncpg.Pool, private_tmp: Path
) -> None:
    await populate(pool)
    folder = private_tmp / "nas"
    folder.mkdir()
    for day in (1, 2, 3):  # older scheduled backups, beyond what is kept
        (folder / f"comradarr-backup-2026010{day}T033000Z-scheduled-0000000{day}.zip").write_bytes(
            b"z"
        )
    (folder / "comradarr-backup-20260101T000000Z-manual-0000000f.zip").write_bytes(b"z")
    await pool.execute(
        "UPDATE backup_schedule SET enabled = true, cron = '0 0 1 1 *', keep = 2, folder = $1,"
        " include_mirror = false, next_run_at = $2",
        str(folder),
        datetime.now(UTC) - timedelta(seconds=1),
    )
    settings = load_settings(
        CoreSettings,
        COMRADARR_BUS_PREFIX=bus_prefix,
        COMRADARR_DATA_DIR=str(private_tmp / "data"),
        COMRADARR_DB_POOL_MIN=1,
        COMRADARR_DB_POOL_MAX=4,
        COMRADARR_SHUTDOWN_TIMEOUT=5,
        SECRET_KEY=KEY,
    )
    runner = Runner(
        [load_service(n) for n in ("gateway", "scheduler")],
        settings=settings,
        database_url=database_url,
        nats_url=nats_url,
        http_port=None,
        client_name="scheduled-backup",
    )
    heard: list[BackupCompleted | BackupFailed] = []
    listener = Bus(url=nats_url, prefix=bus_prefix, client_name="listener")
    await listener.connect(retry_for=5)

    async def hear(msg: BackupCompleted | BackupFailed) -> None:
        heard.append(msg)

    await listener.listen(BackupCompleted, hear)
    await listener.listen(BackupFailed, hear)
    await runner.start()
    try:
        await wait_for(lambda: len(heard) >= 1, timeout=30)
        done = heard[0]
        assert isinstance(done, BackupCompleted) and done.trigger == "scheduled"
        assert not done.includes_mirror and len(done.pruned) == 2
        kept = [b for b in BackupStore(folder, managed=False).list()]
        assert [b.tag for b in kept] == ["scheduled", "scheduled", "manual"]
        assert kept[0].id == done.backup_id
        row = await pool.fetchrow("SELECT next_run_at, last_fired_at FROM backup_schedule")
        assert (
            row["last_fired_at"] is not None
            and row["next_run_at"].year == datetime.now(UTC).year + 1
        )
        # A folder that went away: the next run fails, and says so.
        folder.rename(private_tmp / "gone")
        await pool.execute("UPDATE backup_schedule SET next_run_at = now() - interval '1 second'")
        await wait_for(lambda: len(heard) >= 2, timeout=30)
        failed = heard[1]
        assert isinstance(failed, BackupFailed) and "does not exist" in failed.error
    finally:
        await runner.stop()
        await listener.stop(timeout=1)
