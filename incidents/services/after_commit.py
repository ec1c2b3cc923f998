"""Work to start once the transaction that created it is committed (the broker is only a doorbell).

Services stay free of Celery: they name the task and its ids here; the app's composition root
sends them after COMMIT, and drops them on rollback, so a worker never looks for rows that are not
there yet. A lost message is harmless: the engine's sweeps find the rows anyway.
"""
from __future__ import annotations

from sqlalchemy.orm import Session

KEY = "vigil.after_commit"


def enqueue(session: Session, task: str, *args) -> None:
    session.info.setdefault(KEY, []).append((task, args))


def take(session: Session) -> list[tuple[str, tuple]]:
    return session.info.pop(KEY, [])


def discard(session: Session) -> None:
    session.info.pop(KEY, None)
