"""The UI end to end in headless Chromium, against a real gateway and a Sonarr simulator.

The tests run in file order and share one browser page (setup happens once per system).
"""

from __future__ import annotations

import json
import re
import subprocess
import time
import urllib.request

from tests.e2e.system import ADMIN, ARR_KEY, ARTIFACTS, REPO, System

# When the first connector was saved (the closing figure counts from there).
FIRST_HOUR: dict[str, float] = {}

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
    # The form says which schedules saving creates.
    planned = page.locator("#planned-schedules")
    planned.filter(has_text="Hourly incremental sweep").wait_for()
    assert "Weekly full sweep" in planned.inner_text()
    shot(page, "connector-form-passed-desktop-light")
    page.click("#save-connector")
    FIRST_HOUR["saved"] = time.monotonic()
    page.get_by_text("its first full sync has started").wait_for()
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


def _arr_commands(system: System) -> list[dict]:
    req = urllib.request.Request(system.arr_url + "/api/v3/command", headers={"X-Api-Key": ARR_KEY})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return list(json.loads(resp.read()))


def test_first_search_reaches_the_app_without_touching_schedules(page, system: System) -> None:
    """Saving the connector was the only step: its first sweep searches at the app."""
    searches: list[dict] = []
    deadline = time.monotonic() + 120
    while not searches and time.monotonic() < deadline:
        searches = [c for c in _arr_commands(system) if str(c.get("name", "")).endswith("Search")]
        if not searches:
            time.sleep(0.25)
    assert searches, "no search reached the simulator within 2 minutes"
    seconds = round(time.monotonic() - FIRST_HOUR["saved"], 1)
    (ARTIFACTS / "first_hour.json").write_text(
        json.dumps({"seconds_from_saving_the_connector_to_the_first_search": seconds})
    )
    print(f"first search at the simulator {seconds} s after saving the connector")
    # The default schedules are there to edit, without anyone having made them.
    page.goto(system.ui_url + "/schedules")
    page.locator(".schedule-row", has_text="Hourly incremental sweep").wait_for()
    page.locator(".schedule-row", has_text="Weekly full sweep").wait_for()
    # The queue filled by itself.
    page.goto(system.ui_url + "/queue")
    page.locator(".queue-row").first.wait_for(timeout=60_000)


def test_a_second_tab_is_signed_in(page, system: System) -> None:
    """The session is an HttpOnly cookie: a new tab (a fresh UI state, as after a restart
    of the UI) is signed in, and page scripts cannot read it."""
    tab = page.context.new_page()
    try:
        response = tab.goto(system.ui_url + "/queue")
        tab.locator("#page-title", has_text="Queue").wait_for()
        assert tab.locator("#current-user").inner_text() == ADMIN[0]
        assert "comradarr_ui_session" not in tab.evaluate("document.cookie")
        cookie = next(c for c in page.context.cookies() if c["name"] == "comradarr_ui_session")
        assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
        # The UI's own answers carry the gateway's security headers.
        assert response is not None
        headers = response.headers
        assert headers["x-frame-options"] == "DENY"
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
        assert headers["x-content-type-options"] == "nosniff"
    finally:
        tab.close()


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


def _database_figures(system: System) -> dict[str, int]:
    """The five figures counted straight from the embedded database."""
    import asyncio

    import asyncpg
    from comradarr_runtime._embedded import attach_to_running

    assert system.data_dir is not None
    database_url, _ = attach_to_running(system.data_dir)

    async def count() -> dict[str, int]:
        conn = await asyncpg.connect(database_url)
        try:
            # Nothing in flight: the counts hold still while the page is read.
            for _ in range(120):
                if not await conn.fetchval(
                    "SELECT count(*) FROM dispatch_commands WHERE status IN ('sending', 'searching')"
                ):
                    break
                await asyncio.sleep(0.5)
            row = await conn.fetchrow(
                "SELECT (SELECT count(*) FROM search_registry WHERE search_type = 'gap') AS gaps,"
                " (SELECT count(*) FROM search_registry WHERE search_type IN ('upgrade', 'format'))"
                "  AS upgrades,"
                " (SELECT count(*) FROM search_registry WHERE state <> 'exhausted') AS queued,"
                " (SELECT count(*) FROM search_history WHERE ended_at >= date_trunc('day',"
                "   now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC') AS searched,"
                " (SELECT count(*) FILTER (WHERE outcome = 'found') FROM search_history"
                "   WHERE ended_at >= date_trunc('day', now() AT TIME ZONE 'UTC')"
                "   AT TIME ZONE 'UTC') AS found"
            )
            assert row is not None
            return dict(row)
        finally:
            await conn.close()

    # Playwright's sync API owns this thread's event loop: count from another thread.
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(count())).result(timeout=120)


def test_dashboard_figures_equal_the_database(page, system: System) -> None:
    _gateway(system, "POST", "/queue/pause", {})
    try:
        db = _database_figures(system)
        page.goto(system.ui_url + "/")
        page.locator("#page-title", has_text="Dashboard").wait_for()
        page.locator("#fig-gaps").wait_for()
        page.wait_for_timeout(6000)  # one refresh after the counts above

        def figure(key: str) -> str:
            return page.locator(f"#fig-{key} .figure-value").inner_text().replace(",", "")

        assert db["searched"] > 0
        assert figure("gaps") == str(db["gaps"])
        assert figure("upgrades") == str(db["upgrades"])
        assert figure("queued") == str(db["queued"])
        assert figure("searched-today") == str(db["searched"])
        assert figure("success-rate") == f"{db['found'] * 100 / db['searched']:.0f}%"
        card = page.locator(".completion-card").first
        assert re.search(r"\d+(\.\d)?%", card.inner_text()), card.inner_text()
        # The feed, from the database, in sentences naming connector and items.
        rows = page.locator("#activity-feed .activity-text")
        rows.first.wait_for()
        texts = rows.all_inner_texts()
        assert 0 < len(texts) <= 50
        assert any(
            # an episode ("S02E03") or a season pack ("season 2"), whichever went first
            re.match(r"Sonarr \(simulated\) · .+ (S\d\dE\d\d.*|season \d+) searched: ", t)
            for t in texts
        ), texts
        assert not any("_id" in t or "{" in t for t in texts)
        pick_kind(page, "Syncs")
        page.wait_for_function(
            "() => [...document.querySelectorAll('#activity-feed .activity-text')]"
            ".every(e => e.innerText.includes('sync'))"
        )
        pick_kind(page, "All")
        shot(page, "dashboard-activity-desktop-light")
    finally:
        _gateway(system, "POST", "/queue/resume", {})


def pick_kind(page, label: str) -> None:
    page.locator("#activity-kind").get_by_role("radio", name=label).click()


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
    # Started, or refused with the reason (a sweep of the connector still running).
    page.get_by_text(re.compile(r"Sweep started|sweep not started: .+")).first.wait_for()
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
    # An episode row says its series under its title: "Burning Station · S03E04 · …".
    found = re.search(r"\n(\S+)[^\n]* · S\d\dE\d\d", rows.first.inner_text())
    assert found, rows.first.inner_text()
    series = found.group(1)
    page.fill("#content-search", series)  # debounced: no submit button
    page.wait_for_function(
        "(w) => [...document.querySelectorAll('.content-title')].every("
        "e => e.closest('.content-row').innerText.toLowerCase().includes(w))",
        arg=series.lower(),
    )
    rows.first.wait_for()
    # The address keeps the filters: a reload shows the same page.
    page.wait_for_url(re.compile(r"/content/?\?.*q=" + re.escape(series)))
    page.reload()
    page.locator("#page-title", has_text="Content").wait_for()
    assert page.locator("#content-search").input_value() == series
    # Episodes' own titles on request ("Search in: Episode titles"), kept in the address too.
    title = page.locator(".content-title").first.inner_text().strip()
    pick(page, "#search-match", "Episode titles")
    page.fill("#content-search", title)
    page.wait_for_url(re.compile(r"match=episode"))
    page.wait_for_function(
        "(w) => { const t = [...document.querySelectorAll('.content-title')];"
        " return t.length > 0 && t.every(e => e.innerText.toLowerCase().includes(w)); }",
        arg=title.lower(),
    )
    pick(page, "#search-match", "Series titles")
    page.fill("#content-search", series)
    rows.first.wait_for()
    # The Title column sorts (A-Z, then Z-A), and the address says so.
    page.click("#sort-title")
    page.wait_for_url(re.compile(r"sort=-title"))
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


def test_top_priority_reranks_at_once(page, system: System) -> None:
    _gateway(system, "POST", "/queue/pause", {})  # the order holds still meanwhile
    try:
        page.goto(system.ui_url + "/queue")
        rows = page.locator(".queue-row")
        rows.first.wait_for()
        page.wait_for_timeout(1000)
        texts = rows.all_inner_texts()
        waiting = ("retry after", "waits until", "searching", "queued:")
        candidates = [i for i, t in enumerate(texts) if not any(w in t for w in waiting)]
        assert len(candidates) >= 2, texts
        chosen = candidates[-1]
        title = rows.nth(chosen).locator("a").first.inner_text()
        rows.nth(chosen).locator(".item-menu").click()
        page.get_by_role("menuitem", name="Top (+100)").click()

        def first_eligible() -> str:
            for row_text, row in zip(rows.all_inner_texts(), rows.all(), strict=True):
                if not any(w in row_text for w in waiting):
                    return row.locator("a").first.inner_text()
            return ""

        for _ in range(40):
            if first_eligible() == title:
                break
            page.wait_for_timeout(250)
        assert first_eligible() == title
        shot(page, "queue-reranked-desktop-light")
    finally:
        _gateway(system, "POST", "/queue/resume", {})


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
    page.locator(".theme-toggle").locator("visible=true").first.click()
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
                page.locator(".theme-toggle").locator("visible=true").first.click()
                page.wait_for_function("!document.documentElement.classList.contains('dark')")
        page.click("#nav-menu")
        page.get_by_role("menuitem", name="Connectors").click()
        page.wait_for_url(url_re("/connectors"))
    finally:
        page.set_viewport_size(DESKTOP)


def test_delete_asks_first_and_takes_the_schedules_along(page, system: System) -> None:
    page.goto(system.ui_url + "/connectors")
    page.locator("#connector-table .connector-actions").first.click()
    page.get_by_role("menuitem", name="Delete…").click()
    dialog = page.get_by_role("alertdialog")
    dialog.wait_for()
    assert "Sonarr (simulated)" in dialog.inner_text()
    assert re.search(r"Its [1-9]\d* schedule", dialog.inner_text()), dialog.inner_text()
    page.get_by_role("button", name="Cancel").click()
    dialog.wait_for(state="detached")
    assert page.locator("#connector-table").get_by_text("Sonarr (simulated)").is_visible()
    page.locator("#connector-table .connector-actions").first.click()
    page.get_by_role("menuitem", name="Delete…").click()
    page.click("#confirm-delete-connector")
    page.locator(".empty-state").wait_for()
    page.goto(system.ui_url + "/schedules")
    page.locator("#page-title", has_text="Schedules").wait_for()
    page.wait_for_timeout(500)
    assert page.locator(".schedule-row").count() == 0


def test_the_ui_built_with_the_wheels_and_left_the_tree_clean(system: System) -> None:
    log = (system.logs / "ui.log").read_text(errors="replace")
    assert "out of date" not in log and "Node.js" not in log, log[-2000:]
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--", "ui"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert dirty == "", dirty
