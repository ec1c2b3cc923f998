"""Regression: the outbox sweep rang the broker for every late pending page on every tick. After a
Redis restart (the messages for a step's pages lost) or a worker 10 s behind, each tick (twice a
second) queued up to 500 duplicate `pages.deliver` messages; the fault test saw 25,000 queued and
growing while 663 pages waited for minutes. Now a late page is rung again only once LOST_AFTER has
passed without a worker taking it."""
from __future__ import annotations

from collections import Counter

from sqlalchemy import select

from incidents.models import Page
from incidents.services.engine.deliveries import LOST_AFTER
from tests.fakes.fixtures import fake_slack, fake_twilio  # noqa: F401
from tests.test_paging_flow import LEE, alert, paging  # noqa: F401


def _tick_without_running(paging) -> Counter:
    """One engine tick; the deliveries it queued, per page, without running them (the broker is slow)."""
    paging.queue.clear()
    paging.app.extensions["celery"].tasks["engine.tick"]()
    return Counter(args[0] for name, args in paging.queue if name == "pages.deliver")


def test_a_page_whose_message_was_lost_is_rung_again_once_per_lost_after(paging, alert, fake_twilio, session, clock):
    alert()
    clock.advance(minutes=10)
    rung = _tick_without_running(paging)  # the second step's pages; their messages are lost
    waiting = set(session.scalars(select(Page.id).where(Page.status == "pending")))
    assert waiting and set(rung) == waiting

    clock.advance(seconds=LOST_AFTER.total_seconds() + 1)
    assert _tick_without_running(paging) == Counter(waiting)  # rung again, once each
    for _ in range(5):
        clock.advance(seconds=0.5)
        assert _tick_without_running(paging) == Counter()  # not on every tick

    clock.advance(seconds=LOST_AFTER.total_seconds())
    assert _tick_without_running(paging) == Counter(waiting)  # still not taken: rung again
    paging.drain()
    assert len(fake_twilio.bodies_to(LEE)) == 1  # delivered once, whatever the doorbells
