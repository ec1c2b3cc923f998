"""Now (open incidents by class, on call, unassigned), Triage (reports nobody picked up) and the
report form."""
from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from incidents.domain.enums import Role
from incidents.models import Incident, IncidentEvent, RotationOverride

SCRIPT = "<script>alert(1)</script>"


def html(response) -> str:
    return response.get_data(as_text=True)


@pytest.fixture
def incident(make, session, clock):
    """incident(title, ...) -> a committed Incident (made directly: these pages only read)."""
    customer = make.customer()

    def add(title="Checkout is down", *, severity_class=1, status="triggered", origin="alert",
            assignee=None, opened_minutes_ago=0, description=""):
        opened = clock() - timedelta(minutes=opened_minutes_ago)
        row = Incident(title=title, description=description, status=status, severity_class=severity_class,
                       category="outage", classification_rule="outage", classification_reason="says down",
                       origin=origin, customer_id=customer.id, opened_at=opened,
                       response_due_at=opened + timedelta(hours=2 * severity_class), updated_at=opened,
                       assignee_id=assignee.id if assignee else None,
                       acknowledged_at=opened if status != "triggered" else None,
                       acknowledged_by="ben@ops.example" if status != "triggered" else None)
        session.add(row)
        session.commit()
        return row
    return add


def box(text: str, heading_id: str) -> str:
    """The HTML of the section whose heading has this id."""
    start = text.index(f'id="{heading_id}"')
    return text[start:text.index("</section>", start)]


# --- Now ------------------------------------------------------------------------------------------

def test_now_groups_open_incidents_by_class_with_deadlines(console, incident, make):
    ben = make.user("ben@ops.example")
    down = incident("Checkout is down", severity_class=1)
    slow = incident("Search is slow", severity_class=2, status="acknowledged", assignee=ben)
    incident("Old typo", severity_class=3, status="resolved")
    text = html(console(Role.VIEWER).get("/"))
    one, two, three = (box(text, f"class-{n}-heading") for n in (1, 2, 3))
    assert "Checkout is down" in one and f'href="/incidents/{down.id}"' in one
    assert '<time class="due countdown' in one and "2h 00m left" in one
    assert "Search is slow" in two and "acknowledged by ben@ops.example" in two and "Ben" in two
    assert "No open class 3 incidents." in three and "Old typo" not in text
    unassigned = box(text, "unassigned-heading")
    assert "Checkout is down" in unassigned and "Search is slow" not in unassigned
    assert 'hx-trigger="every 10s"' in text and '"X-Vigil-Poll": "1"' in text


def test_now_caps_each_box_with_a_link_to_all(console, incident):
    for n in range(27):
        incident(f"Flapping check {n}", severity_class=3)
    incident("The one class 1", severity_class=1)
    text = html(console(Role.VIEWER).get("/"))
    three = box(text, "class-3-heading")
    assert three.count('data-label="Incident"') == 25
    assert "See all 27 open class 3 incidents" in three
    assert "/incidents?status=open&amp;severity_class=3" in three
    assert "The one class 1" in box(text, "class-1-heading")  # not pushed out by the flood
    assert "See all 28 unassigned open incidents" in box(text, "unassigned-heading")


def test_now_shows_who_is_on_call_now_and_next(console, make, session, clock):
    rotation = make.rotation(members=("ana@ops.example", "ben@ops.example"), start=date(2026, 11, 2))
    cara = make.user("cara@ops.example")
    handoff = clock() + timedelta(minutes=30)  # Monday 09:00 London
    session.add(RotationOverride(rotation=rotation, user=cara, start=handoff, end=handoff + timedelta(days=1),
                                 created_by="test", created_at=clock()))
    session.commit()
    text = box(html(console(Role.VIEWER).get("/")), "oncall-heading")
    # Monday 23 November 08:30 UTC: weeks from 2 November go Ana, Ben, Ana (16th), then Ben at
    # 09:00, but Cara covers Ben's first day.
    assert "out-of-hours" in text
    now_cell = text[text.index('data-label="Now"'):text.index('data-label="Next"')]
    assert "Ana" in now_cell and "until 2026-11-23 09:00 UTC" in now_cell
    next_cell = text[text.index('data-label="Next"'):]
    assert "Cara" in next_cell and "(override)" in next_cell and "from 2026-11-23 09:00 UTC" in next_cell


def test_now_without_anything_shows_empty_states(console):
    text = html(console(Role.VIEWER).get("/"))
    assert "No open class 1 incidents." in text
    assert "Every open incident has someone on it." in text
    assert "No rotations yet." in text


def test_now_poll_is_a_fragment_and_does_not_keep_the_session_alive(console, incident, clock):
    incident("Checkout is down")
    viewer = console(Role.VIEWER)
    poll = {"HX-Request": "true", "X-Vigil-Poll": "1"}
    clock.advance(minutes=55)
    fragment = viewer.get("/", headers=poll)
    assert fragment.status_code == 200
    text = html(fragment)
    assert "Checkout is down" in text and "<html" not in text and "On call" not in text
    clock.advance(minutes=10)  # 65 minutes since a person last asked for a page
    assert viewer.get("/").status_code == 302


def test_script_in_a_title_is_text_on_now_and_triage(console, incident):
    incident(SCRIPT, origin="report", description=SCRIPT)
    viewer = console(Role.VIEWER)
    for url in ("/", "/triage"):
        text = html(viewer.get(url))
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text and SCRIPT not in text, url


# --- Triage -----------------------------------------------------------------------------------------

def test_triage_lists_open_unassigned_reports_oldest_first(console, incident, make):
    ben = make.user("ben@ops.example")
    newer = incident("Invoices missing lines", origin="report", opened_minutes_ago=5,
                     description="Since this morning the PDF invoices " + "lack the VAT line. " * 30)
    older = incident("Password reset mails late", origin="report", opened_minutes_ago=90, severity_class=2)
    incident("Checkout is down", origin="alert")
    incident("Taken already", origin="report", assignee=ben)
    incident("Fixed already", origin="report", status="resolved")
    text = html(console(Role.VIEWER).get("/triage"))
    assert text.index("Password reset mails late") < text.index("Invoices missing lines")
    for absent in ("Checkout is down", "Taken already", "Fixed already"):
        assert absent not in text
    assert "1h 30m ago" in text and "Acme" in text
    assert "Since this morning the PDF invoices" in text and "lack the VAT line. " * 30 not in text  # an excerpt
    assert f'href="/incidents/{older.id}"' in text and f'href="/incidents/{newer.id}"' in text
    assert "/assign" not in text  # a viewer only reads


def test_triage_empty_state(console):
    assert "Nothing waiting for triage." in html(console(Role.VIEWER).get("/triage"))


def test_ops_engineer_assigns_and_reclassifies_from_triage(console, incident, session):
    report = incident("Invoices missing lines", origin="report", severity_class=3)
    ops = console(Role.OPS_ENGINEER)
    text = html(ops.get("/triage"))
    assert f'action="/incidents/{report.id}/assign"' in text and 'name="back" value="triage"' in text
    response = ops.post(f"/incidents/{report.id}/reclassify",
                        {"severity_class": "2", "reason": "Finance close is tomorrow", "back": "triage"})
    assert response.status_code == 303 and response.headers["Location"] == "/triage"
    response = ops.post(f"/incidents/{report.id}/reclassify", {"severity_class": "1", "reason": "", "back": "triage"})
    assert response.status_code == 303
    assert "Say why the class changes." in html(ops.get("/triage"))  # flashed on the page it came from
    response = ops.post(f"/incidents/{report.id}/assign", {"assignee": "ops-engineer@ops.example", "back": "triage"})
    assert response.status_code == 303
    assert "Nothing waiting for triage." in html(ops.get("/triage"))
    session.commit()
    session.expire_all()
    row = session.get(Incident, report.id)
    assert (row.severity_class, row.assignee.email) == (2, "ops-engineer@ops.example")


def test_back_cannot_redirect_anywhere_else(console, incident):
    report = incident("Invoices missing lines", origin="report")
    response = console(Role.OPS_ENGINEER).post(f"/incidents/{report.id}/comment",
                                               {"text": "looking", "back": "https://evil.example/"})
    assert response.headers["Location"] == f"/incidents/{report.id}"


# --- Report a problem ---------------------------------------------------------------------------

def test_ops_engineer_reports_a_problem_and_lands_on_the_incident(console, make, session):
    make.rules()
    make.service("billing")  # customer acme
    ops = console(Role.OPS_ENGINEER)
    form = html(ops.get("/incidents/new"))
    assert '<option value="acme">' in form and '<option value="billing">' in form
    response = ops.post("/incidents/new", {"title": "Invoices are corrupt", "description": "Totals are wrong",
                                           "customer": "acme", "service": "billing"})
    assert response.status_code == 303
    incident_id = int(re.search(r"/incidents/(\d+)$", response.headers["Location"]).group(1))
    page = html(ops.get(response.headers["Location"]))
    assert "Invoices are corrupt" in page and "class 2 (data)" in page
    [opened] = session.scalars(select(IncidentEvent).where(IncidentEvent.incident_id == incident_id)).all()
    assert (opened.kind, opened.source, opened.actor) == ("opened", "console", "ops-engineer@ops.example")
    incident = session.get(Incident, incident_id)
    assert (incident.origin, incident.customer.slug, incident.service.name) == ("report", "acme", "billing")


@pytest.mark.parametrize("data, message", [
    ({"title": "", "customer": "acme"}, "Give the problem a title."),
    ({"title": "x" * 501, "customer": "acme"}, "The title is at most 500 characters."),
    ({"title": "Broken", "customer": ""}, "Choose the customer affected."),
    ({"title": "Broken", "customer": "nobody"}, "Customer: unknown customer &#39;nobody&#39;"),
    ({"title": "Broken", "customer": "acme", "service": "elsewhere"}, "Service: &#39;acme&#39; has no service"),
])
def test_a_bad_report_is_refused_with_its_input_kept(console, make, session, data, message):
    make.rules()
    make.service("billing")
    response = console(Role.OPS_ENGINEER).post("/incidents/new", data)
    assert response.status_code == 422
    assert message in html(response)
    assert session.scalars(select(Incident)).first() is None


def test_only_roles_that_work_incidents_may_report(console, make, session):
    make.customer()
    responder = console(Role.RESPONDER)
    assert responder.get("/incidents/new").status_code == 403
    assert responder.post("/incidents/new", {"title": "Broken", "customer": "acme"}).status_code == 403
    assert session.scalars(select(Incident)).first() is None
