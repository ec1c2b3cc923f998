"""Finding incidents: filters and a cursor that stays stable while new incidents arrive.

Every filter but the title text reads newest first (ORDER BY id DESC) along an index that ends in
id (migration 0004), so the first page costs about the same with a thousand incidents or a
million; title search reads the newest in order too, and asks a trigram index (PostgreSQL) when
the text turns out rare (see _search).
"""
from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

from sqlalchemy import ColumnElement, func, literal_column, select
from sqlalchemy.orm import Session, joinedload

from incidents.domain.enums import SEVERITY_CLASSES, Status
from incidents.models import Alert, Customer, Incident, Service, User
from incidents.services.errors import Invalid

OPEN = "open"  # a status filter meaning not resolved: triggered or acknowledged
STATUSES = (*(s.value for s in Status), OPEN)
UNASSIGNED = "none"  # an assignee filter meaning nobody
MAX_TEXT = 200
SEARCH_WINDOW = 10_000  # newest incidents a title search reads in order first (see _search)
INDEX_FETCH_COST = 20  # a title found by the trigram index costs about as much as 20 read in order
SEARCHABLE = re.compile(r"[^\W_]{3}")  # three letters or digits in a row


@dataclass(frozen=True)
class Filters:
    """What the incident list shows; None or an empty string means any.

    status: triggered, acknowledged, resolved, or open (not resolved).
    severity_class: 1, 2 or 3.
    customer: a customer slug; service: a service name; assignee: a user's e-mail (any case), or
    "none" for unassigned incidents. A name nobody has matches no incident.
    text: a part of the title, in any case, taken literally (% and _ are not wildcards; "crash
    loop" finds "Pods in crash loop", not "loop crash"); surrounding spaces are ignored; at most
    200 characters, with 3 letters or digits in a row somewhere (so the trigram index can look it
    up).
    """

    status: str | None = None
    severity_class: int | None = None
    customer: str | None = None
    service: str | None = None
    assignee: str | None = None
    text: str | None = None


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"id:{last_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, value = text.split(":", 1)
        number = int(value)
        if prefix != "id" or not 0 < number < 2**31:  # ids are PostgreSQL integers
            raise ValueError
        return number
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise Invalid("cursor: not a cursor this API gave out; start again without it") from None


def list_incidents(session: Session, filters: Filters, *, cursor: str | None = None,
                   limit: int = 50) -> tuple[list[Incident], str | None]:
    """Newest first; `next` is None on the last page."""
    before = decode_cursor(cursor) if cursor else None
    found = _conditions(session, filters)
    if found is None:
        return [], None
    conditions, pattern = found
    if before is not None:
        conditions.append(Incident.id < before)
    query = select(Incident).options(joinedload(Incident.customer), joinedload(Incident.service),
                                     joinedload(Incident.assignee)).where(*conditions)
    if pattern is None:
        rows = _newest(session, query, limit + 1)
    else:
        rows = _search(session, query, pattern, before=before, wanted=limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, encode_cursor(rows[-1].id) if more else None


def _newest(session: Session, query, wanted: int, *, order=Incident.id) -> list[Incident]:
    return list(session.scalars(query.order_by(order.desc()).limit(wanted)).unique())


def _search(session: Session, query, pattern: str, *, before: int | None, wanted: int) -> list[Incident]:
    """Titles containing `pattern`, newest first, at a cost that does not hang on PostgreSQL's
    guess of how many titles match (for a rare word it can be off a hundredfold, and it then reads
    the whole table newest first for matches that are not there).

    The newest SEARCH_WINDOW incidents are read in id order, each title tested: enough when the
    text is common, and otherwise a measure of how common it is. With that, reading on in id
    order (for about `missing / density` incidents) or asking the trigram index (about `density *
    floor` titles, each dearer to fetch) is chosen, whichever costs less; the index's matches are
    sorted afterwards.
    """
    top = before if before is not None else session.scalar(select(func.max(Incident.id) + 1))
    if top is None:
        return []
    lowered = func.lower(pattern)
    in_order = query.where(func.lower(Incident.title.concat("")).like(lowered, escape="\\"))  # no index
    by_index = query.where(func.lower(Incident.title).like(lowered, escape="\\"))
    floor = top - SEARCH_WINDOW
    rows = _newest(session, in_order.where(Incident.id >= floor), wanted)
    missing = wanted - len(rows)
    if rows and missing > 0 and floor > 1:
        density = len(rows) / SEARCH_WINDOW
        if missing / density < INDEX_FETCH_COST * density * floor:
            bottom = floor - 2 * int(missing / density)  # twice what should be enough
            rows += _newest(session, in_order.where(Incident.id < floor, Incident.id >= bottom), missing)
            floor = bottom
    if len(rows) < wanted and floor > 1:
        older = by_index.where(Incident.id < floor)
        rows += _newest(session, older, wanted - len(rows), order=Incident.id + 0)  # no ordered scan
    return rows


def _conditions(session: Session, filters: Filters) -> tuple[list[ColumnElement[bool]], str | None] | None:
    """The WHERE clauses for `filters` but the text, and the text's LIKE pattern; None when a
    customer, service or assignee named in them does not exist (so nothing can match)."""
    conditions: list[ColumnElement[bool]] = []
    if filters.status == OPEN:
        # Spelled as the partial index ix_incidents_open_id is, with a literal, so the planner
        # can use that index in a prepared (generic) plan too.
        conditions.append(Incident.status != literal_column("'resolved'"))
    elif filters.status:
        if filters.status not in STATUSES:
            raise Invalid(f"status: must be one of {', '.join(STATUSES)}")
        conditions.append(Incident.status == filters.status)
    if filters.severity_class is not None:
        if filters.severity_class not in SEVERITY_CLASSES:
            raise Invalid("severity_class: must be 1, 2 or 3")
        conditions.append(Incident.severity_class == filters.severity_class)
    words = (filters.text or "").strip()
    pattern = _contains(words) if words else None
    assignee = (filters.assignee or "").strip().lower()
    if assignee == UNASSIGNED:
        conditions.append(Incident.assignee_id.is_(None))
    ids = _ids_by_name(session, customer=filters.customer, service=filters.service,
                       assignee=assignee if assignee != UNASSIGNED else None)
    if ids is None:
        return None
    conditions.extend(column == value for column, value in ids)
    return conditions, pattern


def _contains(text: str) -> str:
    """A LIKE pattern (ESCAPE '\\') for titles that contain `text` literally.

    The text as a whole rather than word by word: PostgreSQL estimates how many titles hold a
    phrase from its statistics of lower(title), but multiplies the estimates of separate words as
    if they were unrelated, and for words that go together ("crash loop") then reads every title
    that has them before sorting (0.5 s among a million incidents instead of 15 ms).
    """
    if len(text) > MAX_TEXT:
        raise Invalid(f"text: at most {MAX_TEXT} characters")
    if "\x00" in text:
        raise Invalid("text: contains a NUL character")
    if not SEARCHABLE.search(text):
        # Without three letters or digits in a row the trigram index has nothing to look up, and
        # PostgreSQL would read every incident to find none.
        raise Invalid("text: needs a word of at least 3 letters or digits")
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _ids_by_name(session: Session, *, customer: str | None, service: str | None,
                 assignee: str | None) -> list[tuple[ColumnElement, int]] | None:
    """(column, id) for each name given, looked up in one round trip first: the planner then
    sees the ids themselves and picks the index that suits them. None when a name is unknown."""
    lookups = [(column, query) for column, query, name in (
        (Incident.customer_id, select(Customer.id).where(Customer.slug == customer), customer),
        (Incident.service_id, select(Service.id).where(Service.name == service), service),
        (Incident.assignee_id, select(User.id).where(User.email == assignee), assignee),
    ) if name]
    if not lookups:
        return []
    found = session.execute(select(*(q.scalar_subquery() for _, q in lookups))).one()
    if any(value is None for value in found):
        return None
    return [(column, value) for (column, _), value in zip(lookups, found)]


def list_alerts(session: Session, *, incident_id: int, cursor: str | None = None,
                limit: int = 50) -> tuple[list[Alert], str | None]:
    """An incident's alerts, newest first."""
    query = select(Alert).where(Alert.incident_id == incident_id)
    if cursor:
        query = query.where(Alert.id < decode_cursor(cursor))
    rows = list(session.scalars(query.order_by(Alert.id.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, encode_cursor(rows[-1].id) if more else None
