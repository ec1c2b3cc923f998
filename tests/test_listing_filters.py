"""The incident list's filters: status (and open), class, customer, service, assignee (and none),
title text taken literally, each with the cursor, through the service and through the API."""
from datetime import timedelta

import pytest

from incidents import clock as vigil_clock
from incidents.models import Incident
from incidents.services.errors import Invalid
from incidents.services import listing
from incidents.services.listing import Filters, list_incidents
from tests.helpers import bearer


@pytest.fixture
def world(make, clock):
    """Two customers with a service each, two people, and a way to add incidents to them."""
    acme, globex = make.customer("acme"), make.customer("globex")
    checkout = make.service("checkout", customer=acme, types=()).service
    sms = make.service("sms-gateway", customer=globex, types=()).service
    ana, ben = make.user("ana@ops.example"), make.user("ben@ops.example")

    def incident(title="Checkout slow", *, status="triggered", severity_class=3, service=checkout,
                 assignee=None, dedup_key=None):
        now = vigil_clock.now()
        row = Incident(title=title, description="", status=status, severity_class=severity_class,
                       category="defect", classification_rule="everything else", classification_reason="test",
                       origin="report", customer_id=service.customer_id, service_id=service.id,
                       dedup_key=dedup_key, assignee_id=assignee.id if assignee else None,
                       opened_at=now, response_due_at=now + timedelta(hours=8), updated_at=now,
                       resolved_at=now if status == "resolved" else None)
        make.session.add(row)
        make.session.commit()
        clock.advance(minutes=1)
        return row.id

    class World:
        pass

    w = World()
    w.incident, w.checkout, w.sms, w.ana, w.ben = incident, checkout, sms, ana, ben
    return w


@pytest.fixture(params=["one step", "then in order", "then the index"])
def search(request, monkeypatch):
    """Title search reads the newest SEARCH_WINDOW incidents in order, then reads on in order or
    asks the trigram index, by cost; a window of 2 makes these small tests take each way."""
    if request.param != "one step":
        monkeypatch.setattr(listing, "SEARCH_WINDOW", 2)
        monkeypatch.setattr(listing, "INDEX_FETCH_COST", 10**9 if request.param == "then in order" else 0)
    return request.param


def titles(session, **filters):
    rows, _ = list_incidents(session, Filters(**filters))
    return [i.title for i in rows]


def ids(session, **filters):
    rows, _ = list_incidents(session, Filters(**filters))
    return [i.id for i in rows]


def test_status_filters_and_open_means_not_resolved(session, world):
    world.incident("new", status="triggered")
    world.incident("seen", status="acknowledged")
    world.incident("done", status="resolved")
    assert titles(session, status="triggered") == ["new"]
    assert titles(session, status="acknowledged") == ["seen"]
    assert titles(session, status="resolved") == ["done"]
    assert titles(session, status="open") == ["seen", "new"]
    assert titles(session) == ["done", "seen", "new"]


def test_class_customer_and_service(session, world):
    world.incident("payments down", severity_class=1)
    world.incident("texts late", severity_class=2, service=world.sms)
    world.incident("typo on receipt", severity_class=3)
    assert titles(session, severity_class=1) == ["payments down"]
    assert titles(session, customer="globex") == ["texts late"]
    assert titles(session, service="checkout") == ["typo on receipt", "payments down"]


def test_assignee_by_email_in_any_case_and_none_for_unassigned(session, world):
    world.incident("ana's", assignee=world.ana)
    world.incident("ben's", assignee=world.ben)
    world.incident("nobody's")
    assert titles(session, assignee="ana@ops.example") == ["ana's"]
    assert titles(session, assignee=" Ben@OPS.example ") == ["ben's"]
    assert titles(session, assignee="none") == ["nobody's"]
    assert titles(session, assignee="NONE") == ["nobody's"]


def test_text_matches_part_of_the_title_in_any_case(session, world, search):
    world.incident("Checkout latency in eu-west")
    world.incident("SMS delivery delayed")
    world.incident("LATENCY spikes on login")
    assert titles(session, text="latency") == ["LATENCY spikes on login", "Checkout latency in eu-west"]
    assert titles(session, text="  Eu-West ") == ["Checkout latency in eu-west"]
    assert titles(session, text="ELA") == ["SMS delivery delayed"]


def test_text_of_several_words_is_one_phrase(session, world, search):
    world.incident("Checkout latency in eu-west")
    world.incident("Login latency in eu-west")
    assert titles(session, text="LATENCY in eu-west") == ["Login latency in eu-west", "Checkout latency in eu-west"]
    assert titles(session, text="checkout latency") == ["Checkout latency in eu-west"]
    assert titles(session, text="eu-west checkout") == []


@pytest.mark.parametrize("text, expected", [
    ("100%", ["CPU at 100% on db-1"]),
    ("100% on", ["CPU at 100% on db-1"]),
    ("disk_full", ["disk_full on db-2"]),
    ("k_full", ["disk_full on db-2"]),
    ("disk%full", []),  # as a pattern it would match both disk_full and diskXfull
    ("C:\\temp", ["C:\\temp is full"]),
    (":\\tem", ["C:\\temp is full"]),
    ("\\temp%", []),
])
def test_text_is_matched_literally_not_as_a_like_pattern(session, world, search, text, expected):
    for title in ("CPU at 100% on db-1", "CPU at 1000 on db-1", "disk_full on db-2", "diskXfull on db-2",
                  "C:\\temp is full", "C:temp is full"):
        world.incident(title)
    assert titles(session, text=text) == expected


@pytest.mark.parametrize("text", ["db", "%", "_", "\\", "%_%", "a-b c", "x1 y2"])
def test_text_without_three_letters_or_digits_in_a_row_is_refused(session, world, text):
    """The trigram index cannot look such text up; PostgreSQL would read every incident."""
    with pytest.raises(Invalid, match="text: needs a word of at least 3 letters or digits"):
        titles(session, text=text)


def test_text_longer_than_200_characters_is_refused(session, world):
    world.incident("x" * 200)
    assert titles(session, text="x" * 200) == ["x" * 200]
    assert titles(session, text=" " + "x" * 200 + " ") == ["x" * 200]
    with pytest.raises(Invalid, match="text: at most 200 characters"):
        titles(session, text="x" * 201)


def test_filters_combine(session, world, search):
    world.incident("a", status="triggered", severity_class=1, assignee=world.ana)
    world.incident("b", status="acknowledged", severity_class=1, assignee=world.ana)
    world.incident("c", status="resolved", severity_class=1, assignee=world.ana)
    world.incident("d", status="triggered", severity_class=2, assignee=world.ana)
    world.incident("e", status="triggered", severity_class=1, service=world.sms, assignee=world.ana)
    world.incident("f", status="triggered", severity_class=1)
    world.incident("g Outage", status="acknowledged", severity_class=1, assignee=world.ana)
    assert titles(session, status="open", severity_class=1, customer="acme") == ["g Outage", "f", "b", "a"]
    assert titles(session, status="open", severity_class=1, customer="acme",
                  assignee="ana@ops.example") == ["g Outage", "b", "a"]
    assert titles(session, status="open", severity_class=1, customer="acme", assignee="none") == ["f"]
    assert titles(session, status="open", service="checkout", text="outage") == ["g Outage"]
    assert titles(session, customer="globex", service="checkout") == []  # the service is acme's


@pytest.mark.parametrize("filters", [{"customer": "initech"}, {"service": "billing"},
                                     {"assignee": "zoe@ops.example"}, {"assignee": "none", "customer": "nobody"}])
def test_unknown_names_match_nothing(session, world, filters):
    world.incident("something")
    assert list_incidents(session, Filters(**filters)) == ([], None)


@pytest.mark.parametrize("filters, message", [
    ({"status": "closed"}, "status: must be one of triggered, acknowledged, resolved, open"),
    ({"severity_class": 4}, "severity_class: must be 1, 2 or 3"),
    ({"text": "abc\x00d"}, "text: contains a NUL character"),
])
def test_values_no_incident_can_have_are_refused(session, world, filters, message):
    with pytest.raises(Invalid) as error:
        list_incidents(session, Filters(**filters))
    assert error.value.message == message


def test_cursor_pages_through_filtered_results_newest_first(session, world, search):
    wanted = []
    for n in range(10):
        for_ana = n % 3 != 2
        world.incident(f"Queue backlog {n}", status="acknowledged" if n % 2 else "resolved",
                       assignee=world.ana if for_ana else None)
        world.incident(f"Unrelated {n}", assignee=world.ana)
        if for_ana:
            wanted.append(f"Queue backlog {n}")
    filters = Filters(assignee="ana@ops.example", text="backlog")
    seen, cursor, pages = [], None, 0
    while True:
        rows, cursor = list_incidents(session, filters, cursor=cursor, limit=3)
        seen += [i.title for i in rows]
        pages += 1
        if cursor is None:
            break
    assert seen == list(reversed(wanted)) and pages == 3  # 7 rows: 3 + 3 + 1

    rows, cursor = list_incidents(session, Filters(status="open", assignee="ana@ops.example", text="backlog"),
                                  limit=2)
    rest, last = list_incidents(session, Filters(status="open", assignee="ana@ops.example", text="backlog"),
                                cursor=cursor, limit=2)
    assert [i.title for i in rows + rest] == [f"Queue backlog {n}" for n in (9, 7, 3, 1)]
    assert last is None


def test_text_folds_case_beyond_ascii_on_postgresql(session, world, search):
    if session.get_bind().dialect.name != "postgresql":
        pytest.skip("SQLite's lower() and LIKE fold ASCII letters only")
    world.incident("Zahlungen in ÖSTERREICH fehlgeschlagen")
    assert titles(session, text="österreich") == ["Zahlungen in ÖSTERREICH fehlgeschlagen"]


# --- through the JSON API ---------------------------------------------------------------------

def get(client, key, query: str):
    return client.get(f"/api/v1/incidents?{query}", headers=bearer(key))


def test_api_passes_every_filter_to_the_list(client, make, world, search):
    key = make.api_key("read")
    world.incident("Checkout 100% down", status="acknowledged", severity_class=1, assignee=world.ana)
    world.incident("Checkout 1000 down", status="triggered", severity_class=1, assignee=world.ana)
    world.incident("SMS late", status="triggered", severity_class=2, service=world.sms)
    page = get(client, key, "status=open&severity_class=1&customer=acme&service=checkout"
                            "&assignee=ANA%40ops.example&text=100%25").json
    assert [i["title"] for i in page["items"]] == ["Checkout 100% down"] and page["next"] is None
    assert [i["title"] for i in get(client, key, "assignee=none").json["items"]] == ["SMS late"]
    assert get(client, key, "assignee=zoe%40ops.example").json == {"items": [], "next": None}
    assert get(client, key, "text=+late+").json["items"][0]["title"] == "SMS late"


def test_api_cursor_keeps_the_filters(client, make, world, search):
    key = make.api_key("read")
    for n in range(5):
        world.incident(f"Disk full {n}", assignee=world.ben)
        world.incident(f"Disk full elsewhere {n}")
    first = get(client, key, "assignee=ben%40ops.example&text=disk&limit=3").json
    rest = get(client, key, f"assignee=ben%40ops.example&text=disk&limit=3&cursor={first['next']}").json
    assert [i["title"] for i in first["items"] + rest["items"]] == [f"Disk full {n}" for n in (4, 3, 2, 1, 0)]
    assert rest["next"] is None


@pytest.mark.parametrize("query, message", [
    ("status=closed", "status: Must be one of: triggered, acknowledged, resolved, open."),
    ("text=" + "x" * 201, "text: Length must be between 1 and 200."),
    ("text=", "text: Length must be between 1 and 200."),
    ("assignee=" + "a" * 255, "assignee: Length must be between 1 and 254."),
    ("assignee=", "assignee: Length must be between 1 and 254."),
    ("severity_class=0", "severity_class: Must be greater than or equal to 1 and less than or equal to 3."),
    ("text=a%00bcd", "text: contains a NUL character"),
    ("text=%25_%25", "text: needs a word of at least 3 letters or digits"),
])
def test_api_refuses_bad_filters_with_a_clear_message(client, make, query, message):
    response = get(client, make.api_key("read"), query)
    assert response.status_code == 422, response.json
    assert response.json["error"]["message"] == message


def test_api_documents_the_filters(client):
    spec = client.get("/api/openapi.json").json
    params = {p["name"]: p for p in spec["paths"]["/api/v1/incidents"]["get"]["parameters"]}
    assert {"status", "severity_class", "customer", "service", "assignee", "text", "cursor", "limit"} <= set(params)
    assert "open" in params["status"]["schema"]["enum"]
    assert params["text"]["schema"]["maxLength"] == 200
    assert "none" in params["assignee"]["description"]
