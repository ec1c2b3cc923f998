"""pytest fixtures for the fake providers. Import them into a test module:

    from tests.fakes.fixtures import fake_slack, fake_twilio  # noqa: F401

Each test gets a fresh server; at teardown it is stopped and the test fails if the fake saw
anything unexpected (a wrong path, bad credentials, invalid Block Kit) or scripted behaviour
was never used. Tests that provoke errors on purpose collect them with `take_errors()`.
"""
from __future__ import annotations

import pytest

from tests.fakes.slack_server import FakeSlack
from tests.fakes.twilio_server import FakeTwilio


@pytest.fixture
def fake_twilio():
    fake = FakeTwilio().start()
    yield fake
    fake.stop()
    fake.assert_clean()


@pytest.fixture
def fake_slack():
    fake = FakeSlack().start()
    yield fake
    fake.stop()
    fake.assert_clean()
