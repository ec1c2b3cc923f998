"""The aggregate queries behind the SLA report: the database computes every figure.

Durations are whole seconds (rounded) on both databases, so PostgreSQL and SQLite give the same
numbers for the same data. The 90th percentile is PostgreSQL's percentile_cont(0.9) (linear
interpolation between the two nearest ranks); on SQLite the same interpolation is done over the two
ranks a window query picks out, with the same float arithmetic.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, and_, case, func, literal, or_, select
from sqlalchemy.orm import Session

from incidents.models import Incident, SlaPause

P90 = 0.9
OUTAGE = "outage"


def responded_at() -> ColumnElement:
    """When someone first responded to an incident: the response clock's responded_at, or for
    incidents from before it (migration 0005 copies them, but to be sure) the first acknowledgement."""
    # responded_at arrives with the response clock
    return func.coalesce(Incident.responded_at, Incident.acknowledged_at)


def seconds(session: Session, later, earlier) -> ColumnElement:
    """later - earlier in whole seconds, the same on PostgreSQL and SQLite."""
    if _postgres(session):
        return func.round(func.extract("epoch", later - earlier))
    return func.round((func.julianday(later) - func.julianday(earlier)) * 86400)


def met(session: Session) -> ColumnElement[bool]:
    return and_(responded_at().is_not(None), responded_at() <= Incident.response_due_at)


def breached(session: Session, as_of: datetime) -> ColumnElement[bool]:
    """Responded late, or not at all and the deadline has passed."""
    return or_(responded_at() > Incident.response_due_at,
               and_(responded_at().is_(None), Incident.response_due_at < as_of))


def class_rows(session: Session, conditions: list, *, by_customer: bool, as_of: datetime) -> list[dict]:
    """Per class (and per customer when `by_customer`): counts, mean and p90 times to
    acknowledge and to resolve, in seconds."""
    ack = seconds(session, responded_at(), Incident.opened_at)
    resolve = seconds(session, Incident.resolved_at, Incident.opened_at)
    keys = [Incident.customer_id, Incident.severity_class] if by_customer else [Incident.severity_class]
    columns = [
        *keys,
        func.count().label("opened"),
        func.count(case((met(session), 1))).label("met"),
        func.count(case((breached(session, as_of), 1))).label("breached"),
        func.avg(ack).label("mtta_mean"),
        func.avg(resolve).label("mttr_mean"),
    ]
    if _postgres(session):
        columns += [func.percentile_cont(P90).within_group(ack).label("mtta_p90"),
                    func.percentile_cont(P90).within_group(resolve).label("mttr_p90")]
    query = select(*columns).where(*conditions).group_by(*keys)
    rows = [dict(r._mapping) for r in session.execute(query)]
    if not _postgres(session):
        for name, duration in (("mtta_p90", ack), ("mttr_p90", resolve)):
            found = _p90_sqlite(session, conditions, keys, duration)
            for row in rows:
                row[name] = found.get(tuple(row[k.key] for k in keys))
    return rows


def _p90_sqlite(session: Session, conditions: list, keys: list, duration) -> dict[tuple, float]:
    """percentile_cont(0.9) per group, as PostgreSQL computes it: the values at ranks
    floor(0.9*(n-1)) and the one after (0-based), interpolated linearly."""
    ranked = (select(*keys, duration.label("v"),
                     func.row_number().over(partition_by=keys, order_by=duration).label("rn"),
                     func.count().over(partition_by=keys).label("n"))
              .where(*conditions, duration.is_not(None)).subquery())
    group = [ranked.c[k.key] for k in keys]
    first = func.cast(P90 * (ranked.c.n - 1), _integer()) + 1  # 1-based rank, floor for n >= 1
    query = (select(*group, func.max(ranked.c.n),
                    func.max(case((ranked.c.rn == first, ranked.c.v))),
                    func.max(case((ranked.c.rn == first + 1, ranked.c.v))))
             .group_by(*group))
    found = {}
    for *key, n, low, high in session.execute(query):
        position = P90 * (n - 1)
        fraction = position - int(position)
        found[tuple(key)] = float(low) if high is None or fraction == 0 else \
            float(low) + (float(high) - float(low)) * fraction
    return found


def paused_seconds(session: Session, as_of: datetime) -> ColumnElement:
    """One pause's length in whole seconds; a pause still open counts up to `as_of`."""
    stop = func.coalesce(SlaPause.ended_at, _at(as_of))
    return seconds(session, case((stop > SlaPause.started_at, stop), else_=SlaPause.started_at),
                   SlaPause.started_at)


def pause_rows(session: Session, conditions: list, *, by_customer: bool, as_of: datetime) -> list[dict]:
    """Per class (and per customer): incidents paused, pauses and seconds paused. The join starts
    from the month's incidents (their indexes) and reaches sla_pauses by its incident_id index."""
    keys = [Incident.customer_id, Incident.severity_class] if by_customer else [Incident.severity_class]
    query = (select(*keys, func.count(func.distinct(Incident.id)).label("paused_incidents"),
                    func.count(SlaPause.id).label("pauses"),
                    func.sum(paused_seconds(session, as_of)).label("paused_seconds"))
             .join(SlaPause, SlaPause.incident_id == Incident.id).where(*conditions).group_by(*keys))
    return [dict(r._mapping) for r in session.execute(query)]


def _pause_columns(session: Session, as_of: datetime) -> list:
    """Each listed incident's pauses and seconds paused, by a look-up on sla_pauses.incident_id."""
    mine = SlaPause.incident_id == Incident.id
    return [select(func.count(SlaPause.id)).where(mine).scalar_subquery().label("pauses"),
            select(func.coalesce(func.sum(paused_seconds(session, as_of)), 0)).where(mine)
            .scalar_subquery().label("paused")]


def outcome(session: Session, as_of: datetime) -> ColumnElement[str]:
    return case((met(session), "met"), (breached(session, as_of), "breached"), else_="pending")


def incident_rows(session: Session, conditions: list, *, as_of: datetime) -> list:
    """Every incident in the month, oldest first, with its outcome and its pauses."""
    query = (select(Incident.id, Incident.customer_id, Incident.title, Incident.severity_class,
                    Incident.opened_at, Incident.response_due_at, responded_at().label("responded_at"),
                    outcome(session, as_of).label("outcome"), *_pause_columns(session, as_of))
             .where(*conditions).order_by(Incident.customer_id, Incident.opened_at, Incident.id))
    return list(session.execute(query))


def breach_rows(session: Session, conditions: list, *, as_of: datetime) -> list:
    """Every breach in the month, oldest first: id, customer, title, class, deadline, response,
    overrun, and the incident's pauses."""
    query = (select(Incident.id, Incident.customer_id, Incident.title, Incident.severity_class,
                    Incident.response_due_at, responded_at().label("responded_at"),
                    seconds(session, responded_at(), Incident.response_due_at).label("overrun"),
                    *_pause_columns(session, as_of))
             .where(*conditions, breached(session, as_of))
             .order_by(Incident.customer_id, Incident.opened_at, Incident.id))
    return list(session.execute(query))


def downtime_rows(session: Session, *, customer_ids: list[int] | None, start: datetime,
                  end: datetime) -> dict[int, float]:
    """Seconds of downtime per service in [start, end): the union of class-1 outage incidents'
    [opened_at, resolved_at or end), clipped to the period, overlaps merged (gaps and islands)."""
    stop = func.coalesce(Incident.resolved_at, _at(end))
    conditions = [Incident.severity_class == 1, Incident.category == OUTAGE,
                  Incident.service_id.is_not(None), Incident.opened_at < end, stop > start]
    if customer_ids is not None:
        conditions.append(Incident.customer_id.in_(customer_ids))
    clipped = select(
        Incident.service_id.label("s"),
        case((Incident.opened_at < start, _at(start)),
             else_=Incident.opened_at).label("a"),
        case((stop > end, _at(end)), else_=stop).label("b"),
    ).where(*conditions).subquery()
    order = (clipped.c.a, clipped.c.b)
    reach = func.max(clipped.c.b).over(partition_by=clipped.c.s, order_by=order, rows=(None, -1))
    marked = select(clipped, case((or_(reach.is_(None), clipped.c.a > reach), 1), else_=0)
                    .label("fresh")).subquery()
    grouped = select(marked.c.s, marked.c.a, marked.c.b, func.sum(marked.c.fresh).over(
        partition_by=marked.c.s, order_by=(marked.c.a, marked.c.b), rows=(None, 0)).label("island")
    ).subquery()
    islands = select(grouped.c.s, func.min(grouped.c.a).label("a"), func.max(grouped.c.b).label("b")
                     ).group_by(grouped.c.s, grouped.c.island).subquery()
    total = select(islands.c.s, func.sum(seconds(session, islands.c.b, islands.c.a))).group_by(islands.c.s)
    return {service_id: float(down or 0) for service_id, down in session.execute(total)}


def _at(moment: datetime):
    """A timestamp bound the way the columns store it (naive UTC text on SQLite)."""
    return literal(moment, Incident.opened_at.type)


def _integer():
    from sqlalchemy import Integer
    return Integer()


def _postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"
