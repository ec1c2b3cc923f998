"""The rotations API: who is on call and until when, shifts across DST, overrides, and the iCalendar
feeds (parsed back with icalendar), with keys, scopes and bad input."""
from datetime import date, datetime, timedelta, timezone
from urllib.parse import quote

import pytest
from icalendar import Calendar

from tests.helpers import bearer

UTC = timezone.utc
ROT = "/api/v1/rotations/out-of-hours"


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
def keys(make, clock):
    """The example's out-of-hours rotation (Ana, Ben, Cara from Monday 2026-11-02 09:00 London)."""
    make.rotation()
    return {"read": make.api_key("read"), "write": make.api_key("write")}


def get(client, key, path, **params):
    query = "&".join(f"{k}={quote(v)}" for k, v in params.items())
    return client.get(f"{path}?{query}" if query else path, headers=bearer(key))


def events(response) -> list[tuple[str, datetime, datetime, str]]:
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "text/calendar"
    calendar = Calendar.from_ical(response.data)
    return [(str(e["summary"]), e.decoded("dtstart"), e.decoded("dtend"), str(e["uid"]))
            for e in calendar.walk("VEVENT")]


# --- listing and who is on call ------------------------------------------------------------------

def test_list_rotations(client, keys, make):
    make.rotation("triage", ("cara@ops.example", "ana@ops.example"), timezone="America/New_York",
                  weekday=2, at="08:30", start=date(2026, 1, 7))
    items = get(client, keys["read"], "/api/v1/rotations").json["items"]
    assert [r["name"] for r in items] == ["out-of-hours", "triage"]
    assert items[1] == {"name": "triage", "timezone": "America/New_York",
                        "handoff": {"day": "wed", "time": "08:30"}, "start": "2026-01-07",
                        "members": [{"email": "cara@ops.example", "name": "Cara"},
                                    {"email": "ana@ops.example", "name": "Ana"}]}


def test_oncall_now_is_the_clocks_now(client, keys):
    body = get(client, keys["read"], ROT + "/oncall").json
    assert body == {"rotation": "out-of-hours", "at": "2026-11-23T08:30:00+00:00",
                    "user": {"email": "cara@ops.example", "name": "Cara"},
                    "since": "2026-11-16T09:00:00+00:00", "until": "2026-11-23T09:00:00+00:00",
                    "override": False}


@pytest.mark.parametrize("at, who, until", [
    ("2026-11-23T09:00:00Z", "ana@ops.example", "2026-11-30T09:00:00+00:00"),       # at the handoff
    ("2026-11-23T09:30:00+01:00", "cara@ops.example", "2026-11-23T09:00:00+00:00"),  # 08:30 UTC
    ("2026-11-23T03:30:00-05:00", "cara@ops.example", "2026-11-23T09:00:00+00:00"),
    ("2027-03-24T12:00:00Z", "cara@ops.example", "2027-03-29T08:00:00+00:00"),      # BST: 09:00 is 08:00 UTC
    ("2027-10-27T12:00:00Z", "ana@ops.example", "2027-11-01T09:00:00+00:00"),       # GMT again
])
def test_oncall_at_an_instant(client, keys, at, who, until):
    body = get(client, keys["read"], ROT + "/oncall", at=at).json
    assert (body["user"]["email"], body["until"]) == (who, until)


def test_an_unencoded_plus_in_the_query_string_still_means_an_offset(client, keys):
    # ?at=...+01:00 typed into curl arrives as a space: read it as the offset it was.
    response = client.get(ROT + "/oncall?at=2026-11-23T09:30:00+01:00", headers=bearer(keys["read"]))
    assert response.json["at"] == "2026-11-23T08:30:00+00:00"


def test_before_the_first_handoff_nobody_is_on_call(client, keys):
    body = get(client, keys["read"], ROT + "/oncall", at="2026-11-02T08:59:59Z").json
    assert body == {"rotation": "out-of-hours", "at": "2026-11-02T08:59:59+00:00", "user": None,
                    "since": None, "until": None, "override": False}


@pytest.mark.parametrize("at, message", [
    ("2026-11-23T09:00:00", "at: '2026-11-23T09:00:00' has no UTC offset"),
    ("2026-11-23", "at: '2026-11-23' has no UTC offset"),
    ("tomorrow", "at: 'tomorrow' is not an ISO 8601 date and time"),
    ("2026-13-01T00:00:00Z", "at: '2026-13-01T00:00:00Z' is not an ISO 8601 date and time"),
    ("", "at: '' is not an ISO 8601 date and time"),
    ("9999-12-31T23:59:59Z", "at: '9999-12-31T23:59:59Z' is outside the years 1900 to 9000"),
    ("0001-01-01T00:00:00+14:00", "at: '0001-01-01T00:00:00+14:00' is"),
])
def test_a_bad_at_is_refused_clearly(client, keys, at, message):
    response = get(client, keys["read"], ROT + "/oncall", at=at)
    assert response.status_code == 422
    assert response.json["error"]["message"].startswith(message)


def test_unknown_rotation_is_a_404(client, keys):
    for path in ("/api/v1/rotations/nope/oncall", "/api/v1/rotations/nope/overrides"):
        response = get(client, keys["read"], path)
        assert (response.status_code, response.json["error"]) == (
            404, {"code": "not_found", "message": "rotation 'nope' does not exist"})
    response = get(client, keys["read"], "/api/v1/rotations/nope/shifts",
                   **{"from": "2026-11-01T00:00:00Z", "to": "2026-11-02T00:00:00Z"})
    assert response.status_code == 404


def test_the_json_api_wants_a_bearer_key_not_a_query_key(client, keys):
    assert client.get("/api/v1/rotations").status_code == 401
    assert client.get(f"/api/v1/rotations?key={keys['read']}").status_code == 401
    assert client.get(ROT + f"/oncall?key={keys['read']}").status_code == 401


# --- shifts ------------------------------------------------------------------------------------

def shift_rows(response) -> list[tuple[str, str, str, bool]]:
    assert response.status_code == 200, response.get_data(as_text=True)
    return [(s["user"]["email"], s["start"], s["end"], s["override"]) for s in response.json["items"]]


def test_shifts_keep_the_local_handoff_across_both_dst_changes(client, keys, make):
    make.rotation("london", ("ana@ops.example", "ben@ops.example"), start=date(2026, 3, 16))
    rows = shift_rows(get(client, keys["read"], "/api/v1/rotations/london/shifts",
                          **{"from": "2026-03-24T00:00:00Z", "to": "2026-04-01T00:00:00Z"}))
    assert rows == [("ben@ops.example", "2026-03-23T09:00:00+00:00", "2026-03-30T08:00:00+00:00", False),
                    ("ana@ops.example", "2026-03-30T08:00:00+00:00", "2026-04-06T08:00:00+00:00", False)]
    rows = shift_rows(get(client, keys["read"], "/api/v1/rotations/london/shifts",
                          **{"from": "2026-10-20T00:00:00Z", "to": "2026-10-26T09:00:00Z"}))
    assert rows == [("ben@ops.example", "2026-10-19T08:00:00+00:00", "2026-10-26T09:00:00+00:00", False)]
    hours = [(datetime.fromisoformat(end) - datetime.fromisoformat(start)) / timedelta(hours=1)
             for _, start, end, _ in rows]
    assert hours == [169]


def test_new_york_shift_is_167_hours_in_march(client, keys, make):
    make.rotation("ny", ("ana@ops.example", "ben@ops.example"), timezone="America/New_York",
                  start=date(2026, 3, 2))
    rows = shift_rows(get(client, keys["read"], "/api/v1/rotations/ny/shifts",
                          **{"from": "2026-03-03T00:00:00Z", "to": "2026-03-04T00:00:00Z"}))
    assert rows == [("ana@ops.example", "2026-03-02T14:00:00+00:00", "2026-03-09T13:00:00+00:00", False)]


def test_shifts_are_whole_not_cut_to_the_range(client, keys):
    rows = shift_rows(get(client, keys["read"], ROT + "/shifts",
                          **{"from": "2026-11-01T00:00:00Z", "to": "2026-11-10T00:00:00+01:00"}))
    assert rows == [("ana@ops.example", "2026-11-02T09:00:00+00:00", "2026-11-09T09:00:00+00:00", False),
                    ("ben@ops.example", "2026-11-09T09:00:00+00:00", "2026-11-16T09:00:00+00:00", False)]


@pytest.mark.parametrize("params, message", [
    ({"from": "2026-11-10T00:00:00Z", "to": "2026-11-10T00:00:00Z"}, "to: must be after from"),
    ({"from": "2026-11-10T00:00:00Z", "to": "2026-11-09T00:00:00Z"}, "to: must be after from"),
    ({"from": "2026-01-01T00:00:00Z", "to": "2027-01-02T00:00:01Z"}, "to: the range may span at most 366 days"),
    ({"from": "2026-11-10T00:00:00Z"}, "to: Missing data for required field."),
    ({"to": "2026-11-10T00:00:00Z"}, "from: Missing data for required field."),
    ({"from": "2026-11-10T00:00:00", "to": "2026-11-11T00:00:00Z"}, "from: '2026-11-10T00:00:00' has no UTC offset"),
    ({"from": "last week", "to": "2026-11-11T00:00:00Z"}, "from: 'last week' is not an ISO 8601"),
])
def test_bad_ranges_are_refused(client, keys, params, message):
    response = get(client, keys["read"], ROT + "/shifts", **params)
    assert response.status_code == 422
    assert response.json["error"]["message"].startswith(message)


def test_a_range_of_exactly_366_days_is_allowed(client, keys):
    response = get(client, keys["read"], ROT + "/shifts", **{"from": "2026-11-01T00:00:00Z",
                                                              "to": "2027-11-02T00:00:00Z"})
    assert response.status_code == 200
    assert len(response.json["items"]) == 53


# --- overrides -----------------------------------------------------------------------------------

def add(client, key, user="zed@ops.example", start="2026-11-24T18:00:00Z", end="2026-11-25T08:00:00Z",
        rotation=ROT):
    return client.post(rotation + "/overrides", json={"user": user, "start": start, "end": end},
                       headers=bearer(key))


def test_an_override_cuts_into_the_shift_and_shows_everywhere(client, keys, make):
    make.user("zed@ops.example")
    response = add(client, keys["write"], user="ZED@ops.example ", start="2026-11-24T18:00:00+00:00")
    assert response.status_code == 201
    created = response.json
    assert {k: created[k] for k in ("user", "start", "end", "created_by")} == {
        "user": {"email": "zed@ops.example", "name": "Zed"}, "start": "2026-11-24T18:00:00+00:00",
        "end": "2026-11-25T08:00:00+00:00", "created_by": "api key tests-write"}

    assert get(client, keys["read"], ROT + "/overrides").json["items"] == [created]
    rows = shift_rows(get(client, keys["read"], ROT + "/shifts",
                          **{"from": "2026-11-24T00:00:00Z", "to": "2026-11-26T00:00:00Z"}))
    assert rows == [("ana@ops.example", "2026-11-23T09:00:00+00:00", "2026-11-24T18:00:00+00:00", False),
                    ("zed@ops.example", "2026-11-24T18:00:00+00:00", "2026-11-25T08:00:00+00:00", True),
                    ("ana@ops.example", "2026-11-25T08:00:00+00:00", "2026-11-30T09:00:00+00:00", False)]
    body = get(client, keys["read"], ROT + "/oncall", at="2026-11-25T07:00:00Z").json
    assert (body["user"]["email"], body["until"], body["override"]) == (
        "zed@ops.example", "2026-11-25T08:00:00+00:00", True)


def test_overlapping_overrides_the_later_start_wins(client, keys, make):
    make.user("zed@ops.example")
    assert add(client, keys["write"], start="2026-11-24T00:00:00Z", end="2026-11-26T00:00:00Z").status_code == 201
    assert add(client, keys["write"], user="ben@ops.example", start="2026-11-25T00:00:00Z",
               end="2026-11-25T06:00:00Z").status_code == 201
    body = get(client, keys["read"], ROT + "/oncall", at="2026-11-25T03:00:00Z").json
    assert (body["user"]["email"], body["until"]) == ("ben@ops.example", "2026-11-25T06:00:00+00:00")


def test_overrides_with_equal_starts_the_one_made_later_wins(client, keys, make):
    make.user("zed@ops.example")
    add(client, keys["write"], start="2026-11-25T00:00:00Z", end="2026-11-25T06:00:00Z")
    add(client, keys["write"], user="ben@ops.example", start="2026-11-25T00:00:00Z", end="2026-11-25T03:00:00Z")
    body = get(client, keys["read"], ROT + "/oncall", at="2026-11-25T01:00:00Z").json
    assert body["user"]["email"] == "ben@ops.example"


@pytest.mark.parametrize("fields, status, message", [
    ({"user": "nobody@ops.example"}, 422, "user: no active user 'nobody@ops.example'"),
    ({"end": "2026-11-24T18:00:00Z"}, 422, "end: must be after start"),
    ({"end": "2026-11-24T17:00:00Z"}, 422, "end: must be after start"),
    ({"start": "2026-11-24T18:00:00"}, 422, "start: '2026-11-24T18:00:00' has no UTC offset"),
    ({"start": 1764007200}, 422, "start: Not a valid string."),
    ({"user": ""}, 422, "user: Length must be between 3 and 254."),
    ({"rotation": "/api/v1/rotations/nope"}, 404, "rotation 'nope' does not exist"),
])
def test_bad_overrides_are_refused_and_nothing_is_written(client, keys, make, fields, status, message):
    make.user("zed@ops.example")
    response = add(client, keys["write"], **fields)
    assert response.status_code == status
    assert response.json["error"]["message"].startswith(message)
    assert get(client, keys["read"], ROT + "/overrides").json["items"] == []


def test_an_inactive_user_cannot_cover(client, keys, make):
    make.user("zed@ops.example", active=False)
    assert add(client, keys["write"]).status_code == 422


def test_changing_overrides_needs_write_scope(client, keys, make):
    make.user("zed@ops.example")
    assert add(client, keys["read"]).status_code == 403
    override_id = add(client, keys["write"]).json["id"]
    assert client.delete(f"{ROT}/overrides/{override_id}", headers=bearer(keys["read"])).status_code == 403
    assert len(get(client, keys["read"], ROT + "/overrides").json["items"]) == 1


def test_delete_an_override(client, keys, make):
    make.user("zed@ops.example")
    make.rotation("triage", ("cara@ops.example",))
    override_id = add(client, keys["write"]).json["id"]
    other_id = add(client, keys["write"], rotation="/api/v1/rotations/triage").json["id"]

    # an override is deleted through its own rotation only
    response = client.delete(f"{ROT}/overrides/{other_id}", headers=bearer(keys["write"]))
    assert (response.status_code, response.json["error"]["message"]) == (
        404, f"rotation 'out-of-hours' has no override {other_id}")

    response = client.delete(f"{ROT}/overrides/{override_id}", headers=bearer(keys["write"]))
    assert (response.status_code, response.data) == (204, b"")
    assert get(client, keys["read"], ROT + "/overrides").json["items"] == []
    assert client.delete(f"{ROT}/overrides/{override_id}", headers=bearer(keys["write"])).status_code == 404
    assert len(get(client, keys["read"], "/api/v1/rotations/triage/overrides").json["items"]) == 1
    assert client.delete(f"{ROT}/overrides/0", headers=bearer(keys["write"])).status_code == 404


# --- iCalendar feeds -----------------------------------------------------------------------------

def test_the_rotation_feed_covers_four_weeks_back_to_26_weeks_ahead(client, keys):
    found = events(client.get(ROT + f"/calendar.ics?key={keys['read']}"))
    # now is 2026-11-23 08:30 UTC: the window is 2026-10-26 08:30 to 2027-05-24 08:30, and the
    # rotation starts on 2026-11-02, so the first event is its first shift.
    assert found[0][:3] == ("On call: Ana (out-of-hours)", utc(2026, 11, 2, 9), utc(2026, 11, 9, 9))
    # 09:00 BST on 2027-05-24 is 08:00 UTC, before the window ends: that shift is the last.
    assert found[-1][:3] == ("On call: Cara (out-of-hours)", utc(2027, 5, 24, 8), utc(2027, 5, 31, 8))
    assert len(found) == 30
    assert all(start.tzinfo is not None and start.utcoffset() == timedelta(0) for _, start, _, _ in found)
    for before, after in zip(found, found[1:]):
        assert before[2] == after[1]  # back to back, no gaps
    spring = next(e for e in found if e[1] == utc(2027, 3, 22, 9))  # the week BST begins
    assert spring[2] - spring[1] == timedelta(hours=167)
    assert len({uid for *_, uid in found}) == len(found)


def test_feed_uids_are_stable_as_time_moves_on(client, keys, clock):
    first = events(client.get(ROT + f"/calendar.ics?key={keys['read']}"))
    clock.advance(days=10)
    later = events(client.get(ROT + f"/calendar.ics?key={keys['read']}"))
    before = {(start, end): uid for _, start, end, uid in first}
    after = {(start, end): uid for _, start, end, uid in later}
    shared = before.keys() & after.keys()
    assert len(shared) == len(before) == 30 and len(after) == 31  # a week more ahead, none gone yet
    assert all(before[span] == after[span] for span in shared)


def test_the_feed_shows_overrides(client, keys, make):
    make.user("zed@ops.example")
    add(client, keys["write"])
    found = events(client.get(ROT + "/calendar.ics", headers=bearer(keys["read"])))
    assert ("On call: Zed (out-of-hours, override)", utc(2026, 11, 24, 18), utc(2026, 11, 25, 8)) in \
        [e[:3] for e in found]


def test_a_users_feed_holds_their_shifts_across_rotations(client, keys, make):
    make.rotation("triage", ("cara@ops.example", "ana@ops.example"), timezone="America/New_York",
                  start=date(2026, 11, 2))
    make.user("zed@ops.example")
    add(client, keys["write"], user="ana@ops.example", start="2026-12-01T00:00:00Z", end="2026-12-02T00:00:00Z",
        rotation="/api/v1/rotations/triage")
    response = client.get(f"/api/v1/users/ANA@ops.example/calendar.ics?key={keys['read']}")
    found = events(response)
    assert response.headers["Content-Disposition"] == 'inline; filename="ANA@ops.example.ics"'
    labels = {summary for summary, *_ in found}
    assert labels == {"On call: Ana (out-of-hours)", "On call: Ana (triage)", "On call: Ana (triage, override)"}
    assert ("On call: Ana (triage)", utc(2026, 11, 9, 14), utc(2026, 11, 16, 14)) == found[1][:3]
    assert ("On call: Ana (triage, override)", utc(2026, 12, 1), utc(2026, 12, 2)) in [e[:3] for e in found]
    starts = [start for _, start, _, _ in found]
    assert starts == sorted(starts)
    assert not any("Ben" in summary or "Cara" in summary for summary, *_ in found)


def test_feeds_check_the_key_before_anything_else(client, keys):
    for path in (ROT + "/calendar.ics", "/api/v1/rotations/nope/calendar.ics",
                 "/api/v1/users/nobody@ops.example/calendar.ics"):
        assert client.get(path).status_code == 401
        assert client.get(path + "?key=wrong").status_code == 401
        assert client.get(path + "?key=").status_code == 401
        assert client.get(path + "?key=" + "x" * 5000).status_code == 401
    response = client.get(f"/api/v1/rotations/nope/calendar.ics?key={keys['read']}")
    assert (response.status_code, response.json["error"]["code"]) == (404, "not_found")
    response = client.get(f"/api/v1/users/nobody@ops.example/calendar.ics?key={keys['read']}")
    assert (response.status_code, response.json["error"]["message"]) == (
        404, "user 'nobody@ops.example' does not exist")


def test_an_empty_rotation_feed_is_still_a_calendar(client, keys, make):
    make.rotation("later", ("ana@ops.example",), start=date(2028, 1, 3))
    assert events(client.get(f"/api/v1/rotations/later/calendar.ics?key={keys['read']}")) == []


# MultiAuth(auth, calendar_key) makes APIFlask register BearerAuth a second time; it says so, harmlessly.
@pytest.mark.filterwarnings("ignore:The auth scheme name 'BearerAuth' has existed")
def test_the_openapi_document_describes_the_query_key(client):
    spec = client.get("/api/openapi.json").json
    assert spec["components"]["securitySchemes"]["CalendarKey"] == {
        "type": "apiKey", "in": "query", "name": "key",
        "description": "An API key with read scope as `?key=`; only the iCalendar feeds accept it."}
    for path in ("/api/v1/rotations/{name}/calendar.ics", "/api/v1/users/{email}/calendar.ics"):
        operation = spec["paths"][path]["get"]
        assert "?key=API_KEY" in operation["description"]
        assert {"CalendarKey": ["read"]} in operation["security"]
        assert "text/calendar" in operation["responses"]["200"]["content"]
    assert {"BearerAuth": ["read"]} in spec["paths"]["/api/v1/rotations"]["get"]["security"]


def test_override_changes_through_the_api_are_audited(client, make, session, clock):
    from incidents.models import AuditEvent
    make.rotation()
    key = make.api_key("write")
    headers = {"Authorization": f"Bearer {key}"}
    made = client.post("/api/v1/rotations/out-of-hours/overrides", headers=headers, json={
        "user": "ben@ops.example", "start": "2026-11-24T09:00:00Z", "end": "2026-11-24T17:00:00Z"})
    assert made.status_code == 201, made.json
    gone = client.delete(f"/api/v1/rotations/out-of-hours/overrides/{made.json['id']}", headers=headers)
    assert gone.status_code == 204
    rows = session.query(AuditEvent).order_by(AuditEvent.id).all()
    assert [(r.action, r.door, r.actor) for r in rows] == [
        ("override.create", "api", "api key tests-write"), ("override.remove", "api", "api key tests-write")]
