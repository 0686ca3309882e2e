"""Screenshots of the dashboard after a real run: the whole system (as the e2e suite starts it)
with a Sonarr and a Radarr simulator, the first connectors saved through the API, then
RUN_MINUTES of the system working on its own; light, dark and phone shots land in
docs/screenshots/. Not a test: run it by hand,

    .venv/bin/python -m tests.e2e.dashboard_screenshots [minutes]
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.e2e.system import (
    ADMIN,
    ARR_KEY,
    BIN,
    CHROMIUM,
    CHROMIUM_ARGS,
    REPO,
    free_port,
    running_system,
    wait_http,
)

OUT = REPO / "docs" / "screenshots"


def _api(base: str, method: str, path: str, body: dict | None, headers: dict[str, str]):
    req = urllib.request.Request(
        base + "/api/v1" + path,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Content-Type": "application/json", **headers},
        method=method,
    )
    with urllib.request.urlopen(req, timeout=150) as resp:
        return resp.headers, json.loads(resp.read() or b"null")


def main(minutes: float) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with running_system() as system:
        logs: Path = system.logs
        radarr_port = free_port()
        radarr = subprocess.Popen(
            [
                *(str(BIN / "comradarr"), "arrsim", "--type", "radarr", "--host", "127.0.0.1"),
                *("--port", str(radarr_port), "--api-key", ARR_KEY, "--movies", "120"),
            ],
            stdout=(logs / "radarr.log").open("wb"),
            stderr=subprocess.STDOUT,
        )
        try:
            radarr_url = f"http://127.0.0.1:{radarr_port}"
            wait_http(radarr_url + "/ping", 60, radarr, logs / "radarr.log")
            gw = system.gateway_url
            _api(gw, "POST", "/setup", {"username": ADMIN[0], "password": ADMIN[1]}, {})
            headers, body = _api(
                gw, "POST", "/auth/login", {"username": ADMIN[0], "password": ADMIN[1]}, {}
            )
            auth = {
                "Cookie": headers["Set-Cookie"].split(";", 1)[0],
                "X-CSRF-Token": body["csrf_token"],
            }
            for kind, name, url in (
                ("sonarr", "Sonarr", system.arr_url),
                ("radarr", "Radarr", radarr_url),
            ):
                _, made = _api(
                    gw,
                    "POST",
                    "/connectors",
                    {"type": kind, "name": name, "url": url, "api_key": ARR_KEY},
                    auth,
                )
                print(name, "saved; first sweep:", made["first_sweep"] is not None, flush=True)
            time.sleep(minutes * 60)
            shoot(system.ui_url)
        finally:
            radarr.terminate()
            radarr.wait(timeout=20)


def shoot(ui_url: str) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for name, viewport, dark in (
            ("dashboard-light", {"width": 1280, "height": 900}, False),
            ("dashboard-dark", {"width": 1280, "height": 900}, True),
            ("dashboard-phone", {"width": 390, "height": 844}, False),
        ):
            context = browser.new_context(
                viewport=viewport, color_scheme="dark" if dark else "light"
            )
            page = context.new_page()
            page.goto(ui_url + "/login")
            page.fill("#username", ADMIN[0])
            page.fill("#password", ADMIN[1])
            page.click("#login-submit")
            page.locator("#fig-gaps").wait_for(timeout=30_000)
            if dark != page.evaluate("document.documentElement.classList.contains('dark')"):
                page.locator(".theme-toggle").locator("visible=true").first.click()
            page.wait_for_timeout(1500)
            page.screenshot(path=str(OUT / f"{name}.png"), full_page=True)
            context.close()
        browser.close()


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 10.0)
