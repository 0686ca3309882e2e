"""Issue 20's controls end to end: Settings → Search holds only what services read (and says
where the rest lives), a connector takes a throttle profile in its form, the default profile
is chosen on the Schedules page, and the schedule editor shows the connector's profile.

Runs after test_ui_flows.py on the same system and signs itself in as it finds it."""

from __future__ import annotations

import re

from tests.e2e.system import ARR_KEY, System
from tests.e2e.test_ui_security import SLOW, sign_in

PROFILE = "e2e controls"


def pick(page, trigger: str, option: str) -> None:
    """Choose an option of a Radix select."""
    page.click(trigger)
    page.get_by_role("option", name=option, exact=True).click()


def save_new(page) -> None:
    """Save the new connector's form, confirming when the app is connected already; on its
    detail page afterwards."""
    page.click("#save-connector")
    detail = re.compile(r"/connector/?\?id=\d+")
    for _ in range(240):
        if detail.search(page.url):
            break
        anyway = page.locator("#save-anyway")
        if anyway.count() and anyway.is_visible():  # the same app is connected already
            anyway.click()
        page.wait_for_timeout(250)
    else:
        problem = page.locator(".rt-CalloutRoot").all_inner_texts()
        raise AssertionError(f"not saved: {page.url} {problem}")


def test_search_settings_are_saved_and_name_where_the_rest_lives(page, system: System) -> None:
    page.set_default_timeout(SLOW)
    sign_in(page, system)
    page.goto(system.ui_url + "/settings")
    page.locator("#page-title", has_text="Settings").wait_for()
    threshold = page.locator("#setting-search-season_pack_threshold")
    threshold.wait_for()
    body = page.inner_text("body")
    # The duplicates are gone: cooldown, backoff and attempts are the profile's.
    for gone in ("Cooldown hours", "Backoff multiplier", "Max attempts", "Recently aired"):
        assert gone not in body, gone
    assert "Air delay hours" in body and "Search upgrades" in body
    page.locator("#search-profile-note", has_text="throttle profile").wait_for()
    threshold.fill("0.8")
    page.locator("#setting-search-search_upgrades").click()
    page.get_by_role("button", name="Save").click()
    page.get_by_text("Saved.").wait_for()
    page.reload()
    page.locator("#setting-search-season_pack_threshold").wait_for()
    assert page.locator("#setting-search-season_pack_threshold").input_value() == "0.8"
    upgrades = page.locator("#setting-search-search_upgrades")
    assert upgrades.get_attribute("aria-checked") == "false"
    upgrades.click()  # back on, as the other tests expect
    page.get_by_role("button", name="Save").click()
    page.get_by_text("Saved.").wait_for()


def test_connector_profile_and_default_profile_are_chosen_in_the_ui(page, system: System) -> None:
    page.set_default_timeout(SLOW)
    page.goto(system.ui_url + "/schedules")
    page.click("#new-profile")
    page.locator("#profile-editor").wait_for()
    page.fill("#profile-name", PROFILE)
    page.fill("#profile-requests_per_minute", "3")
    page.click("#save-profile")
    page.locator(".profile-card", has_text=PROFILE).wait_for()

    # The connector form: its own profile, kept when the form is opened again.
    page.goto(system.ui_url + "/connectors/new")
    page.fill("#f-name", "e2e controls TV")
    page.fill("#f-url", system.arr_url)
    page.fill("#f-key", ARR_KEY)
    page.locator("#f-profile", has_text="Default profile (Moderate)").wait_for()
    pick(page, "#f-profile", PROFILE)
    save_new(page)
    cid = re.search(r"id=(\d+)", page.url).group(1)  # type: ignore[union-attr]
    page.goto(system.ui_url + f"/connectors/new?id={cid}")
    page.locator("#f-name").wait_for()
    page.wait_for_function("document.querySelector('#f-name')?.value === 'e2e controls TV'")
    page.locator("#f-profile", has_text=PROFILE).wait_for()

    # The schedule editor shows that connector's profile instead of offering its own.
    page.goto(system.ui_url + "/schedules")
    page.click("#new-schedule")
    page.locator("#schedule-editor").wait_for()
    pick(page, "#sched-connector", "e2e controls TV")
    page.locator("#sched-profile", has_text=PROFILE).wait_for()

    # The default profile: chosen above the profiles; the connectors without one follow it.
    pick(page, "#default-profile", "Conservative")
    page.get_by_text("Default throttle profile changed").wait_for()
    page.locator(".profile-card", has_text="Conservative (default)").wait_for()
    page.reload()
    assert "Conservative" in page.locator("#default-profile").inner_text()
    pick(page, "#default-profile", "Moderate")
    page.locator(".profile-card", has_text="Moderate (default)").wait_for()


def test_a_refused_key_is_shown_with_a_way_to_re_enter_it(page, system: System) -> None:
    page.set_default_timeout(SLOW)
    page.goto(system.ui_url + "/connectors/new")
    page.fill("#f-name", "e2e wrong key")
    page.fill("#f-url", system.arr_url)
    page.fill("#f-key", "a-key-the-app-refuses-0000000000")
    save_new(page)
    page.locator("#key-refused", has_text="refused the API key").wait_for()
    page.goto(system.ui_url + "/connectors")
    row = page.locator("#connector-table tr", has_text="e2e wrong key")
    assert "API key refused" in row.inner_text()
    row.locator(".reenter-key").click()
    page.wait_for_url(re.compile(r"/connectors/new/?\?id=\d+"))
    page.wait_for_function("document.querySelector('#f-name')?.value === 'e2e wrong key'")
    page.fill("#f-key", ARR_KEY)
    page.click("#save-connector")
    page.get_by_text("Connector saved").wait_for()
    page.goto(system.ui_url + "/connectors")
    row = page.locator("#connector-table tr", has_text="e2e wrong key")
    row.locator(".status-badge", has_text="healthy").wait_for()
    assert row.locator(".reenter-key").count() == 0
