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
from tests.console.conftest import totp_now
from tests.console.test_incident_pages import fire, fresh, html  # noqa: F401 (fixture)

SECRET = "vk_live_Do-Not-Print-Me-7f3a9c"
PLAYBOOK = {"notify_customers": "all", "template": "Dear {customer}: {summary}. {actions}",
            "subject": "Security incident notice", "auto_start": False, "secret_store": "vigil",
            "rotate": [{"type": "vigil_api_keys"}, {"type": "user_sessions"}],
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
    assert "authenticator code is not right" in html(response) and "nothing was started" in html(response)
    assert "Customer data was read" in html(response)  # what was typed stays; the code does not
    response = admin.post(url, {"summary": "Customer data was read", "code": code(admin, later=0)})  # used to sign in
    assert response.status_code == 403
    response = admin.post(url, {"summary": "", "code": code(admin)})
    assert response.status_code == 422 and "Say in a sentence what happened" in html(response)
    response = admin.post("/playbook/drills", {"code": wrong})
    assert response.status_code == 403 and "not right" in html(response)
    assert runs(session) == []


def test_the_page_and_pdf_of_a_missing_run_are_404(admin):
    assert admin.get("/playbook/runs/999").status_code == 404
    assert admin.get("/playbook/runs/999.pdf").status_code == 404


# --- the run page ------------------------------------------------------------------------------

def test_run_page_lists_steps_in_order_with_states_and_polls_while_running(admin, session, clock, fire):
    incident_id = fire("Possible intrusion on db-1")
    run = make_run(session, clock, incident_id=incident_id, steps=(("done", None), ("running", None), ("pending", None)))
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
