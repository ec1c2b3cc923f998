"""The breach playbook in the console: starting a run (with the admin's code again), a drill, the run
page with its steps and notices, retry and skip, showing new keys once, and the PDF for the record."""
from __future__ import annotations

import io
from datetime import timedelta

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from incidents.domain.enums import Role
from incidents.models import PlaybookNotice, PlaybookRun, PlaybookStep, RegulatorClock, RevealedSecret, Setting
from incidents.services import sealed
import workers.tasks.playbook  # noqa: F401  (registers the playbook.advance task)
from tests.console.conftest import totp_now
from tests.console.test_incident_pages import fire, fresh, html  # noqa: F401 (fixture)

SECRET = "vk_live_Do-Not-Print-Me-7f3a9c"
PLAYBOOK = {"notify_customers": "all", "template": "Dear {customer}: {summary}. {actions}",
            "subject": "Security incident notice", "auto_start": False, "secret_store": "vigil",
            "rotate": [{"type": "vigil_api_keys"}],  # not user_sessions: it would sign the admin out
            "drill": {"every": "quarter", "recipients": ["drill@ops.example"], "targets": {}}}


@pytest.fixture
def configured(session):
    session.add(Setting(key="breach_playbook", value=PLAYBOOK))
    session.commit()


@pytest.fixture
def admin(console, clock):
    """An admin, signed in; the code used to sign in is spent, so re-authentication needs the next."""
    return console(Role.ADMIN, "root@ops.example")


def code(console, later: int = 1) -> str:
    return totp_now(console.user.totp_secret, later=later)


def runs(session) -> list[PlaybookRun]:
    fresh(session)
    return list(session.scalars(select(PlaybookRun).order_by(PlaybookRun.id)))


def make_run(session, clock, *, incident_id=None, state="running", steps=(("done", None), ("running", None))):
    """A run written as the runner leaves it: steps in order, each with its state."""
    now = clock()
    run = PlaybookRun(incident_id=incident_id, mode="live" if incident_id else "drill", state=state,
                      started_by="root@ops.example", started_at=now - timedelta(minutes=5),
                      aware_at=now - timedelta(minutes=5), config=PLAYBOOK)
    titles = ["Notify customers", "Revoke and regenerate Vigil API keys", "End sessions and require password resets"]
    kinds = ["notify_customers", "vigil_api_keys", "user_sessions"]
    for position, (step_state, error) in enumerate(steps, start=1):
        started = now - timedelta(minutes=5 - position) if step_state != "pending" else None
        finished = started + timedelta(seconds=42) if step_state in ("done", "failed", "skipped") else None
        run.steps.append(PlaybookStep(position=position, kind=kinds[position - 1], title=titles[position - 1],
                                      config={}, state=step_state, attempts=1 if started else 0,
                                      started_at=started, finished_at=finished, actor="system",
                                      summary="3 customers notified" if step_state == "done" else None,
                                      error=error))
    session.add(run)
    session.commit()
    return run


def regulator_clock(session, incident_id, clock) -> RegulatorClock:
    """The incident's regulator clock (opened with the incident), 72 hours from now."""
    fresh(session)
    row = session.get(RegulatorClock, incident_id)
    if row is None:
        row = RegulatorClock(incident_id=incident_id, aware_at=clock(), due_at=clock(), check_at=clock())
        session.add(row)
    row.aware_at, row.due_at = clock(), clock() + timedelta(hours=72)
    session.commit()
    return row


def notice(session, run, *, state, reason=None, address="ops@acme.example"):
    row = PlaybookNotice(run_id=run.id, step_id=run.steps[0].id, purpose="customer_notice", recipient="Acme",
                         channel="email", address=address, state=state, reason=reason, created_at=run.started_at,
                         sent_at=run.started_at + timedelta(minutes=1) if state == "sent" else None)
    session.add(row)
    session.commit()
    return row


# --- who may -----------------------------------------------------------------------------------

@pytest.mark.parametrize("role", [Role.OPS_ENGINEER, Role.RESPONDER, Role.VIEWER])
def test_only_admins_see_or_use_the_playbook(console, session, clock, fire, role):
    incident_id = fire("Possible intrusion on db-1")
    run = make_run(session, clock, incident_id=incident_id, state="failed", steps=(("failed", "boom"),))
    someone = console(role)
    for url in ("/playbook", f"/playbook/runs/{run.id}", f"/playbook/runs/{run.id}.pdf"):
        assert someone.get(url).status_code == 403, url
    for url, form in ((f"/incidents/{incident_id}/breach-playbook", {"summary": "x", "code": "123456"}),
                      ("/playbook/drills", {"code": "123456"}),
                      (f"/playbook/runs/{run.id}/steps/1/retry", {}),
                      (f"/playbook/runs/{run.id}/steps/1/skip", {"reason": "done by hand"}),
                      (f"/playbook/runs/{run.id}/notices/1/resend", {}),
                      (f"/playbook/runs/{run.id}/keys", {"code": "123456"}),
                      (f"/playbook/runs/{run.id}/regulator", {"reference": "ICO-1"})):
        assert someone.post(url, form).status_code == 403, url
    page = html(someone.get(f"/incidents/{incident_id}"))
    assert "Start breach playbook" not in page and "Breach playbook</a>" not in page
    assert [r.state for r in runs(session)] == ["failed"]


def test_the_start_panel_is_on_breach_incidents_only(admin, fire):
    breach = fire("Possible intrusion on db-1")
    outage = fire("Checkout is down")
    page = html(admin.get(f"/incidents/{breach}"))
    assert "Start breach playbook" in page and 'autocomplete="one-time-code"' in page
    assert "Possible intrusion on db-1</textarea>" in page  # the summary, prefilled from the title
    assert "Start breach playbook" not in html(admin.get(f"/incidents/{outage}"))
    assert "Breach playbook</a>" in page  # the menu


# --- re-authentication -------------------------------------------------------------------------

def test_a_wrong_or_spent_code_starts_nothing(admin, fire, session, configured):
    incident_id = fire("Possible intrusion on db-1")
    url = f"/incidents/{incident_id}/breach-playbook"
    wrong = "000000" if code(admin) != "000000" else "111111"
    response = admin.post(url, {"summary": "Customer data was read", "code": wrong})
    assert response.status_code == 403
    assert "authenticator code is not right" in html(response) and "Nothing was started." in html(response)
    assert "Customer data was read" in html(response)  # what was typed stays; the code does not
    response = admin.post(url, {"summary": "Customer data was read", "code": code(admin, later=0)})  # used to sign in
    assert response.status_code == 403
    response = admin.post(url, {"summary": "", "code": code(admin)})
    assert response.status_code == 422 and "Say in a sentence what happened" in html(response)
    response = admin.post("/playbook/drills", {"code": wrong})
    assert response.status_code == 403 and "not right" in html(response)
    assert runs(session) == []


def test_guessing_codes_is_slowed_down_like_signing_in(admin, fire, session, configured, clock):
    incident_id = fire("Possible intrusion on db-1")
    clock.advance(seconds=1)  # failures count from the last success: the sign-in
    url = f"/incidents/{incident_id}/breach-playbook"
    wrong = "000000" if code(admin) != "000000" else "111111"
    for _ in range(4):  # past the free attempts of the sign-in lockout
        assert admin.post(url, {"summary": "x", "code": wrong}).status_code == 403
    response = admin.post(url, {"summary": "x", "code": code(admin)})  # right, but too soon after
    assert response.status_code == 403 and "Too many failed sign-ins" in html(response)
    assert runs(session) == []


def test_the_page_and_pdf_of_a_missing_run_are_404(admin):
    assert admin.get("/playbook/runs/999").status_code == 404
    assert admin.get("/playbook/runs/999.pdf").status_code == 404


# --- the run page ------------------------------------------------------------------------------

def test_run_page_lists_steps_in_order_with_states_and_polls_while_running(admin, session, clock, fire):
    incident_id = fire("Possible intrusion on db-1")
    run = make_run(session, clock, incident_id=incident_id,
                   steps=(("done", None), ("running", None), ("pending", None)))
    page = html(admin.get(f"/playbook/runs/{run.id}"))
    first, second, third = (page.index(t) for t in ("1. Notify customers", "2. Revoke and regenerate Vigil API keys",
                                                     "3. End sessions and require password resets"))
    assert first < second < third
    assert 'class="badge step-done">done' in page and 'class="badge step-running">running' in page
    assert 'class="badge step-pending">pending' in page and "3 customers notified" in page
    assert 'hx-trigger="every 10s"' in page and "Possible intrusion on db-1" in page
    poll = admin.get(f"/playbook/runs/{run.id}", headers={"HX-Request": "true", "X-Vigil-Poll": "1"})
    assert poll.status_code == 200 and "<html" not in html(poll) and "2. Revoke" in html(poll)

    run.state, run.finished_at = "done", clock()
    for step in run.steps:
        step.state, step.finished_at = "done", clock()
    session.commit()
    poll = admin.get(f"/playbook/runs/{run.id}", headers={"HX-Request": "true", "X-Vigil-Poll": "1"})
    assert poll.headers.get("HX-Refresh") == "true"  # finished: the page reloads once, with its report
    page = html(admin.get(f"/playbook/runs/{run.id}"))
    assert 'hx-trigger="every 10s"' not in page and "<h2>Report</h2>" in page


def test_notices_are_counted_and_problems_listed_with_their_reason(admin, session, clock, fire):
    run = make_run(session, clock, incident_id=fire("Possible intrusion on db-1"))
    notice(session, run, state="sent", address="a@acme.example")
    notice(session, run, state="failed", reason="invalid address", address="bad@@acme")
    notice(session, run, state="uncertain", reason="the worker stopped while sending", address="c@acme.example")
    page = html(admin.get(f"/playbook/runs/{run.id}"))
    assert "1 sent" in page and "1 failed" in page and "1 uncertain" in page
    assert "bad@@acme): invalid address" in page and "the worker stopped while sending" in page
    assert page.count(">Resend</button>") == 2


def test_the_regulator_clock_shows_due_and_not_notified(admin, session, clock, fire):
    incident_id = fire("Possible intrusion on db-1")
    run = make_run(session, clock, incident_id=incident_id)
    regulator_clock(session, incident_id, clock)
    page = html(admin.get(f"/playbook/runs/{run.id}"))
    assert "Regulator's deadline" in page and "2026-11-26 08:30 UTC" in page and "not notified" in page
    assert "Record regulator notified" in page
    assert "2026-11-26 08:30 UTC" in html(admin.get(f"/incidents/{incident_id}"))  # beside the response deadline


def test_skip_needs_a_reason(admin, session, clock, fire):
    run = make_run(session, clock, incident_id=fire("Possible intrusion on db-1"), state="failed",
                   steps=(("done", None), ("failed", "The IAM user 'deploy' does not exist")))
    page = html(admin.get(f"/playbook/runs/{run.id}"))
    assert "The IAM user &#39;deploy&#39; does not exist" in page
    assert "Retry step 2" in page and "Skip step 2" in page
    response = admin.post(f"/playbook/runs/{run.id}/steps/2/skip", {"reason": "  "})
    assert response.status_code == 422 and "Say why the step is skipped" in html(response)
    assert html(response).count('class="error">Say why the step is skipped') == 1  # beside its field
    fresh(session)
    assert session.get(PlaybookStep, run.steps[1].id).state == "failed"


# --- the PDF -----------------------------------------------------------------------------------

def test_pdf_is_a_real_pdf_with_the_steps_and_no_secret(admin, session, clock, fire):
    incident_id = fire("Possible intrusion on db-1")
    run = make_run(session, clock, incident_id=incident_id, state="failed",
                   steps=(("done", None), ("failed", "Could not reach the database")))
    notice(session, run, state="sent")
    session.add(RevealedSecret(run_id=run.id, step_id=run.steps[1].id, label="API key 'grafana' (read)",
                               ciphertext=sealed.seal("test-secret-key-" + "x" * 32, SECRET),
                               created_at=clock()))
    session.commit()
    regulator_clock(session, incident_id, clock)
    response = admin.get(f"/playbook/runs/{run.id}.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF")
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(response.data)).pages)
    for words in ("Notify customers", "Revoke and regenerate Vigil API keys", "Could not reach the database",
                  "Possible intrusion on db-1", "root@ops.example", "ops@acme.example", "2026-11-26 08:30"):
        assert words in " ".join(text.split()), words
    assert SECRET not in text and b"Do-Not-Print" not in response.data


# --- with the service verbs and the worker's task ----------------------------------------------

def advance(app, run_id, limit=10) -> None:
    """Run the playbook.advance task in this process until the run stops, as the worker would."""
    task = app.extensions["celery"].tasks["playbook.advance"]
    for _ in range(limit):
        if task(run_id) is None:
            return


def test_admin_starts_the_playbook_watches_it_finish_and_sees_new_keys_once(app, admin, fire, session, make,
                                                                            configured, clock):
    key = make.api_key("read", "grafana")
    incident_id = fire("Possible intrusion on db-1")
    fire.service.service.customer.contacts = [{"name": "Ana Ops", "email": "ana@acme.example"}]
    session.commit()
    response = admin.post(f"/incidents/{incident_id}/breach-playbook", {
        "summary": "Someone read the customer table", "actions": "", "code": code(admin)})
    [run] = runs(session)
    assert response.status_code == 303 and response.headers["Location"] == f"/playbook/runs/{run.id}"
    assert (run.mode, run.state, run.incident_id) == ("live", "running", incident_id)
    assert run.started_by == "root@ops.example"
    assert run.config["values"]["summary"] == "Someone read the customer table"
    page = html(admin.get(f"/playbook/runs/{run.id}"))
    assert "Breach playbook started: run #" in page and 'hx-trigger="every 10s"' in page
    assert "1. Notify customers" in page and "2. Revoke and regenerate Vigil API keys" in page

    advance(app, run.id)  # no SMTP in this test: the notice fails, and so does the step
    page = html(admin.get(f"/playbook/runs/{run.id}"))
    assert 'class="badge step-failed">failed' in page and "SMTP is not configured" in page
    assert "ana@acme.example" in page and ">Resend</button>" in page and "Skip step 1" in page
    response = admin.post(f"/playbook/runs/{run.id}/steps/1/skip", {"reason": "Customers were called by phone"})
    assert response.status_code == 303
    advance(app, run.id)
    page = html(admin.get(f"/playbook/runs/{run.id}"))
    assert "<h2>Report</h2>" in page and 'class="badge step-done">done' in page
    assert "Step 1 Notify customers: " in page and "Customers were called by phone" in page  # the report's failures
    assert "New keys waiting to be shown" in page and key not in page
    wrong = admin.post(f"/playbook/runs/{run.id}/keys", {"code": "000001"})  # not the code
    assert wrong.status_code == 403 and "No key was shown." in html(wrong) and "New keys waiting" in html(wrong)

    clock.advance(seconds=30)  # a code works once: the next one
    shown = admin.post(f"/playbook/runs/{run.id}/keys", {"code": code(admin)})
    assert shown.status_code == 200 and shown.headers["Cache-Control"] == "no-store"
    body = html(shown)
    assert "grafana" in body and "shown only now" in body
    new_key = body.split('class="secret">')[1].split("<")[0]
    assert new_key and new_key != key and new_key not in shown.headers.get("Location", "")
    fresh(session)
    [secret] = session.scalars(select(RevealedSecret).where(RevealedSecret.run_id == run.id))
    assert secret.ciphertext is None and secret.revealed_by == "root@ops.example"

    clock.advance(seconds=30)
    again = admin.post(f"/playbook/runs/{run.id}/keys", {"code": code(admin)})
    assert again.status_code == 303
    page = html(admin.get(again.headers["Location"]))
    assert "already shown" in page and new_key not in page
    assert new_key.encode() not in admin.get(f"/playbook/runs/{run.id}.pdf").data


def test_start_on_a_non_breach_incident_is_refused_with_the_reason(admin, fire, session, configured):
    incident_id = fire("Checkout is down")
    response = admin.post(f"/incidents/{incident_id}/breach-playbook", {"summary": "x", "code": code(admin)})
    assert response.status_code == 422
    assert "is not a security breach" in html(response)
    assert "only an incident of category security_breach" in html(response)
    assert runs(session) == []


def test_without_a_configured_playbook_nothing_starts(admin, fire, session):
    incident_id = fire("Possible intrusion on db-1")
    response = admin.post(f"/incidents/{incident_id}/breach-playbook", {"summary": "x", "code": code(admin)})
    assert response.status_code == 422 and "no breach playbook is configured" in html(response)
    assert runs(session) == []


def test_a_second_live_run_is_refused_while_one_is_under_way(admin, fire, session, configured, clock):
    incident_id = fire("Possible intrusion on db-1")
    assert admin.post(f"/incidents/{incident_id}/breach-playbook",
                      {"summary": "x", "code": code(admin)}).status_code == 303
    page = html(admin.get(f"/incidents/{incident_id}"))
    assert "A run is under way" in page and "Start breach playbook" not in page
    clock.advance(seconds=30)
    response = admin.post(f"/incidents/{incident_id}/breach-playbook", {"summary": "x", "code": code(admin)})
    assert response.status_code == 409 and "already under way" in html(response)
    assert len(runs(session)) == 1


def test_admin_starts_a_drill_from_the_playbook_page(app, admin, session, configured):
    page = html(admin.get("/playbook"))
    assert "Start a drill" in page and "No runs yet" in page
    response = admin.post("/playbook/drills", {"summary": "", "code": code(admin)})
    [run] = runs(session)
    assert response.status_code == 303 and (run.mode, run.incident_id) == ("drill", None)
    advance(app, run.id)  # no SMTP here: the drill recipient's notice fails; skip it to go on
    skipped = admin.post(f"/playbook/runs/{run.id}/steps/1/skip", {"reason": "no mail server in this test"})
    assert skipped.status_code == 303
    advance(app, run.id)
    page = html(admin.get(f"/playbook/runs/{run.id}"))
    assert "No incident: a drill." in page and "drill: would" in page and "<h2>Report</h2>" in page
    listing = html(admin.get("/playbook"))
    assert f'href="/playbook/runs/{run.id}"' in listing and 'class="badge mode-drill">drill' in listing


def test_retry_and_skip_a_failed_step(admin, session, clock, fire):
    run = make_run(session, clock, incident_id=fire("Possible intrusion on db-1"), state="failed",
                   steps=(("done", None), ("failed", "The database refused the connection")))
    response = admin.post(f"/playbook/runs/{run.id}/steps/2/retry")
    assert response.status_code == 303
    assert "Step 2 is tried again" in html(admin.get(response.headers["Location"]))
    fresh(session)
    assert session.get(PlaybookRun, run.id).state == "running"
    assert session.get(PlaybookStep, run.steps[1].id).state == "pending"
    response = admin.post(f"/playbook/runs/{run.id}/steps/2/retry")
    assert response.status_code == 409 and "only a failed step can be retried" in html(response)

    response = admin.post(f"/playbook/runs/{run.id}/steps/2/skip", {"reason": "Rotated by hand, ticket SEC-12"})
    assert response.status_code == 303
    fresh(session)
    step = session.get(PlaybookStep, run.steps[1].id)
    assert (step.state, step.skip_reason) == ("skipped", "Rotated by hand, ticket SEC-12")
    assert step.actor == "root@ops.example"
    assert "Rotated by hand, ticket SEC-12" in html(admin.get(f"/playbook/runs/{run.id}"))


def test_record_the_regulator_notified(admin, session, clock, fire):
    incident_id = fire("Possible intrusion on db-1")
    run = make_run(session, clock, incident_id=incident_id)
    regulator_clock(session, incident_id, clock)
    response = admin.post(f"/playbook/runs/{run.id}/regulator", {"reference": ""})
    assert response.status_code == 422 and "case reference" in html(response)
    clock.advance(minutes=5)
    response = admin.post(f"/playbook/runs/{run.id}/regulator", {"reference": "ICO case 00123"})
    assert response.status_code == 303
    page = html(admin.get(f"/playbook/runs/{run.id}"))
    assert "regulator was notified" in page and "ICO case 00123" in page and "Record regulator notified" not in page
    fresh(session)
    assert session.get(RegulatorClock, incident_id).notified_by == "root@ops.example"


def test_resend_a_failed_notice_says_how_it_went(admin, session, clock, fire):
    run = make_run(session, clock, incident_id=fire("Possible intrusion on db-1"), state="done",
                   steps=(("done", None),))
    row = notice(session, run, state="failed", reason="invalid address", address="bad@@acme")
    sent = notice(session, run, state="sent", address="ok@acme.example")
    response = admin.post(f"/playbook/runs/{run.id}/notices/{row.id}/resend")
    assert response.status_code == 303
    assert "bad@@acme is failed again" in html(admin.get(response.headers["Location"]))
    response = admin.post(f"/playbook/runs/{run.id}/notices/{sent.id}/resend")
    assert response.status_code == 409 and "only a failed or uncertain notice" in html(response)
    other = make_run(session, clock, state="done", steps=(("done", None),))
    assert admin.post(f"/playbook/runs/{other.id}/notices/{row.id}/resend").status_code == 404
