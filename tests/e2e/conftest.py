"""Browser fixtures: Debian's Chromium driven by Playwright against pytest-django's live server.

We never download Playwright's own browsers: the test drives /usr/bin/chromium (the
`chromium` Debian package, installed by .ci/run). Without it, or without the Python
package, the tests fail in CI (CI=true) and are skipped with the reason elsewhere.
"""

import os
from pathlib import Path

import pytest
from django.db import connections

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# Generous for a loaded 2-core CI machine; a passing run waits far less (auto-waiting).
TIMEOUT_MS = 20_000


def _unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() not in ("", "0", "false", "no"):
        pytest.fail(
            f"{reason} CI must run the browser tests: .ci/run installs chromium with apt-get "
            "and `make install` installs the playwright package (dev extra).",
            pytrace=False,
        )
    pytest.skip(reason)


@pytest.fixture
def browser(monkeypatch):
    try:
        from playwright.sync_api import expect, sync_playwright
    except ImportError:
        _unavailable("The playwright package is not installed (pip install -e '.[dev]').")
    if not os.access(CHROMIUM, os.X_OK):
        _unavailable(
            f"{CHROMIUM} is missing: apt-get install chromium fonts-noto-cjk "
            "(Playwright's own browsers are not used)."
        )
    # Playwright's sync API runs an asyncio event loop in this thread for as long as it
    # is open, so Django would refuse the test's own ORM calls (SynchronousOnlyOperation)
    # although nothing here is async. Scoped to the browser's lifetime: the flush of the
    # transactional database comes after it is closed, and other tests keep the check.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
        # While that loop runs, Django keeps the test's connections apart from the
        # thread's (asgiref's Local); left open, they would stop the test database
        # from being dropped at the end of the session.
        connections.close_all()


@pytest.fixture
def new_page(browser, live_server):
    """Opens a page in a fresh browser context (its own cookies: one user each)."""
    contexts = []

    def _new_page():
        context = browser.new_context(
            base_url=live_server.url, locale="zh-CN", viewport={"width": 1280, "height": 900}
        )
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    yield _new_page
    for context in contexts:
        context.close()


@pytest.fixture
def shot(tmp_path):
    """Saves a full-page screenshot of each step under the test's tmp_path, numbered."""
    folder = tmp_path / "screenshots"
    folder.mkdir()
    taken = []

    def _shot(page, name: str) -> Path:
        path = folder / f"{len(taken) + 1:02d}-{name}.png"
        page.screenshot(path=path, full_page=True)
        taken.append(path)
        return path

    # Shown with the output of a failing test, to look at what the browser saw.
    print(f"screenshots: {folder}")
    return _shot
