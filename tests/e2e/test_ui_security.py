"""Security screens end to end (issue 20): password change, sessions with revoke, the app
name in the brand, /docs with no internet, and the whole UI under BASE_URL behind a proxy.

Runs after test_ui_flows.py (file order) on the same system; it signs itself in whatever
state it finds (setup included), and leaves the password as it found it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from tests.e2e.system import ADMIN, ARTIFACTS, PROXIED_CLIENT, System

NEW_PASSWORD = "e2e a brand new passphrase 42"
BASE = "/comradarr"
# Setup and sign-in hash with Argon2 and rebuild the page: generous on a busy machine.
SLOW = 60_000


def shot(page, name: str) -> None:
    page.wait_for_timeout(400)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def at(path: str, base: str = "") -> re.Pattern[str]:
    """The page at base+path (Reflex may add a trailing slash), with any query."""
    return re.compile(rf"^https?://[^/]+{re.escape(base + path.rstrip('/'))}/?(\?.*)?$")


def sign_in(page, system: System, password: str = ADMIN[1], base: str = "") -> None:
    """Open /security signed in: setup first on a fresh system (asked of the gateway, not
    read off a page that is still redirecting), else the login form if it is shown."""
    status = page.request.get(system.gateway_url + "/api/v1/setup/status").json()
    if status["setup_required"]:
        page.goto(system.ui_url + "/setup")
        page.fill("#setup-username", ADMIN[0])
        page.fill("#setup-password", password)
        page.fill("#setup-confirm", password)
        page.click("#setup-submit")
        page.locator("#page-title", has_text="Dashboard").wait_for(timeout=SLOW)
    page.goto(system.ui_url + "/security")
    login, title = page.locator("#login-submit"), page.locator("#page-title", has_text="Security")
    login.or_(title).first.wait_for(timeout=SLOW)
    if login.is_visible():
        page.fill("#username", ADMIN[0])
        page.fill("#password", password)
        page.click("#login-submit")
    title.wait_for(timeout=SLOW)
    page.wait_for_url(at("/security", base))


@pytest.fixture
def shared(page) -> Iterator[object]:
    """The session's shared page, with this file's patience (given back afterwards)."""
    page.set_default_timeout(SLOW)
    yield page
    page.set_default_timeout(20_000)


@pytest.fixture
def other_browser(browser) -> Iterator[object]:
    context = browser.new_context(
        viewport={"width": 390, "height": 844},
        user_agent="Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Firefox/120.0",
    )
    other = context.new_page()
    other.set_default_timeout(SLOW)
    yield other
    context.close()


def test_sessions_are_listed_and_one_is_signed_out(shared, other_browser, system: System) -> None:
    page = shared
    sign_in(page, system)
    sign_in(other_browser, system)
    page.reload()
    # The list refreshes on load (the one shown first may predate the phone's sign-in).
    phone = page.locator("#sessions .session-row", has_text="Firefox on iPhone")
    phone.wait_for()
    assert phone.count() == 1
    assert page.locator("#sessions .session-row").count() >= 2
    current = page.locator("#sessions .current-session")
    assert current.count() == 1 and "this browser" in current.inner_text()
    shot(page, "security-desktop-light")
    phone.get_by_role("button", name="Sign out").click()
    phone.get_by_role("button", name="Confirm sign-out").click()
    page.locator("#sessions .session-row", has_text="Firefox on iPhone").wait_for(state="detached")
    # The phone's next page asks it to sign in again; this browser stays signed in.
    other_browser.goto(system.ui_url + "/connectors")
    other_browser.wait_for_url(re.compile(r"/login/?\?next="))
    page.goto(system.ui_url + "/connectors")
    page.wait_for_url(at("/connectors"))


def test_password_change_checks_then_signs_others_out(
    shared, other_browser, system: System
) -> None:
    page = shared
    sign_in(page, system)
    sign_in(other_browser, system)
    page.reload()
    page.locator("#page-title", has_text="Security").wait_for()
    page.fill("#current-password", "not the password")
    page.fill("#new-password", NEW_PASSWORD)
    page.fill("#confirm-password", NEW_PASSWORD)
    page.click("#change-password")
    page.locator("#password-error", has_text="current password is wrong").wait_for()
    page.fill("#current-password", ADMIN[1])
    page.fill("#confirm-password", NEW_PASSWORD + "x")
    page.click("#change-password")
    page.locator("#password-error", has_text="differ").wait_for()
    page.fill("#confirm-password", NEW_PASSWORD)
    page.click("#change-password")
    page.locator("#password-done").wait_for()
    assert page.locator("#sessions .session-row").count() == 1  # only this one is left
    shot(page, "security-password-changed-desktop-light")
    other_browser.goto(system.ui_url + "/connectors")
    other_browser.wait_for_url(re.compile(r"/login/?\?next="))
    other_browser.fill("#username", ADMIN[0])
    other_browser.fill("#password", ADMIN[1])
    other_browser.click("#login-submit")
    other_browser.get_by_text("Wrong username or password.").wait_for()
    other_browser.fill("#password", NEW_PASSWORD)
    other_browser.click("#login-submit")
    other_browser.wait_for_url(at("/connectors"))
    shot(other_browser, "security-mobile-light")
    # Back to the password the other tests use.
    page.fill("#current-password", NEW_PASSWORD)
    page.fill("#new-password", ADMIN[1])
    page.fill("#confirm-password", ADMIN[1])
    page.click("#change-password")
    page.locator("#password-done").wait_for()


def test_app_name_replaces_the_brand(shared, system: System) -> None:
    page = shared
    sign_in(page, system)
    page.goto(system.ui_url + "/settings")
    name = page.locator("#setting-general-app_name")
    name.wait_for()
    name.fill("Media Butler")
    page.get_by_role("button", name="Save").click()
    page.get_by_text("Saved.").wait_for()
    page.locator(".brand", has_text="Media Butler").first.wait_for()
    page.click("#logout")
    page.wait_for_url(at("/login"))
    page.locator(".brand", has_text="Media Butler").first.wait_for()  # before signing in too
    sign_in(page, system)
    page.goto(system.ui_url + "/settings")
    page.locator("#setting-general-app_name").fill("Comradarr")
    page.get_by_role("button", name="Save").click()
    page.get_by_text("Saved.").wait_for()
    page.locator(".brand", has_text="Comradarr").first.wait_for()


def test_api_key_with_its_own_request_limit(shared, system: System) -> None:
    page = shared
    sign_in(page, system)
    page.goto(system.ui_url + "/api-keys")
    page.locator("#page-title", has_text="API keys").wait_for()
    page.fill("#new-key-name", "slow poller")
    page.fill("#new-key-rate", "120")
    page.click("#create-key")
    page.locator("#new-key-value").wait_for()
    row = page.locator("tr", has_text="slow poller")
    row.locator(".key-rate", has_text="120/min").wait_for()
    row.get_by_role("button", name="Revoke").click()
    row.get_by_role("button", name="Confirm revoke").click()
    row.wait_for(state="detached")


def test_api_docs_render_with_no_internet(browser, system: System) -> None:
    context = browser.new_context()
    elsewhere: list[str] = []

    def only_loopback(route) -> None:
        if re.match(r"^https?://127\.0\.0\.1[:/]", route.request.url):
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort()

    context.route("**/*", only_loopback)
    docs = context.new_page()
    try:
        docs.goto(system.gateway_url + "/docs")
        docs.locator(".swagger-ui .info .title", has_text="Comradarr").wait_for(timeout=30_000)
        docs.locator(".opblock-summary-path", has_text="/api/v1/connectors").first.wait_for()
        docs.locator("button.authorize").wait_for()  # the declared security schemes
        shot(docs, "api-docs-offline")
    finally:
        context.close()
    assert elsewhere == []


@pytest.fixture(scope="module")
def based_system() -> Iterator[System]:
    """A second system with BASE_URL=/comradarr, reached only through a reverse proxy."""
    from tests.e2e.system import running_system

    with running_system(base_url=BASE) as running:
        yield running


def test_everything_under_base_url_through_a_proxy(browser, based_system: System) -> None:
    assert based_system.ui_url.endswith(BASE) and based_system.proxy_url
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.set_default_timeout(SLOW)
    try:
        page.goto(based_system.ui_url + "/connectors")
        page.wait_for_url(at("/setup", BASE))
        sign_in(page, based_system, base=BASE)
        # The browser's address went proxy -> UI -> gateway (each hop trusted in turn).
        page.locator("#sessions .current-session", has_text=PROXIED_CLIENT).wait_for()
        page.get_by_role("link", name="Connectors").first.click()
        page.wait_for_url(at("/connectors", BASE))
        page.locator("#page-title", has_text="Connectors").wait_for()
        page.get_by_role("link", name="Dashboard").first.click()
        page.wait_for_url(at("/", BASE))
        shot(page, "base-url-dashboard-desktop-light")
        page.goto(based_system.ui_url + "/settings")
        page.locator("#page-title", has_text="Settings").wait_for()
        page.click("#logout")
        page.wait_for_url(at("/login", BASE))
        page.goto(based_system.ui_url + "/security")
        page.wait_for_url(re.compile(rf"{BASE}/login/?\?next=%2Fsecurity"))
        # The gateway's own pages through the same proxy.
        page.goto(based_system.proxy_url + BASE + "/docs")
        page.locator(".swagger-ui .info .title", has_text="Comradarr").wait_for(timeout=30_000)
        api = context.request.get(based_system.proxy_url + BASE + "/api/v1/setup/status")
        assert api.ok and api.json()["setup_required"] is False
        spec = context.request.get(based_system.proxy_url + BASE + "/openapi.json").json()
        assert spec["servers"] == [{"url": BASE}]
        outside = context.request.get(based_system.proxy_url + "/api/v1/setup/status")
        assert outside.status == 404
    finally:
        context.close()
