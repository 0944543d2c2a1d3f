"""Browser tests: Chromium (Debian's, never a downloaded one) driven by Playwright, against our
app under real gunicorn and the strict simulator. They skip, with the reason, only when Chromium,
Playwright or axe-core is missing and CI is not set; under CI a missing piece is a failure.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

from tests.harness import ROOT

CHROMIUM = Path("/usr/bin/chromium")
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


def _missing() -> list[str]:
    missing = []
    if not CHROMIUM.exists():
        missing.append(f"{CHROMIUM} (run scripts/install-browser-deps)")
    if not AXE.exists():
        missing.append(f"{AXE.relative_to(ROOT)} (run scripts/install-browser-deps: npm ci)")
    if importlib.util.find_spec("playwright") is None:
        missing.append("the playwright package (pip install -r requirements-dev.txt)")
    return missing


def pytest_collection_modifyitems(config, items):
    missing = _missing()
    if not missing or os.environ.get("CI"):
        return  # under CI a missing piece fails the tests loudly instead
    skip = pytest.mark.skip(reason="browser tests need " + "; ".join(missing))
    for item in items:
        if {"browser", "playwright_session"} & set(getattr(item, "fixturenames", ())):
            item.add_marker(skip)


@pytest.fixture(scope="session")
def playwright_session():
    """One Playwright per test session: its sync API refuses a second one while it runs."""
    from playwright.sync_api import sync_playwright

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright_session):
    chromium = playwright_session.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
    yield chromium
    chromium.close()


@pytest.fixture
def make_context(browser):
    """New browser contexts (each a separate visitor), closed after the test; console errors
    and uncaught exceptions in any page or frame fail the test."""
    from tests.browser.widget import ConsoleWatch

    made = []

    def make(**options):
        context = browser.new_context(**options)
        context.set_default_timeout(10_000)
        watch = ConsoleWatch()
        context.on("page", watch.attach)
        context.watch = watch
        made.append((context, watch))
        return context

    yield make
    errors = []
    for context, watch in made:
        errors += watch.errors
        context.close()
    assert errors == [], f"console errors: {errors}"


@pytest.fixture
def context(make_context):
    return make_context(viewport={"width": 1280, "height": 800})
