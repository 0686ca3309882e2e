"""The Maintenance page end to end: sizes by table, retention settings refused when out of
bounds and saved when not, a run started with "Run now" that every service of `comradarr up`
takes part in, its duration and what it removed shown when it ends."""

from __future__ import annotations

import json
import re

import pytest

from tests.e2e.system import ADMIN, ARR_KEY, ARTIFACTS, System
from tests.e2e.test_ui_security import SLOW, sign_in

pytestmark = pytest.mark.e2e


def _open(page, system: System) -> None:
    sign_in(page, system)
    page.goto(system.ui_url + "/maintenance")
    page.locator("#page-title", has_text="Maintenance").wait_for(timeout=SLOW)
    page.locator("#retention input").first.wait_for(timeout=SLOW)


def test_retention_is_validated_saved_and_used(page, system: System) -> None:
    page.set_default_timeout(SLOW)
    _open(page, system)
    assert page.locator("#database-size").inner_text().endswith("iB")
    page.locator("#table-sizes .table-size-row", has_text="search_registry").wait_for()
    assert page.locator("#next-run").inner_text() not in ("", "off")
    # Out of bounds: the gateway refuses and the page says why; nothing is saved.
    page.fill("#ret-search_history_days", "3")
    page.click("#save-maintenance")
    page.locator("#save-error", has_text="at least 7").wait_for()
    page.fill("#ret-search_history_days", "sixty")
    page.click("#save-maintenance")
    page.locator("#save-error", has_text="whole number").wait_for()
    page.fill("#maintenance-cron", "every sunday")
    page.fill("#ret-search_history_days", "60")
    page.click("#save-maintenance")
    page.locator("#save-error", has_text="cron").wait_for()
    page.fill("#maintenance-cron", "30 5 * * *")
    page.click("#save-maintenance")
    page.locator("#save-done").wait_for()
    page.reload()
    page.locator("#page-title", has_text="Maintenance").wait_for()
    page.locator("#retention input").first.wait_for()
    assert page.input_value("#ret-search_history_days") == "60"
    assert page.input_value("#maintenance-cron") == "30 5 * * *"
    assert page.locator("#next-run").inner_text().endswith("05:30")  # in the general time zone

    # Run now: every service prunes, the scheduler vacuums; the page follows the run.
    page.click("#run-now")
    page.locator("#runs .run-row").first.wait_for()
    page.locator("#runs .run-row .run-status", has_text="completed").first.wait_for(timeout=120_000)
    page.locator("#last-removed").wait_for()
    assert page.locator("#last-run").inner_text() != "never"
    assert page.locator("#last-duration").inner_text().endswith("s")
    page.wait_for_timeout(400)
    assert not page.get_by_text("An error occurred").is_visible()  # no handler failed
    page.screenshot(path=str(ARTIFACTS / "maintenance-desktop-light.png"), full_page=True)


def test_configuration_is_downloaded_and_imported_with_its_secrets(page, system: System) -> None:
    page.set_default_timeout(SLOW)
    _open(page, system)
    page.click("#export-config")
    page.get_by_text("Configuration downloaded").wait_for()
    config = {
        "format": "comradarr-config",
        "format_version": 2,
        "connectors": [
            {"type": "sonarr", "name": "Imported TV", "url": system.arr_url, "enabled": False}
        ],
        "schedules": [
            {
                "name": "Imported nightly",
                "connector": "Imported TV",
                "cron": "15 3 * * *",
                "timezone": "Europe/Berlin",
            }
        ],
        "notification_channels": [{"name": "Imported hook", "kind": "apprise", "events": []}],
    }
    page.fill("#import-config", "{ not json")
    page.locator("#import-read-error").wait_for()
    page.fill("#import-config", json.dumps(config))
    page.locator("#import-secret-0").wait_for()
    page.fill("#import-secret-0", ARR_KEY)
    page.fill("#import-secret-1", "ftp://not-a-notification-url")
    page.fill("#import-password", ADMIN[1])
    page.click("#run-import")
    page.locator("#import-problems", has_text="Imported hook").wait_for()
    page.fill("#import-secret-1", "json://127.0.0.1:9/hook")
    page.click("#run-import")
    page.locator("#import-done", has_text="1 connector(s), 1 schedule(s)").wait_for()
    page.wait_for_timeout(400)
    page.screenshot(path=str(ARTIFACTS / "maintenance-config-import.png"), full_page=True)
    page.goto(system.ui_url + "/connectors")
    page.get_by_text("Imported TV").first.wait_for()


def test_a_new_encryption_key_and_the_connector_still_works(page, system: System) -> None:
    """Runs after the import above: its connector's key is tested by the gateway after the
    rotation, decrypted under the new key by the running services."""
    page.set_default_timeout(SLOW)
    _open(page, system)
    old_key = (system.data_dir / "secret_key").read_text().strip()
    page.click("#rotate-key")
    page.fill("#key-password", "not the password")
    page.click("#confirm-rotate")
    page.locator("#rotate-error", has_text="password is wrong").wait_for()
    page.fill("#key-password", ADMIN[1])
    page.click("#confirm-rotate")
    page.locator("#rotate-done", has_text="without a restart").wait_for()
    assert (system.data_dir / "secret_key").read_text().strip() != old_key
    page.goto(system.ui_url + "/connectors")
    page.locator("#connector-table").get_by_text("Imported TV").first.click()
    page.wait_for_url(re.compile(r"/connector/?\?id=\d+"))
    page.locator("#page-title", has_text="Imported TV").wait_for()
    page.get_by_role("button", name="Edit").click()
    page.wait_for_url(re.compile(r"/connectors/new/?\?id=[1-9]\d*"))
    page.get_by_text("leave empty to keep it").wait_for()
    page.click("#test-connection")  # the stored key, decrypted under the new one
    result = page.locator("#test-result")
    result.filter(has_not_text="Testing").wait_for()
    assert "succeeded" in result.inner_text().lower(), result.inner_text()
