"""The UI end to end in headless Chromium, against a real gateway and a Sonarr simulator.

The tests run in file order and share one browser page (setup happens once per system).
"""

from __future__ import annotations

import re

from tests.e2e.system import ADMIN, ARR_KEY, ARTIFACTS, System

SCREENS = [
    ("dashboard", "/"),
    ("connectors", "/connectors"),
    ("connector-form", "/connectors/new"),
    ("settings", "/settings"),
    ("api-keys", "/api-keys"),
    ("content", "/content?type=series&status=all"),
    ("content-episodes-missing", "/content?type=episode&status=missing"),
    ("series-detail", "/content/series?id=1"),
    ("queue", "/queue"),
    ("schedules", "/schedules"),
]
DESKTOP = {"width": 1280, "height": 800}
MOBILE = {"width": 390, "height": 844}


def url_re(path: str) -> re.Pattern[str]:
    """The page at `path` (Reflex adds a trailing slash), with any query."""
    return re.compile(rf"^https?://[^/]+{re.escape(path.rstrip('/'))}/?(\?.*)?$")


def shot(page, name: str) -> None:
    page.wait_for_timeout(400)  # let transitions settle
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def is_dark(page) -> bool:
    return bool(page.evaluate("document.documentElement.classList.contains('dark')"))


def login(page, system: System, password: str = ADMIN[1]) -> None:
    page.fill("#username", ADMIN[0])
    page.fill("#password", password)
    page.click("#login-submit")


def test_first_run_setup_then_dashboard(page, system: System) -> None:
    page.goto(system.ui_url + "/connectors")
    page.wait_for_url(url_re("/setup"))
    shot(page, "setup-desktop-light")
    page.fill("#setup-username", ADMIN[0])
    page.fill("#setup-password", ADMIN[1])
    page.fill("#setup-confirm", ADMIN[1] + "x")
    page.click("#setup-submit")
    page.get_by_text("The two passwords differ.").wait_for()
    page.fill("#setup-confirm", ADMIN[1])
    page.click("#setup-submit")
    page.wait_for_url(url_re("/"))
    page.locator("#page-title", has_text="Dashboard").wait_for()
    assert page.locator("#current-user").inner_text() == ADMIN[0]


def test_logout_then_login_returns_to_the_page(page, system: System) -> None:
    page.click("#logout")
    page.wait_for_url(url_re("/login"))
    shot(page, "login-desktop-light")
    page.goto(system.ui_url + "/settings")
    page.wait_for_url(re.compile(r"/login/?\?next=%2Fsettings"))
    login(page, system, password="not the password")
    page.get_by_text("Wrong username or password.").wait_for()
    login(page, system)
    page.wait_for_url(url_re("/settings"))
    page.locator("#page-title", has_text="Settings").wait_for()


def test_add_connector_failing_then_passing_test(page, system: System) -> None:
    page.goto(system.ui_url + "/connectors")
    page.locator(".empty-state").wait_for()
    page.click("#add-connector")
    page.wait_for_url(url_re("/connectors/new"))
    page.fill("#f-name", "Sonarr (simulated)")
    page.fill("#f-url", system.arr_url)
    page.fill("#f-key", "definitely-the-wrong-key")
    page.click("#test-connection")
    result = page.locator("#test-result")
    result.filter(has_not_text="Testing").wait_for()
    failing = result.inner_text()
    assert "succeeded" not in failing.lower(), failing
    assert re.search(r"auth|401|key", failing, re.IGNORECASE), failing
    shot(page, "connector-form-failed-desktop-light")
    page.fill("#f-key", ARR_KEY)
    page.click("#test-connection")
    page.locator("#test-result", has_text="succeeded").wait_for()
    shot(page, "connector-form-passed-desktop-light")
    page.click("#save-connector")
    page.wait_for_url(re.compile(r"/connector/?\?id=\d+"))
    page.locator("#page-title", has_text="Sonarr (simulated)").wait_for()
    body = page.inner_text("body")
    assert ARR_KEY not in body and ARR_KEY[-4:] in body  # masked to the last four
    shot(page, "connector-detail-desktop-light")
    page.get_by_role("button", name="Edit").click()
    page.wait_for_url(re.compile(r"/connectors/new/?\?id=\d+"))
    page.get_by_text("leave empty to keep it").wait_for()
    assert page.locator("#f-name").input_value() == "Sonarr (simulated)"
    assert page.locator("#f-key").input_value() == ""
    page.click("#test-connection")  # the stored key, tested by the gateway
    page.locator("#test-result", has_text="succeeded").wait_for()
    page.goto(system.ui_url + "/connectors")
    row = page.locator("#connector-table").get_by_text("Sonarr (simulated)")
    row.wait_for()
    badge = page.locator("#connector-table .status-badge")
    assert badge.count() == 1
    assert badge.inner_text().strip() == "healthy"  # saved, then checked at once
    page.locator("#connector-table [role=switch]").click()  # disable
    page.wait_for_timeout(500)
    page.reload()
    assert page.locator("#connector-table [role=switch]").get_attribute("aria-checked") == "false"
    page.locator("#connector-table [role=switch]").click()  # enable again


def test_api_key_shown_once_then_revoked(page, system: System) -> None:
    page.goto(system.ui_url + "/api-keys")
    page.locator("#page-title", has_text="API keys").wait_for()
    page.fill("#new-key-name", "e2e script")
    page.click("#create-key")
    key = page.locator("#new-key-value").inner_text().strip()
    assert len(key) >= 20
    shot(page, "api-key-created-desktop-light")
    page.reload()
    page.get_by_text("e2e script").wait_for()
    page.locator("#new-key-value").wait_for(state="detached")
    assert key not in page.inner_text("body"), "the key must be shown only once"
    page.get_by_role("button", name="Revoke").click()
    page.get_by_role("button", name="Confirm revoke").click()
    page.get_by_text("No API keys yet.").wait_for()


def test_settings_change_is_saved(page, system: System) -> None:
    page.goto(system.ui_url + "/settings")
    page.locator("#page-title", has_text="Settings").wait_for()
    field = page.locator("#setting-general-app_name")
    field.fill("Comradarr e2e")
    page.get_by_role("button", name="Save").click()
    page.get_by_text("Saved.").wait_for()
    page.reload()
    assert page.locator("#setting-general-app_name").input_value() == "Comradarr e2e"


def _nats_url(system: System) -> str:
    log = (system.logs / "gateway.log").read_text(errors="replace")
    found = re.search(r'"embedded nats-server started".*?"url": "(nats://[^"]+)"', log)
    assert found, "the gateway log does not say where NATS is"
    return found.group(1)


def test_dashboard_shows_live_events(page, system: System) -> None:
    import asyncio
    import json
    from concurrent.futures import ThreadPoolExecutor

    import nats
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    page.goto(system.ui_url + "/")
    page.get_by_text("Live: waiting for activity").wait_for()

    async def publish() -> None:
        nc = await nats.connect(_nats_url(system))
        try:
            payload = {"connector_id": 1, "outcome": "completed", "fetched": 20}
            await nc.publish("comradarr.evt.sync.completed", json.dumps(payload).encode())
            await nc.flush()
        finally:
            await nc.close()

    # Playwright's sync API owns this thread's event loop: publish from another thread.
    # Plain NATS is fire-and-forget, so publish until the feed shows it.
    feed = page.get_by_text("outcome=completed").first
    with ThreadPoolExecutor(max_workers=1) as pool:
        for _ in range(20):
            pool.submit(lambda: asyncio.run(publish())).result(timeout=30)
            try:
                feed.wait_for(timeout=1000)
                break
            except PlaywrightTimeout:
                continue
    feed.wait_for()
    page.get_by_text("sync.completed").first.wait_for()
    shot(page, "dashboard-activity-desktop-light")


def pick(page, trigger: str, option: str) -> None:
    """Choose an option of a Radix select."""
    page.click(trigger)
    page.get_by_role("option", name=option, exact=True).click()


def test_schedule_from_the_cron_builder_then_run_now(page, system: System) -> None:
    page.goto(system.ui_url + "/schedules")
    page.locator("#page-title", has_text="Schedules").wait_for()
    page.click("#new-schedule")
    page.locator("#schedule-editor").wait_for()
    page.fill("#sched-name", "e2e sweep")
    pick(page, "#cron-preset", "Every 6 hours")
    page.wait_for_function("document.querySelector('#cron').value === '0 */6 * * *'")
    page.fill("#cron-field-1", "*/4")  # the hour field of the builder
    page.wait_for_function("document.querySelector('#cron').value === '0 */4 * * *'")
    page.locator("#cron-next").wait_for()  # the gateway's next runs for the new expression
    words = page.locator("#cron-words").inner_text()
    assert "4" in words and "Invalid" not in words, words
    pick(page, "#sched-sweep", "Gaps only")
    shot(page, "schedule-editor-desktop-light")
    page.click("#save-schedule")
    row = page.locator(".schedule-row", has_text="e2e sweep")
    row.wait_for()
    assert "0 */4 * * *" in row.inner_text()
    page.locator("#timeline").wait_for()
    row.locator(".run-now").click()
    page.get_by_text("Sweep requested").wait_for()
    # A second schedule firing at the same minutes shows up as an overlap on the timeline.
    page.click("#new-schedule")
    page.fill("#sched-name", "e2e hourly")
    pick(page, "#cron-preset", "Every hour")
    page.wait_for_function("document.querySelector('#cron').value === '0 * * * *'")
    page.click("#save-schedule")
    page.locator(".schedule-row", has_text="e2e hourly").wait_for()
    page.locator("#overlaps", has_text="e2e hourly").wait_for()
    shot(page, "schedules-timeline-desktop-light")


def test_throttle_profile_created_from_the_editor(page, system: System) -> None:
    page.goto(system.ui_url + "/schedules")
    page.click("#new-profile")
    page.locator("#profile-editor").wait_for()
    page.fill("#profile-name", "e2e gentle")
    page.fill("#profile-requests_per_minute", "1")
    page.fill("#profile-daily_budget", "abc")
    page.click("#save-profile")
    page.get_by_text("a number, please").wait_for()
    page.fill("#profile-daily_budget", "40")
    page.click("#save-profile")
    card = page.locator(".profile-card", has_text="e2e gentle")
    card.wait_for()
    assert "1/min" in card.inner_text() and "Budget 40" in card.inner_text()


def test_sweep_discovers_gaps_in_the_content_browser(page, system: System) -> None:
    page.goto(system.ui_url + "/content?type=episode&status=missing")
    page.locator("#page-title", has_text="Content").wait_for()
    rows = page.locator(".content-row")
    for _ in range(60):
        if rows.count() > 0:
            break
        page.wait_for_timeout(1500)
        page.reload()
        page.locator("#page-title", has_text="Content").wait_for()
        page.wait_for_timeout(500)
    rows.first.wait_for()
    assert "missing" in rows.first.inner_text()
    title = rows.first.locator(".content-title").inner_text()
    series = title.split()[0]
    page.fill("#content-search", series)  # debounced: no submit button
    page.wait_for_function(
        "(w) => [...document.querySelectorAll('.content-title')].every("
        "e => e.closest('.content-row').innerText.toLowerCase().includes(w))",
        arg=series.lower(),
    )
    page.fill("#content-search", "")
    rows.first.wait_for()


def test_bulk_queue_from_the_content_browser(page, system: System) -> None:
    page.goto(system.ui_url + "/content?type=episode&status=missing")
    rows = page.locator(".content-row")
    rows.first.wait_for()
    n = min(3, rows.count())
    for i in range(n):
        rows.nth(i).get_by_role("checkbox").click()
    page.locator("#bulk-count", has_text=f"{n} selected").wait_for()
    shot(page, "content-bulk-desktop-light")
    page.click("#bulk-queue")
    msg = page.locator("#bulk-msg")
    msg.wait_for()
    assert re.search(r"\d+ queued", msg.inner_text()), msg.inner_text()
    page.locator("#bulk-bar").wait_for(state="detached")


def _gateway(system: System, method: str, path: str, body: dict | None = None) -> None:
    """Call the gateway directly as the administrator (a session of its own)."""
    import json
    import urllib.request

    def send(method: str, path: str, body: dict | None, headers: dict[str, str]):
        req = urllib.request.Request(
            system.gateway_url + "/api/v1" + path,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Content-Type": "application/json", **headers},
            method=method,
        )
        return urllib.request.urlopen(req, timeout=20)

    with send("POST", "/auth/login", {"username": ADMIN[0], "password": ADMIN[1]}, {}) as r:
        cookie = r.headers["Set-Cookie"].split(";", 1)[0]
        csrf = json.loads(r.read())["csrf_token"]
    with send(method, path, body, {"Cookie": cookie, "X-CSRF-Token": csrf}) as r:
        assert r.status < 300, r.status


def test_queue_updates_live_then_pause_and_resume(page, system: System) -> None:
    page.goto(system.ui_url + "/queue")
    page.locator("#page-title", has_text="Queue").wait_for()
    page.locator("#queue-live").wait_for()
    page.locator(".queue-row").first.wait_for()
    page.locator(".recent-row").first.wait_for(timeout=60_000)  # searches finished
    page.locator("#queue-state", has_text="Running").wait_for()
    # Paused elsewhere (another tab, the API): this page follows without a reload.
    _gateway(system, "POST", "/queue/pause", {})
    page.locator("#queue-state", has_text="Paused").wait_for(timeout=20_000)
    shot(page, "queue-paused-desktop-light")
    page.click("#queue-resume")
    page.locator("#queue-state", has_text="Running").wait_for(timeout=20_000)
    page.click("#queue-pause")
    page.locator("#queue-state", has_text="Paused").wait_for(timeout=20_000)
    page.click("#queue-resume")
    page.locator("#queue-state", has_text="Running").wait_for(timeout=20_000)
    page.click("#queue-clear")  # asks first; cancelling keeps the queue
    page.get_by_role("alertdialog").wait_for()
    page.get_by_role("button", name="Cancel").click()
    page.get_by_role("alertdialog").wait_for(state="detached")
    assert page.locator(".queue-row").count() > 0


def test_every_screen_desktop_light(page, system: System) -> None:
    for name, path in SCREENS:
        page.goto(system.ui_url + path)
        page.wait_for_url(url_re(path.split("?")[0]))
        page.locator("#page-title").wait_for()
        shot(page, f"{name}-desktop-light")


def test_theme_toggle_persists(page, system: System) -> None:
    page.goto(system.ui_url + "/")
    page.locator("#page-title").wait_for()
    assert not is_dark(page)
    page.locator("#theme-toggle").locator("visible=true").first.click()
    page.wait_for_function("document.documentElement.classList.contains('dark')")
    page.reload()
    page.locator("#page-title").wait_for()
    assert is_dark(page), "dark mode did not survive a reload"
    for name, path in SCREENS:
        page.goto(system.ui_url + path)
        page.locator("#page-title").wait_for()
        assert is_dark(page)
        shot(page, f"{name}-desktop-dark")


def test_mobile_layout(page, system: System) -> None:
    page.set_viewport_size(MOBILE)
    try:
        for theme in ("dark", "light"):
            for name, path in SCREENS:
                page.goto(system.ui_url + path)
                page.locator("#page-title").wait_for()
                assert page.locator("#nav-menu").is_visible(), "no menu button on a phone"
                width = page.evaluate("document.documentElement.scrollWidth")
                assert width <= MOBILE["width"] + 1, f"{name}: page scrolls sideways ({width}px)"
                if name == "connectors":
                    box = page.locator("#connector-table [role=switch]").bounding_box()
                    assert box and box["x"] + box["width"] <= MOBILE["width"], box
                shot(page, f"{name}-mobile-{theme}")
            if theme == "dark":
                page.locator("#theme-toggle").locator("visible=true").first.click()
                page.wait_for_function("!document.documentElement.classList.contains('dark')")
        page.click("#nav-menu")
        page.get_by_role("menuitem", name="Connectors").click()
        page.wait_for_url(url_re("/connectors"))
    finally:
        page.set_viewport_size(DESKTOP)
