"""user_sessions: every console session ends at once, every account with a password must choose a
new one, and each gets one e-mail (into the real SMTP sink) with a working one-time reset link; a
worker that dies mid-send never mails anyone twice; a drill changes nothing."""
from __future__ import annotations

import json
import logging
import re

import pytest
from sqlalchemy import select

from incidents.domain.enums import Role
from incidents.models import AuditEvent, PlaybookStep, User
from incidents.services.playbook import notify
from incidents.services.playbook.rotators.base import RotationError
from incidents.services.playbook.rotators.sessions import UserSessions
from tests.console.conftest import sign_in
from tests.fakes.smtp import smtp_sink  # noqa: F401
from tests.playbook.conftest import ADMIN, start
from tests.playbook.test_notify import WorkerDied, extensions, run_step, step_context

ROTATE = {"rotate": [{"type": "user_sessions"}]}
LINK = re.compile(r"http://vigil\.test/reset/(\S+)")


@pytest.fixture
def people(app, session, make, breach):
    """Ana (admin) and Ben (ops) signed in to the console; Cara is on call by SMS only (no password);
    Dan's account was deactivated."""
    ana = make.console_user("ana@ops.example", Role.ADMIN)
    ben = make.console_user("ben@ops.example", Role.OPS_ENGINEER)
    make.user("cara@ops.example")
    dan = make.console_user("dan@ops.example")
    dan.active = False
    session.commit()
    return {"ana": sign_in(app.test_client(), ana), "ben": sign_in(app.test_client(), ben)}


@pytest.fixture
def outside(test_config, smtp_sink):
    return extensions(test_config, smtp_sink=smtp_sink)


def signed_in(console) -> bool:
    return console.client.get("/account").status_code == 200


def letters(smtp_sink) -> dict[str, list[str]]:
    """address -> the reset links mailed to it, in order."""
    found: dict[str, list[str]] = {}
    for received in smtp_sink.received:
        [address] = received.rcpt_tos
        found.setdefault(address, []).extend(LINK.findall(received.message.get_content()))
    return found


def user(session, email) -> User:
    session.commit()
    return session.scalars(select(User).where(User.email == email).execution_options(populate_existing=True)).one()


def test_sessions_end_passwords_must_change_and_each_account_gets_one_working_reset_link(
        app, session, configure, breach, people, outside, smtp_sink, caplog):
    configure(**ROTATE)
    run_id = start(session, breach)
    assert all(signed_in(console) for console in people.values())
    caplog.set_level(logging.DEBUG)

    summary = run_step(UserSessions(), step_context(session, run_id, "user_sessions", outside))

    assert summary == "Ended the sessions of 3 users; 2 must choose a new password; 2 reset links e-mailed"
    assert not any(signed_in(console) for console in people.values())
    assert [user(session, f"{n}@ops.example").must_change_password for n in ("ana", "ben", "cara", "dan")] == [
        True, True, False, False]
    mailed = letters(smtp_sink)
    assert sorted(mailed) == ["ana@ops.example", "ben@ops.example"] and all(len(v) == 1 for v in mailed.values())
    [letter] = [r.message for r in smtp_sink.received if r.rcpt_tos == ("ana@ops.example",)]
    assert letter["Subject"] == "Vigil: choose a new password (security incident)"
    assert "Because of a security incident we have signed everyone out of Vigil" in letter.get_content()
    page = app.test_client().get(f"/reset/{mailed['ana@ops.example'][0]}")
    assert page.status_code == 200 and "ana@ops.example" in page.get_data(as_text=True)
    audited = session.scalars(select(AuditEvent.target).where(AuditEvent.action == "user.end_sessions_for_breach")
                              .order_by(AuditEvent.target)).all()
    assert audited == ["ana@ops.example", "ben@ops.example", "cara@ops.example"]
    _links_never_shown_anywhere(session, run_id, [t for v in mailed.values() for t in v], caplog, summary)


def test_a_worker_that_dies_after_a_letter_went_out_never_sends_it_again(
        app, session, configure, breach, people, outside, smtp_sink, clock):
    configure(**ROTATE)
    run_id = start(session, breach)
    epoch = user(session, "ana@ops.example").session_epoch
    step = session.scalars(select(PlaybookStep).where(PlaybookStep.run_id == run_id)
                           .where(PlaybookStep.kind == "user_sessions")).one()

    def dies_before_recording_anas_letter(checkpoint):
        if any(n.state == "sent" and n.address == "ana@ops.example" for n in session.dirty
               if isinstance(n, notify.PlaybookNotice)):
            session.rollback()
            raise WorkerDied()
        step.checkpoint = checkpoint
        session.commit()

    with pytest.raises(WorkerDied):
        run_step(UserSessions(), step_context(session, run_id, "user_sessions", outside,
                                              save=dies_before_recording_anas_letter))
    resumed = app.extensions["vigil.db"].sessionmaker()
    try:
        summary = run_step(UserSessions(), step_context(resumed, run_id, "user_sessions", outside))
    finally:
        resumed.close()

    assert {address: len(links) for address, links in letters(smtp_sink).items()} == {
        "ana@ops.example": 1, "ben@ops.example": 1}
    assert user(session, "ana@ops.example").session_epoch == epoch + 1  # sessions were ended once
    assert summary == ("Ended the sessions of 3 users; 2 must choose a new password; 1 reset link e-mailed; "
                       "1 uncertain (ana@ops.example: the worker stopped while sending; not resent so nobody "
                       "gets it twice)")

    [anas] = [n for n in notify.notices(session, run_id=run_id) if n.address == "ana@ops.example"]
    notify.resend(session, notice_id=anas.id, actor=ADMIN, now=clock(), extensions=outside)
    first, second = letters(smtp_sink)["ana@ops.example"]
    assert first != second  # a fresh link; the one that may or may not have arrived no longer works
    assert app.test_client().get(f"/reset/{first}").status_code == 410
    assert app.test_client().get(f"/reset/{second}").status_code == 200


def test_applying_again_ends_nothing_more_and_mails_nobody_again(session, configure, breach, people, outside,
                                                                 smtp_sink):
    configure(**ROTATE)
    run_id = start(session, breach)
    run_step(UserSessions(), step_context(session, run_id, "user_sessions", outside))
    epoch = user(session, "ben@ops.example").session_epoch

    run_step(UserSessions(), step_context(session, run_id, "user_sessions", outside))

    assert user(session, "ben@ops.example").session_epoch == epoch
    assert len(smtp_sink.received) == 2


def test_a_drill_changes_nothing_and_says_what_it_would_do(session, configure, breach, people, outside,
                                                           smtp_sink):
    configure(**ROTATE)
    run_id = start(session, mode="drill")

    summary = run_step(UserSessions(), step_context(session, run_id, "user_sessions", outside))

    assert summary == ("drill: would end 3 users' sessions, require 2 new passwords and e-mail 2 reset links "
                       "(nothing changed)")
    assert all(signed_in(console) for console in people.values())
    assert not user(session, "ana@ops.example").must_change_password
    assert smtp_sink.received == []


def test_without_smtp_sessions_still_end_and_the_letters_are_recorded_as_failed(
        session, configure, breach, people, test_config):
    configure(**ROTATE)
    run_id = start(session, breach)

    summary = run_step(UserSessions(), step_context(session, run_id, "user_sessions", extensions(test_config)))

    assert not any(signed_in(console) for console in people.values())
    assert summary == ("Ended the sessions of 3 users; 2 must choose a new password; 0 reset links e-mailed; "
                       "2 failed (ana@ops.example: SMTP is not configured (SMTP_URL); ben@ops.example: SMTP is "
                       "not configured (SMTP_URL))")


def test_without_public_url_the_step_stops_after_ending_sessions(session, configure, breach, people, test_config,
                                                                  smtp_sink):
    configure(**ROTATE)
    run_id = start(session, breach)
    outside = {**extensions(test_config, smtp_sink=smtp_sink), "public_url": ""}

    with pytest.raises(RotationError, match="PUBLIC_URL is not set, so no reset link can be made"):
        run_step(UserSessions(), step_context(session, run_id, "user_sessions", outside))
    assert not any(signed_in(console) for console in people.values())
    assert smtp_sink.received == []


def _links_never_shown_anywhere(session, run_id, tokens: list[str], caplog, summary: str) -> None:
    session.commit()
    ours = [r for r in caplog.records if not r.name.startswith("mail.log")]  # the sink logs what it receives
    places = {"log": "\n".join(f"{r.getMessage()} {r.exc_text or ''}" for r in ours), "summary": summary,
              "checkpoint": json.dumps([s.checkpoint for s in session.scalars(
                  select(PlaybookStep).where(PlaybookStep.run_id == run_id))]),
              "notices": json.dumps([[n.reason, n.provider_id] for n in notify.notices(session, run_id=run_id)]),
              "audit": " ".join(e.target + json.dumps(e.details) for e in session.scalars(select(AuditEvent)))}
    assert tokens
    for token in tokens:
        for where, text in places.items():
            assert token not in text, f"a reset link is in the {where}"
