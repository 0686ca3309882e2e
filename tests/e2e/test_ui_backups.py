"""The Backups screen end to end (issue 23): back up now, the list with a download link, an
upload (a hostile archive refused, a real backup checked and kept), a restore that asks for
the password and signs everyone out, and the backup schedule.

Shares the session's page; signs itself in whatever state it finds and leaves the install
as it found it (the restore puts back a backup made moments before).
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.system import ADMIN, System
from tests.e2e.test_ui_security import SLOW, at, shot, sign_in

UPLOAD_INPUT = "#backup-upload input[type=file]"


@pytest.fixture
def shared(page) -> Iterator[object]:
    page.set_default_timeout(SLOW)
    yield page
    page.set_default_timeout(20_000)


def open_backups(page, system: System) -> None:
    sign_in(page, system)
    page.goto(system.ui_url + "/backups")
    page.locator("#page-title", has_text="Backups").wait_for()
    page.wait_for_url(at("/backups"))


def toggle(page, selector: str, *, on: bool) -> None:
    """A Radix checkbox changes once the server state answers: click, then wait for it."""
    want = "true" if on else "false"
    if page.locator(selector).get_attribute("aria-checked") != want:
        page.click(selector)
    page.locator(f'{selector}[aria-checked="{want}"]').wait_for()


def test_backup_download_upload_restore_and_schedule(
    shared, system: System, tmp_path: Path
) -> None:
    page = shared
    open_backups(page, system)
    rows = page.locator("#backups .backup-row")
    before = rows.count()
    page.click("#backup-create")
    page.wait_for_function(
        f"document.querySelectorAll('#backups .backup-row').length > {before}", timeout=SLOW
    )
    first = rows.first
    assert "manual" in first.inner_text()
    shot(page, "backups-desktop-light")

    # The download link serves the file itself.
    with page.expect_download() as got:
        first.locator(".backup-download").click()
    saved = tmp_path / got.value.suggested_filename
    got.value.save_as(saved)
    assert saved.name.startswith("comradarr-backup-") and saved.suffix == ".zip"
    assert "manifest.json" in zipfile.ZipFile(saved).namelist()

    # A hostile archive is refused whole, with the reason.
    evil = tmp_path / "evil.zip"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("../../zs-e2e.txt", "x")
    evil.write_bytes(buf.getvalue())
    page.set_input_files(UPLOAD_INPUT, str(evil))
    page.click("#backup-upload-submit")
    page.locator("#upload-error", has_text="not a name a Comradarr backup holds").wait_for()

    # The real one is checked and kept; the restore asks for the password.
    page.set_input_files(UPLOAD_INPUT, str(saved))
    page.click("#backup-upload-submit")
    page.locator("#upload-summary", has_text="A sound backup").wait_for()
    page.locator("#backups .backup-row", has_text="upload").wait_for()
    confirm = page.locator("#restore-confirm")
    confirm.wait_for()
    assert "Everyone is signed out" in confirm.inner_text()
    shot(page, "backups-restore-confirm-desktop-light")
    page.click("#restore-submit")
    page.locator("#restore-error", has_text="Enter your password").wait_for()
    page.fill("#restore-password", "not the password")
    page.click("#restore-submit")
    page.locator("#restore-error", has_text="password is wrong").wait_for()
    page.fill("#restore-password", ADMIN[1])
    page.click("#restore-submit")
    page.wait_for_url(at("/login"), timeout=SLOW)

    # Signed in again: the list has the upload and the safety backup of the state replaced.
    open_backups(page, system)
    page.locator("#backups .backup-row", has_text="prerestore").wait_for()
    text = page.locator("#backups").inner_text()
    assert "upload" in text and "manual" in text

    # The schedule: a wrong cron says why; a good one shows its next runs.
    toggle(page, "#schedule-enabled", on=True)
    page.fill("#schedule-cron", "every night")
    page.click("#schedule-save")
    page.locator("#schedule-error", has_text="cron").wait_for()
    page.fill("#schedule-cron", "15 4 * * *")
    page.fill("#schedule-timezone", "Europe/Berlin")
    page.fill("#schedule-keep", "3")
    page.click("#schedule-save")
    page.locator("#schedule-next", has_text="Next:").wait_for()
    shot(page, "backups-schedule-desktop-light")
    # Back off, as the other tests found it.
    toggle(page, "#schedule-enabled", on=False)
    page.click("#schedule-save")
    page.locator("#schedule-next", has_text="Off").wait_for()
