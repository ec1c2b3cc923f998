"""Re-seal every encrypted value under the newest key (`vigil rotate-key`).

Walks each encrypted column in primary-key order, a batch per transaction, so a large table never
holds a long lock and an interrupted run simply starts again: a value the newest key already opens
is left alone, which also makes a second run a no-op. A value no key opens is reported by its row
(never by its value) and left as it is; the run goes on with the others.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from sqlalchemy import Column, Table, select, update
from sqlalchemy.orm import Session

from incidents import clock
from incidents.models import RevealedSecret, StoredSecret, User
from incidents.services import audit, sealed
from incidents.services.actor import Actor


@dataclass(frozen=True)
class Target:
    """One encrypted column; `legacy_clear`: a value that is not a Fernet token is the secret in clear."""

    table: Table
    key: Column
    value: Column
    describe: Callable[[Any], str]  # a row's name in a message: its id and label, never its value
    legacy_clear: bool = False

    @property
    def name(self) -> str:
        return f"{self.table.name}.{self.value.name}"


TARGETS = (
    Target(User.__table__, User.__table__.c.id, User.__table__.c.totp_secret,
           lambda row: f"user {row.id} ({row.email})", legacy_clear=True),
    Target(StoredSecret.__table__, StoredSecret.__table__.c.name, StoredSecret.__table__.c.ciphertext,
           lambda row: f"stored secret '{row.name}'"),
    Target(RevealedSecret.__table__, RevealedSecret.__table__.c.id, RevealedSecret.__table__.c.ciphertext,
           lambda row: f"new key {row.id} waiting to be shown ({row.label})"),
)


@dataclass
class Tally:
    target: str
    checked: int = 0
    resealed: int = 0
    current: int = 0
    unopened: list[str] = field(default_factory=list)


def rotate(session: Session, keys: sealed.Keyring, *, batch_size: int = 500,
           progress: Callable[[Tally], None] = lambda tally: None) -> list[Tally]:
    """Re-seal every value under the newest key; one audit row for the run. Commits as it goes."""
    tallies = [_rotate_target(session, keys, target, batch_size, progress) for target in TARGETS]
    audit.record(session, actor=Actor("command line"), where=audit.Where("cli"), action="encryption.rotate_key",
                 target="encrypted values", now=clock.now(),
                 details={t.target: {"resealed": t.resealed, "current": t.current, "unopened": len(t.unopened)}
                          for t in tallies})
    session.commit()
    return tallies


def _rotate_target(session: Session, keys: sealed.Keyring, target: Target, batch_size: int,
                   progress: Callable[[Tally], None]) -> Tally:
    tally, last = Tally(target.name), None
    while True:
        query = select(target.table).where(target.value.is_not(None)).order_by(target.key).limit(batch_size)
        if last is not None:
            query = query.where(target.key > last)
        rows = session.execute(query).all()
        if not rows:
            return tally
        for row in rows:
            _reseal(session, keys, target, row, tally)
        session.commit()
        last = getattr(rows[-1], target.key.name)
        progress(tally)


def _reseal(session: Session, keys: sealed.Keyring, target: Target, row: Any, tally: Tally) -> None:
    stored = getattr(row, target.value.name)
    tally.checked += 1
    if not (target.legacy_clear and not sealed.is_sealed(stored)):
        if keys.is_current(stored):
            tally.current += 1
            return
        try:
            plaintext = keys.unseal(stored)
        except sealed.SealError:
            tally.unopened.append(f"{target.name} of {target.describe(row)}: cannot be opened with {keys.describe()}")
            return
    else:
        plaintext = stored
    key = getattr(row, target.key.name)
    # Only if unchanged since read: a sign-in that re-sealed it meanwhile used the same keys.
    session.execute(update(target.table).where(target.key == key, target.value == stored)
                    .values({target.value.name: keys.seal(plaintext)}))
    tally.resealed += 1
