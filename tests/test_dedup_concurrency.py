"""Dedup is enforced by the database: identical alerts racing in at once make one incident."""
import threading

from sqlalchemy import func, select

from incidents.models import Alert, Incident
from tests.helpers import bearer

SENDERS = 50


def test_fifty_identical_alerts_at_the_same_instant_make_one_incident(app, session, make):
    key = make.service().keys["generic"]
    barrier = threading.Barrier(SENDERS)
    statuses = []

    def send():
        client = app.test_client()
        barrier.wait()
        response = client.post("/api/v1/alerts", headers=bearer(key),
                               json={"summary": "Checkout down", "dedup_key": "checkout-down"})
        statuses.append(response.status_code)

    threads = [threading.Thread(target=send) for _ in range(SENDERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)

    assert statuses == [202] * SENDERS
    session.commit()
    [incident] = session.scalars(select(Incident)).all()
    assert incident.alert_count == SENDERS
    assert session.scalar(select(func.count(Alert.id)).where(Alert.incident_id == incident.id)) == SENDERS
