"""Browser tests: Playwright driving Debian's Chromium against Vigil served over real HTTP
(fixtures in tests/browser/conftest.py, helpers in tests/browser/harness.py)."""
