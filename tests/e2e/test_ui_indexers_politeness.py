"""Indexer health and download-queue backpressure in headless Chromium: a Prowlarr simulator
of this module's own next to the session's system, the Indexers page, and the queue page
saying why a connector's searches wait. Screenshots go to tests/e2e/artifacts.

Works whether or not the main UI flows ran before (it signs in, or sets up, as needed).
"""

from __future__ import annotations

import json
import os
import re
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.system import (
    ADMIN,
    ARR_KEY,
    ARTIFACTS,
    BIN,
    REPO,
    System,
    _start,
    _stop,
    free_port,
    wait_http,
)

PROWLARR_KEY = "e2e-prowlarr-key-0123456789abcdef"


def shot(page, name: str) -> None:
    page.wait_for_timeout(400)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


@pytest.fixture(scope="module")
def prowlarr(system: System) -> Iterator[str]:
    """A Prowlarr simulator (its clock the host's) for this module."""
    port = free_port()
    log = Path(system.logs) / "prowlarr.log"
    proc = _start(
        [str(BIN / "comradarr"), "arrsim", "--type", "prowlarr", "--host", "127.0.0.1",
         "--port", str(port), "--api-key", PROWLARR_KEY, "--indexers", "5"],
        {k: v for k, v in os.environ.items() if not k.startswith("COMRADARR_")},
        log,
        REPO,
    )  # fmt: skip
    try:
        wait_http(f"http://127.0.0.1:{port}/ping", 60, proc, log)
        yield f"http://127.0.0.1:{port}"
    finally:
        _stop(proc)


def _post(url: str, body: Any) -> None:
    req = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        assert resp.status < 300


@pytest.fixture(scope="module")
def api(system: System) -> Iterator[httpx.Client]:
    """The gateway as the admin (set up first when no one has)."""
    client = httpx.Client(base_url=system.gateway_url + "/api/v1", timeout=30)
    creds = {"username": ADMIN[0], "password": ADMIN[1]}
    if client.get("/setup/status").json().get("setup_required"):
        assert client.post("/setup", json=creds).status_code == 201
    r = client.post("/auth/login", json=creds)
    assert r.status_code == 200, r.text
    client.headers["X-CSRF-Token"] = r.json()["csrf_token"]
    yield client
    client.close()


def _signed_in(page, system: System, path: str) -> None:
    """Open path, signing in first when the app sends the browser to the login page."""
    page.goto(system.ui_url + path)
    page.locator("#username, #page-title").first.wait_for()
    if page.locator("#username").count():
        page.fill("#username", ADMIN[0])
        page.fill("#password", ADMIN[1])
        page.click("#login-submit")
        page.wait_for_url(re.compile(re.escape(path.split("?")[0].rstrip("/")) + r"/?(\?.*)?$"))


def _wait(what: str, check: Any, timeout: float = 90) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(1)
    raise AssertionError(f"{what}: not within {timeout}s")


def test_indexers_page_shows_prowlarr_indexer_health(
    page, system: System, prowlarr: str, api: httpx.Client
) -> None:
    # Indexer 1 failed and its disable ran out, 2 is rate limited for half an hour, 3 is
    # disabled by Prowlarr for an hour (the simulator's own), 5 is switched off.
    _post(f"{prowlarr}/__sim/indexers/1", {"disabledFor": -120})
    _post(f"{prowlarr}/__sim/indexers/2", {"disabledFor": 1800, "message": "Query limit reached"})
    _post(f"{prowlarr}/__sim/indexers/5", {"enable": False})
    r = api.post(
        "/connectors",
        json={"type": "prowlarr", "name": "Prowlarr (simulated)", "url": prowlarr,
              "api_key": PROWLARR_KEY},
    )  # fmt: skip
    assert r.status_code == 201, r.text
    # The scheduler polls a new Prowlarr within seconds.
    _wait("first indexer poll", lambda: api.get("/indexers").json()["indexers"])
    _signed_in(page, system, "/indexers")
    page.locator("#page-title", has_text="Indexers").wait_for()
    page.locator("#indexer-table").wait_for()
    rows = page.locator(".indexer-row")
    assert rows.count() == 5
    table = page.inner_text("#indexer-table")
    for name in ("NZBgeek", "DrunkenSlug", "1337x", "TorrentLeech", "NZBFinder"):
        assert name in table

    def row(name: str) -> Any:
        return page.locator(".indexer-row").filter(has=page.get_by_text(name, exact=True))

    drunken = row("DrunkenSlug")
    assert "rate limited" in drunken.inner_text() and "Query limit reached" in drunken.inner_text()
    assert re.search(r"in (2\d|30) min", drunken.locator(".indexer-until").inner_text())
    assert "failing" in row("NZBgeek").inner_text()
    assert "disabled" in row("NZBFinder").inner_text()
    assert "healthy" in row("TorrentLeech").inner_text()
    summary = page.inner_text("#indexer-summary")
    assert "1 healthy" in summary and "2 rate limited" in summary, summary
    shot(page, "indexers-desktop-light")
    # The dashboard's card says the same at a glance and leads here.
    page.goto(system.ui_url + "/")
    card = page.locator("#indexer-card-summary")
    card.wait_for()
    assert "2 rate limited" in card.inner_text() and "1 failing" in card.inner_text()
    shot(page, "dashboard-indexer-card-desktop-light")
    card.click()
    page.locator("#page-title", has_text="Indexers").wait_for()
    # The same page on a phone.
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    page.locator("#indexer-table").wait_for()
    shot(page, "indexers-mobile-light")
    page.set_viewport_size({"width": 1280, "height": 800})


def test_queue_says_a_full_download_queue_holds_searches(
    page, system: System, api: httpx.Client
) -> None:
    r = api.post(
        "/connectors",
        json={"type": "sonarr", "name": "Sonarr (queue limit)", "url": system.arr_url,
              "api_key": ARR_KEY, "confirm_duplicate": True},  # the same simulator as Sim TV
    )  # fmt: skip
    assert r.status_code == 201, r.text
    cid = r.json()["id"]
    # The app's download queue: 23 items (the simulator's control API).
    _post(f"{system.arr_url}/__sim/queue", {"totalCount": 23})
    # The limit, set in the connector's Search rules card.
    _signed_in(page, system, f"/connector?id={cid}")
    page.locator("#search-rules").wait_for()
    page.locator("#rules-queue-limit").wait_for()
    page.fill("#rules-queue-limit", "20")
    page.click("#rules-save")
    page.get_by_text("Search rules saved").wait_for()
    assert api.get(f"/connectors/{cid}").json()["queue_limit"] == 20
    shot(page, "connector-search-rules-desktop-light")
    # A sweep fills the queue for this connector.
    r = api.post(
        "/schedules",
        json={"connector_id": cid, "cron": "0 3 * * *", "name": "e2e backpressure"},
    )
    assert r.status_code == 201, r.text
    assert api.post(f"/schedules/{r.json()['id']}/run-now").status_code == 202

    def held() -> bool:
        items = api.get("/queue", params={"connector_id": cid, "state": "pending"}).json()
        return any(w["code"] == "download_queue" for i in items["items"] for w in i["waiting"])

    _wait("queue entries held by the download queue", held)
    # The connector page's "Queue" opens the queue filtered to this connector (the other
    # connectors' eligible entries would come first otherwise).
    _signed_in(page, system, f"/connector?id={cid}")
    page.click("#connector-queue")
    page.locator("#page-title", has_text="Queue").wait_for()
    page.locator("#queue-table").wait_for()
    page.locator("#queue-connector", has_text="Sonarr (queue limit)").wait_for()
    # 23 or more: the simulator's queue grows with what the other tests' searches grabbed.
    reason = page.locator(
        ".wait-reason", has_text=re.compile(r"waiting: download queue (2[3-9]|[3-9]\d|\d{3,}) ≥ 20")
    ).first

    reason.wait_for(timeout=30_000)
    reason.scroll_into_view_if_needed()
    shot(page, "queue-backpressure-desktop-light")
