"""Browser fixtures: Vigil over real HTTP (`live_server`), Debian's Chromium through Playwright
(`browser`), and a fresh context and page per test (`page`, `phone_page`).

    def test_docs_render(page):
        page.goto("/api/docs")               # relative to live_server
        assert page.title() == "..."
        screenshot(page, "api-docs")         # from tests.browser.harness: docs/screenshots/api-docs.png

Without /usr/bin/chromium the tests are skipped, except in CI (CI=true), where that is a failure.
The live server shares the session's `app` (tests/conftest.py): tables are emptied after every test,
and the `clock` fixture moves the server's time too, since it runs in this process.
"""
from __future__ import annotations

import os
import threading
from typing import Iterator

import pytest
from werkzeug.serving import make_server

from tests.browser import harness

_REPORTS = pytest.StashKey[dict]()


def pytest_collection_modifyitems(items):
    """Every test under tests/browser gets the `browser` marker (select with -m browser)."""
    here = os.path.dirname(__file__)
    for item in items:
        if str(item.path).startswith(here + os.sep):
            item.add_marker(pytest.mark.browser)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test item, so `page` knows at teardown whether the test failed."""
    report = yield
    item.stash.setdefault(_REPORTS, {})[report.when] = report
    return report


@pytest.fixture(autouse=True)
def _quick_password_hashes(monkeypatch):
    """Argon2id at its lowest cost for browser tests, which sign in a dozen times and type ten wrong
    passwords: the same code paths, a fraction of the CPU (tests/console keeps the real cost)."""
    from argon2 import PasswordHasher

    from incidents.services.accounts import passwords
    monkeypatch.setattr(passwords, "_hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))


@pytest.fixture(scope="session")
def live_server(app) -> Iterator[str]:
    """The session's app served over HTTP on 127.0.0.1 (a free port); yields the base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                              name="live-server", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium, headless, one per session (each test gets its own context)."""
    missing = harness.chromium_missing()
    if missing:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI: {missing.replace('; browser tests skipped', '')}", pytrace=False)
        pytest.skip(missing)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=harness.CHROMIUM, headless=True,
                                              args=harness.LAUNCH_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(request, browser, live_server):
    """A new 1280x800 context and page on the live server; `page.goto("/path")` is relative to it.
    When the test fails, a full-page screenshot is saved under tests/browser/artifacts/."""
    yield from _page(request, browser, live_server, phone=False)


@pytest.fixture
def phone_page(request, browser, live_server):
    """Like `page` on a 390x844 touch screen (an iPhone 13/14), for the phone layout."""
    yield from _page(request, browser, live_server, phone=True)


def _page(request, browser, base_url: str, *, phone: bool):
    context = harness.new_context(browser, base_url, phone=phone)
    opened = context.new_page()
    try:
        yield opened
        call = request.node.stash.get(_REPORTS, {}).get("call")
        if call is not None and call.failed and not opened.is_closed():
            path = harness.failure_screenshot(opened, request.node.nodeid)
            print(f"\nscreenshot of the failed page: {path}")
    finally:
        context.close()
