"""Browser fixtures: the whole system once per session, one Chromium page shared in order."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.system import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, System, missing_prerequisites


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """test_ui_flows.py first: it starts from a system that was never set up; the other
    files share its browser page and sign in as it leaves them."""
    items.sort(key=lambda item: Path(str(item.fspath)).name != "test_ui_flows.py")


@pytest.fixture(scope="session")
def system() -> Iterator[System]:
    problem = missing_prerequisites()
    if problem:
        pytest.skip(f"browser tests need: {problem}")
    from tests.e2e.system import running_system

    with running_system() as running:
        yield running


@pytest.fixture(scope="session")
def browser(system: System):
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="session")
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.set_default_timeout(20_000)
    yield page
    context.close()
