"""The Analytics page end to end: real searches against the Sonarr simulator show up in
its charts, comparison and insights; the period picker, connector filter and the CSV
export (downloaded and read back); light, dark and phone. Screenshots land in
tests/e2e/artifacts (analytics-*.png).

Runs on its own or after test_ui_flows.py (same system and browser page): it signs in or
sets up as needed and brings its own connector and sweep when there are none.
"""

from __future__ import annotations

import csv
import io
import re
import time
from datetime import date, datetime, timedelta
from typing import Any

import httpx

from tests.e2e.system import ADMIN, ARR_KEY, ARTIFACTS, System

DESKTOP = {"width": 1280, "height": 800}
MOBILE = {"width": 390, "height": 844}


def url_re(path: str) -> re.Pattern[str]:
    return re.compile(rf"^https?://[^/]+{re.escape(path.rstrip('/'))}/?(\?.*)?$")


def shot(page, name: str) -> None:
    page.wait_for_timeout(500)  # charts and transitions settle
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def is_dark(page) -> bool:
    return bool(page.evaluate("document.documentElement.classList.contains('dark')"))


def sign_in(page, system: System) -> None:
    """Reach /analytics as the admin: set the system up first if it never was, else log in
    when the browser has no session."""
    status = httpx.get(system.gateway_url + "/api/v1/setup/status", timeout=10).json()
    if status["setup_required"]:
        page.goto(system.ui_url + "/setup")
        page.locator("#setup-username").wait_for()
        page.fill("#setup-username", ADMIN[0])
        page.fill("#setup-password", ADMIN[1])
        page.fill("#setup-confirm", ADMIN[1])
        page.click("#setup-submit")
        page.wait_for_url(url_re("/"))
        page.locator("#page-title", has_text="Dashboard").wait_for()
    page.goto(system.ui_url + "/analytics")
    page.wait_for_selector("#page-title, #username")  # the page, or the login it sends to
    if page.locator("#username").count():
        page.fill("#username", ADMIN[0])
        page.fill("#password", ADMIN[1])
        page.click("#login-submit")
    page.wait_for_url(url_re("/analytics"))
    page.locator("#page-title", has_text="Analytics").wait_for()


def api(system: System) -> httpx.Client:
    client = httpx.Client(base_url=system.gateway_url + "/api/v1", timeout=30)
    r = client.post("/auth/login", json={"username": ADMIN[0], "password": ADMIN[1]})
    assert r.status_code == 200, r.text
    client.headers["X-CSRF-Token"] = r.json()["csrf_token"]
    return client


def searched(client: httpx.Client) -> float:
    r = client.get("/analytics/timeseries", params={"metric": "searches", "range": "24h"})
    assert r.status_code == 200, r.text
    return float(r.json()["series"][0]["total"] or 0)


def ensure_searches(system: System) -> dict[str, Any]:
    """A connector for the simulator that has searched (created and swept if needed)."""
    client = api(system)
    try:
        connectors = client.get("/connectors").json()
        if not connectors:
            r = client.post(
                "/connectors",
                json={
                    "type": "sonarr",
                    "name": "Sim TV",
                    "url": system.arr_url,
                    "api_key": ARR_KEY,
                },
            )
            assert r.status_code == 201, r.text
            connectors = [r.json()]
        connector = connectors[0]
        if searched(client) == 0:
            r = client.post(
                "/schedules",
                json={
                    "connector_id": connector["id"],
                    "cron": "0 3 * * *",
                    "name": "analytics e2e",
                },
            )
            assert r.status_code == 201, r.text
            assert client.post(f"/schedules/{r.json()['id']}/run-now").status_code == 202
        deadline = time.monotonic() + 180
        while searched(client) == 0:
            assert time.monotonic() < deadline, "no search reached analytics within 3 minutes"
            time.sleep(2)
        return dict(connector)
    finally:
        client.close()


def test_analytics_page_shows_the_searches(page, system: System) -> None:
    sign_in(page, system)  # sets the system up when this file runs on its own
    connector = ensure_searches(system)
    page.reload()
    page.locator("#page-title", has_text="Analytics").wait_for()
    cards = page.locator("#analytics-cards .stat-card")
    cards.first.wait_for()
    assert cards.count() == 8
    searches = cards.filter(has_text="Searches").locator(".stat-value").inner_text()
    assert int(searches.replace(",", "")) > 0, searches
    # Every chart draws (recharts SVG surfaces), the period says what it covers.
    page.wait_for_function(
        "document.querySelectorAll('.analytics-chart .recharts-surface').length >= 8"
    )
    assert "hourly buckets" in page.locator("#period-text").inner_text()
    assert page.locator("#chart-searches .recharts-bar-rectangle").count() > 0
    row = page.locator(".comparison-row", has_text=connector["name"])
    row.wait_for()
    assert re.search(r"\d", row.inner_text())
    for _ in range(20):  # insights are computed at most every 15 s: the sweep may be newer
        if page.locator("#most-searched .insight-row").count():
            break
        page.wait_for_timeout(2000)
        page.reload()
        page.locator("#analytics-cards .stat-card").first.wait_for()
    page.locator("#most-searched .insight-row").first.wait_for()
    page.locator("#quality-distribution .quality-row").first.wait_for()
    shot(page, "analytics-desktop-light")


def test_period_picker_and_connector_filter(page, system: System) -> None:
    sign_in(page, system)
    page.locator("#period-picker").get_by_role("radio", name="30d").click()
    page.wait_for_function(
        "document.querySelector('#period-text').innerText.includes('daily buckets')"
    )
    page.locator("#period-picker").get_by_role("radio", name="Custom").click()
    page.locator("#custom-from").wait_for()
    page.fill("#custom-from", (date.today() - timedelta(days=2)).isoformat())
    page.fill("#custom-to", date.today().isoformat())
    page.click("#custom-apply")
    page.wait_for_function(
        "document.querySelector('#period-text').innerText.includes('hourly buckets')"
    )
    page.click("#connector-filter")
    options = page.get_by_role("option")
    options.nth(1).wait_for()
    name = options.nth(1).inner_text()
    options.nth(1).click()
    page.wait_for_function(
        "(n) => document.querySelector('#connector-filter').innerText.includes(n)", arg=name
    )
    page.locator(".stat-card").first.wait_for()
    page.locator("#period-picker").get_by_role("radio", name="7d").click()
    page.wait_for_function(
        "document.querySelector('#period-text').innerText.includes('hourly buckets')"
    )


def test_export_dialog_downloads_the_csv(page, system: System) -> None:
    sign_in(page, system)
    page.click("#export-open")
    dialog = page.get_by_role("dialog")
    dialog.wait_for()
    shot(page, "analytics-export-desktop-light")
    # A reversed range is refused in the dialog, before any download.
    page.fill("#export-from", date.today().isoformat())
    page.fill("#export-to", (date.today() - timedelta(days=3)).isoformat())
    page.click("#export-download")
    dialog.get_by_text("The last day is before the first.").wait_for()
    page.fill("#export-from", (date.today() - timedelta(days=1)).isoformat())
    page.fill("#export-to", date.today().isoformat())
    page.click("#export-bucket")
    page.get_by_role("option", name="Hour").click()
    with page.expect_download(timeout=60_000) as info:
        page.click("#export-download")
    download = info.value
    assert download.suggested_filename.endswith(".csv")
    path = ARTIFACTS / "analytics-export.csv"
    download.save_as(str(path))
    raw = path.read_bytes()
    assert b"\r\n" in raw  # RFC 4180 line breaks
    rows = list(csv.reader(io.StringIO(raw.decode(), newline="")))
    assert rows[0][:3] == ["time", "connector_id", "connector"]
    assert "searches" in rows[0] and "response_p95" in rows[0]
    body = rows[1:]
    assert len(body) >= 24  # two days of hours for each connector
    searches = rows[0].index("searches")
    assert sum(int(r[searches] or 0) for r in body) > 0
    assert all(datetime.fromisoformat(r[0]).tzinfo is not None for r in body)
    dialog.wait_for(state="detached")


def test_dark_and_phone(page, system: System) -> None:
    sign_in(page, system)
    page.locator(".analytics-chart").first.wait_for()
    toggle = page.locator(".theme-toggle").locator("visible=true").first
    if not is_dark(page):
        toggle.click()
        page.wait_for_function("document.documentElement.classList.contains('dark')")
    try:
        page.wait_for_function("document.querySelectorAll('.recharts-surface').length >= 8")
        shot(page, "analytics-desktop-dark")
        page.set_viewport_size(MOBILE)
        for theme in ("dark", "light"):
            page.reload()
            page.locator("#page-title", has_text="Analytics").wait_for()
            page.wait_for_function("document.querySelectorAll('.recharts-surface').length >= 8")
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= MOBILE["width"] + 1, f"the page scrolls sideways ({width}px)"
            assert page.locator("#nav-menu").is_visible()
            shot(page, f"analytics-mobile-{theme}")
            if theme == "dark":
                page.locator(".theme-toggle").locator("visible=true").first.click()
                page.wait_for_function("!document.documentElement.classList.contains('dark')")
    finally:
        page.set_viewport_size(DESKTOP)
        if is_dark(page):  # leave the page as the other files expect it: light
            page.locator(".theme-toggle").locator("visible=true").first.click()
            page.wait_for_function("!document.documentElement.classList.contains('dark')")
