"""Backup done and backup failed reach the channels that want them, with their texts."""

from __future__ import annotations

import pytest
from comradarr_proto import BackupCompleted, BackupFailed

from tests.support import wait_for
from tests.support.receivers import http_receiver

from .conftest import Harness
from .test_notifier import send_all

pytestmark = pytest.mark.integration


async def test_backup_done_and_failed_are_notified(h: Harness) -> None:
    with http_receiver() as web:
        await h.channel(
            "ops", "webhook", {"url": f"http://{web.base}/ops"}, events=["backup_failed"]
        )
        await h.channel("all", "webhook", {"url": f"http://{web.base}/all"}, events=["all"])
        await h.subscribe()
        await h.bus.publish(
            BackupCompleted(
                backup_id="comradarr-backup-20260302T033000Z-scheduled-1a2b3c4d",
                trigger="scheduled",
                size_bytes=5 << 20,
                rows=123_456,
                includes_mirror=False,
                seconds=2.5,
                pruned=["comradarr-backup-20260301T033000Z-scheduled-0a2b3c4d"],
            )
        )
        await h.bus.publish(
            BackupFailed(trigger="scheduled", error="/mnt/nas does not exist; create it first")
        )

        async def three() -> bool:
            return len(await h.deliveries()) >= 3

        await wait_for(three, timeout=15)
        await send_all(h)
    everything = sorted(r.json()["title"] for r in web.at("/all"))
    assert everything == [
        "Backup done · comradarr-backup-20260302T033000Z-scheduled-1a2b3c4d",
        "Backup failed",
    ]
    done = next(r.json() for r in web.at("/all") if r.json()["title"].startswith("Backup done"))
    assert "123,456 rows (without the library mirror): 5.0 MiB in 2.5 s" in done["message"]
    assert "1 older backup(s) removed" in done["message"]
    ops = [r.json() for r in web.at("/ops")]
    assert [o["title"] for o in ops] == ["Backup failed"]
    assert "/mnt/nas does not exist" in ops[0]["message"]
