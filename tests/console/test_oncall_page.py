"""The On call pages: who covers now and next, six weeks of shifts, overrides made and removed from
the console (audited, EDIT_ONCALL only), and the calendar feed URLs."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from incidents.domain.enums import Role
from incidents.models import AuditEvent, RotationOverride, User
from incidents.services import oncall

ROT = "/oncall/out-of-hours"
# The clock stands at Mon 2026-11-23 08:30 UTC (GMT in London): Cara's week ends at 09:00, then Ana's.


def utc(*parts) -> datetime:
    return datetime(*parts, tzinfo=timezone.utc)


def on_call_at(session, at: datetime, name: str = "out-of-hours") -> str:
    session.rollback()  # a fresh look at what the requests committed
    user, _ = oncall.oncall_at(session, oncall.get(session, name), at)
    return user.email


def overrides(session) -> list[RotationOverride]:
    session.rollback()  # a fresh look at what the requests committed
    return list(session.scalars(select(RotationOverride)))


def add(c, user="ben@ops.example", start="2026-11-24T18:00", end="2026-11-25T08:00", **extra):
    return c.post(ROT + "/overrides", {"user": user, "start": start, "end": end, **extra})


@pytest.fixture
def ops(console, make, clock):
    make.rotation()
    return console(Role.OPS_ENGINEER)


def test_the_list_shows_who_covers_now_until_when_and_who_is_next(ops):
    page = ops.get("/oncall").get_data(as_text=True)
    assert "out-of-hours" in page
    now, rest = page.split("<dt>Now</dt>")[1].split("<dt>Next</dt>")
    assert "Cara" in now and "until Mon 23 Nov 09:00 GMT" in now
    assert "Ana" in rest.split("<dt>Handoff</dt>")[0]
    assert "Mon 09:00" in page and "Europe/London" in page


def test_the_rotation_page_shows_six_weeks_of_shifts_in_the_rotations_zone(ops):
    page = ops.get(ROT).get_data(as_text=True)
    assert page.count('class="week"') == 6
    assert "Week of Mon 23 Nov 2026" in page and "Week of Mon 28 Dec 2026" in page
    assert "Mon 30 Nov 09:00 GMT" in page  # Ana hands over to Ben
    assert "Times in <strong>Europe/London</strong>" in page


def test_times_follow_the_rotations_zone_and_its_daylight_saving(console, make, clock):
    make.rotation("us", timezone="America/New_York", at="09:00")
    page = console(Role.VIEWER).get("/oncall/us").get_data(as_text=True)
    assert "Mon 23 Nov 09:00 EST" in page  # 14:00 UTC


def test_a_rotation_before_its_first_shift_says_nobody_and_names_the_first(console, make, clock):
    make.rotation("later", start=datetime(2026, 12, 7).date())
    page = console(Role.VIEWER).get("/oncall").get_data(as_text=True)
    assert "Nobody: the first shift has not started." in page
    assert "from Mon 07 Dec 09:00 GMT" in page


def test_no_rotations_is_an_empty_state(console, clock):
    page = console(Role.VIEWER).get("/oncall").get_data(as_text=True)
    assert "No rotations yet" in page


def test_feed_urls_are_shown_to_copy_with_what_key_they_need(ops):
    page = ops.get(ROT).get_data(as_text=True)
    assert "http://vigil.test/api/v1/rotations/out-of-hours/calendar.ics?key=YOUR_READ_KEY" in page
    assert "http://vigil.test/api/v1/users/ops-engineer@ops.example/calendar.ics?key=YOUR_READ_KEY" in page
    assert 'data-copy="#feed-rotation"' in page and "read scope" in page


def test_the_feed_url_works_with_a_read_key(ops, client, make):
    key = make.api_key("read")
    url = "/api/v1/rotations/out-of-hours/calendar.ics?key=" + key
    response = client.get(url)
    assert response.status_code == 200 and b"BEGIN:VCALENDAR" in response.data


# --- overrides --------------------------------------------------------------------------------------

def test_an_override_made_in_the_console_changes_who_is_on_call_and_shows_in_the_calendar(ops, session):
    assert on_call_at(session, utc(2026, 11, 24, 20)) == "ana@ops.example"

    response = add(ops)

    assert response.status_code == 303
    assert on_call_at(session, utc(2026, 11, 24, 20)) == "ben@ops.example"
    assert on_call_at(session, utc(2026, 11, 25, 9)) == "ana@ops.example"
    page = ops.get(ROT).get_data(as_text=True)
    assert "Override added: Ben covers out-of-hours from Tue 24 Nov 18:00 GMT until Wed 25 Nov 08:00 GMT." in page
    calendar = page.split('id="calendar"')[1].split('id="overrides"')[0]
    assert "Tue 24 Nov 18:00 GMT" in calendar and "badge override" in calendar
    [row] = overrides(session)
    assert (row.user.email, row.start, row.end, row.created_by) == (
        "ben@ops.example", utc(2026, 11, 24, 18), utc(2026, 11, 25, 8), "ops-engineer@ops.example")


def test_local_times_are_read_in_the_rotations_zone(console, make, session, clock):
    make.rotation("us", timezone="America/New_York")
    c = console(Role.OPS_ENGINEER)
    c.post("/oncall/us/overrides", {"user": "cara@ops.example", "start": "2026-11-24T18:00",
                                    "end": "2026-11-24T23:00"})
    [row] = overrides(session)
    assert (row.start, row.end) == (utc(2026, 11, 24, 23), utc(2026, 11, 25, 4))


def test_making_and_removing_an_override_is_audited(ops, session):
    add(ops)
    [row] = overrides(session)
    response = ops.post(f"{ROT}/overrides/{row.id}/remove")

    assert response.status_code == 303
    assert overrides(session) == []
    assert on_call_at(session, utc(2026, 11, 24, 20)) == "ana@ops.example"
    events = session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
    assert [(e.action, e.target, e.actor, e.door) for e in events] == [
        ("override.create", "out-of-hours", "ops-engineer@ops.example", "console"),
        ("override.remove", "out-of-hours", "ops-engineer@ops.example", "console")]
    assert events[0].details["user"] == "ben@ops.example"
    assert events[1].details["start"] == "2026-11-24T18:00:00+00:00"


def test_overlapping_overrides_are_allowed_and_the_later_start_wins(ops, session):
    add(ops, user="ben@ops.example", start="2026-11-24T18:00", end="2026-11-25T08:00")
    response = add(ops, user="cara@ops.example", start="2026-11-24T22:00", end="2026-11-25T02:00")
    assert response.status_code == 303
    page = ops.get(ROT).get_data(as_text=True)
    assert "It overlaps 1 other override(s); where overrides overlap, the one that starts later wins." in page
    assert on_call_at(session, utc(2026, 11, 24, 23)) == "cara@ops.example"
    assert on_call_at(session, utc(2026, 11, 25, 3)) == "ben@ops.example"


@pytest.mark.parametrize("role", [Role.VIEWER, Role.RESPONDER])
def test_viewers_and_responders_cannot_change_overrides(console, make, session, clock, role):
    rotation = make.rotation()
    ben = session.scalars(select(User).where(User.email == "ben@ops.example")).one()
    session.add(RotationOverride(rotation=rotation, user=ben, start=utc(2026, 11, 24, 18),
                                 end=utc(2026, 11, 25, 8), created_by="x", created_at=utc(2026, 11, 23)))
    session.commit()
    override_id = overrides(session)[0].id
    c = console(role)

    page = c.get(ROT).get_data(as_text=True)
    assert "Add an override" not in page and "Remove" not in page
    assert add(c, user="cara@ops.example").status_code == 403
    assert c.post(f"{ROT}/overrides/{override_id}/remove").status_code == 403
    assert [(o.user.email, o.id) for o in overrides(session)] == [("ben@ops.example", override_id)]
    assert session.scalars(select(AuditEvent).where(AuditEvent.action.like("override.%"))).all() == []


@pytest.mark.parametrize("fields, message", [
    ({"start": "2026-11-25T08:00", "end": "2026-11-24T18:00"}, "must be after the start"),
    ({"start": "2026-11-24T18:00", "end": "2026-11-24T18:00"}, "must be after the start"),
    ({"start": "tomorrow", "end": "2026-11-24T18:00"}, "is not a date and time; expected one like"),
    ({"start": "2026-13-45T99:00"}, "is not a date and time"),
    ({"start": "99999-01-01T00:00"}, "is not a date and time"),
    ({"start": "2026-11-24T18:00+05:00"}, "without an offset"),
    ({"start": "2026-11-20T18:00"}, "is in the past"),
    ({"start": "2028-01-01T00:00", "end": "2028-01-02T00:00"}, "at most 366 days ahead"),
    ({"start": "2026-11-24T00:00", "end": "2028-01-01T00:00"}, "can last at most 366 days"),
    ({"start": "2027-03-28T01:30", "end": "2027-03-28T05:00"}, "does not exist in Europe/London"),
    ({"start": "2026-11-24T18:00" + " " * 40}, "Field cannot be longer than 32 characters"),
    ({"user": "nobody@ops.example"}, "no active user"),
    ({"user": "x" * 300 + "@ops.example"}, "Field cannot be longer than 254 characters"),
    ({"user": ""}, "This field is required"),
    ({"end": ""}, "This field is required"),
])
def test_bad_overrides_are_refused_clearly_and_nothing_is_written(ops, session, fields, message):
    response = add(ops, **fields)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert overrides(session) == []


def test_a_deactivated_user_cannot_cover(ops, make, session):
    make.user("gone@ops.example", active=False)
    assert "gone@ops.example" not in ops.get(ROT).get_data(as_text=True)
    response = add(ops, user="gone@ops.example")
    assert response.status_code == 422 and "no active user" in response.get_data(as_text=True)
    assert overrides(session) == []


def test_a_start_a_few_minutes_ago_is_still_now(ops, session):
    assert add(ops, start="2026-11-23T08:20", end="2026-11-23T12:00").status_code == 303
    assert on_call_at(session, utc(2026, 11, 23, 10)) == "ben@ops.example"


def test_tampered_names_and_ids_are_404(ops, make, session):
    make.rotation("triage", members=("cara@ops.example",))
    add(ops)
    override_id = overrides(session)[0].id
    assert ops.get("/oncall/nope").status_code == 404
    assert ops.post("/oncall/nope/overrides", {"user": "ben@ops.example", "start": "2026-11-24T18:00",
                                               "end": "2026-11-25T08:00"}).status_code == 404
    assert ops.post(f"{ROT}/overrides/999999/remove").status_code == 404
    assert ops.post(f"/oncall/triage/overrides/{override_id}/remove").status_code == 404  # not its rotation
    assert ops.post(f"{ROT}/overrides/99999999999999999999/remove").status_code == 404
    assert ops.get("/oncall/" + "x" * 101).status_code == 404
    assert len(overrides(session)) == 1


def test_a_form_without_its_csrf_token_changes_nothing(ops, session):
    assert ops.post(ROT + "/overrides", {"user": "ben@ops.example", "start": "2026-11-24T18:00",
                                         "end": "2026-11-25T08:00"}, csrf=False).status_code == 400
    assert overrides(session) == []


def test_names_render_escaped(console, make, session, clock):
    make.user("mallory@ops.example")
    mallory = session.scalars(select(User).where(User.email == "mallory@ops.example")).one()
    mallory.name = "<script>alert(1)</script>"
    session.commit()
    make.rotation("x", members=("mallory@ops.example",))
    c = console(Role.OPS_ENGINEER)
    for url in ("/oncall", "/oncall/x"):
        page = c.get(url).get_data(as_text=True)
        assert "<script>alert(1)</script>" not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
