"""Settings → Notifications in headless Chromium: add a webhook channel, "Send test", see it
arrive at a local receiver; the connector page's webhook fields.

Runs after test_ui_flows.py (file order) on the same system, and on its own too.
"""

from __future__ import annotations

import json
import re
import urllib.request

from tests.e2e.system import ADMIN, System
from tests.e2e.test_ui_flows import login, shot, url_re
from tests.support.receivers import http_receiver


def signed_in(page, system: System, path: str) -> None:
    """Open path, going through first-run setup or login on the way when needed."""
    status = urllib.request.urlopen(system.gateway_url + "/api/v1/setup/status", timeout=10)
    if json.loads(status.read())["setup_required"]:
        page.goto(system.ui_url + "/setup")
        page.wait_for_url(url_re("/setup"))
        page.fill("#setup-username", ADMIN[0])
        page.fill("#setup-password", ADMIN[1])
        page.fill("#setup-confirm", ADMIN[1])
        page.click("#setup-submit")
    else:
        page.goto(system.ui_url + "/login")
        page.wait_for_timeout(1500)  # a signed-in browser is sent on to the dashboard
        if "/login" in page.url:
            login(page, system)
    page.locator("#page-title", has_text="Dashboard").wait_for()
    page.goto(system.ui_url + path)
    page.wait_for_url(url_re(path))


def test_add_a_webhook_channel_send_test_and_see_it_arrive(page, system: System) -> None:
    with http_receiver() as web:
        signed_in(page, system, "/settings/notifications")
        page.locator("#page-title", has_text="Notifications").wait_for()
        page.locator(".empty-state").first.wait_for()
        page.click("#add-channel")
        page.locator("#channel-form").wait_for()
        page.fill("#channel-name", "Local hook")
        hook = f"http://{web.base}/e2e-hook-secret"
        page.fill("#channel-field-url", hook)
        page.click("#event-all")  # untick "every event", then pick two
        page.click("#event-search_found")
        page.click("#event-connector_offline")
        page.fill("#channel-digest", "15")
        page.click("#channel-quiet")
        page.get_by_text("held, not dropped").wait_for()
        shot(page, "notifications-form-desktop-light")
        page.click("#channel-save")
        card = page.locator(".channel-card", has_text="Local hook")
        card.wait_for()
        assert "untested" in card.inner_text()
        card.locator(".send-test").click()
        page.locator("#test-result", has_text="Test sent").wait_for()
        got = web.at("/e2e-hook-secret")
        assert len(got) == 1, web.requests
        assert got[0].json()["title"].endswith("· test")
        assert "Local hook" in got[0].json()["message"]
        body = page.inner_text("body")
        assert hook not in body and "e2e-hook-secret" not in body  # masked to the last four
        assert "Searches found" in card.inner_text() and "digest 15 min" in card.inner_text()
        card.get_by_text("ok", exact=True).wait_for()  # the channel's status after the test
        shot(page, "notifications-desktop-light")
        # A failing receiver: the test says so.
        web.status = 500
        card.locator(".send-test").click()
        page.locator("#test-result", has_text="failed").wait_for()
        card.get_by_text("test failed", exact=True).wait_for()
        assert "e2e-hook-secret" not in page.inner_text("body")


def test_the_connector_page_shows_what_to_paste_for_the_webhook(page, system: System) -> None:
    signed_in(page, system, "/connectors")
    with urllib.request.urlopen(system.gateway_url + "/health", timeout=10):
        pass
    links = page.locator("a[href^='/connector?id=']")
    page.wait_for_timeout(1000)
    if links.count() == 0:  # run on its own: no connector was added
        return
    links.first.click()
    page.wait_for_url(re.compile(r"/connector/?\?id=\d+"))
    page.click("#webhook-create")
    password = page.locator("#webhook-password")
    password.wait_for()
    assert len(password.inner_text().strip()) >= 40
    assert "/api/v1/webhooks/arr/" in page.locator("#webhook-url").inner_text()
    assert page.locator("#webhook-username").inner_text().strip() == "comradarr"
    shot(page, "connector-webhook-desktop-light")
    token = password.inner_text().strip()
    page.reload()
    page.locator("#webhook-password", has_text="****").wait_for()
    assert token not in page.inner_text("body")  # shown once
