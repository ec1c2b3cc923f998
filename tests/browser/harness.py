"""How browser tests start Chromium, and the helpers they share.

Debian's Chromium (apt-get install chromium), never a browser downloaded by `playwright install`:
the distribution keeps it patched, and CI installs it the same way (.ci/run). Host names other than
this machine's resolve to nothing inside the browser, so a page that quietly loads a script from a
CDN looks in tests as it would on a network without one, and no test depends on the internet.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
LAUNCH_ARGS = [
    "--no-sandbox",  # tests run as root in CI containers, where Chromium's sandbox cannot start
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost",
]
DESKTOP = {"viewport": {"width": 1280, "height": 800}}
PHONE = {  # an iPhone 13/14-sized screen
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 3,
    "is_mobile": True,
    "has_touch": True,
}
TIMEOUT_MS = 10_000  # Playwright waits 30 s by default; a local page that needs 10 s is a failure

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "docs" / "screenshots"  # for the README, committed
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"  # failure screenshots, gitignored


def chromium_missing() -> str | None:
    """Why browser tests cannot run here, or None."""
    if not os.access(CHROMIUM, os.X_OK):
        return "Debian's chromium is not installed (apt-get install chromium); browser tests skipped"
    return None


def new_context(browser, base_url: str, *, phone: bool = False):
    """A fresh browser context (its own cookies and storage) on the live server."""
    context = browser.new_context(base_url=base_url, **(PHONE if phone else DESKTOP))
    context.set_default_timeout(TIMEOUT_MS)
    return context


def screenshot(page, name: str, *, full_page: bool = True) -> Path:
    """Save a PNG of the whole page (or only what the viewport shows) as docs/screenshots/<name>.png
    (for the README) and return its path."""
    if not re.fullmatch(r"[a-z0-9][a-z0-9._-]*", name):
        raise ValueError(f"screenshot name: lower-case letters, digits, '.', '_' and '-' only, got {name!r}")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


def failure_screenshot(page, nodeid: str) -> Path:
    """Save what the page showed when its test failed, under tests/browser/artifacts/."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / (re.sub(r"[^A-Za-z0-9._-]+", "_", nodeid).strip("_")[:150] + ".png")
    page.screenshot(path=str(path), full_page=True)
    return path
