"""The breach playbook: runs, their ordered steps, the notices they send, the secrets they keep,
and the regulator's clock on a breach incident. Rules are in incidents.domain.playbook."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from incidents.db import Base

ACTIVE = "state IN ('running', 'failed')"


class PlaybookRun(Base):
    __tablename__ = "playbook_runs"
    __table_args__ = (
        # One live run and one drill at a time: a second start is refused by the database too.
        Index("uq_playbook_runs_active_mode", "mode", unique=True,
              sqlite_where=text(ACTIVE), postgresql_where=text(ACTIVE)),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id", ondelete="SET NULL"), index=True)
    mode: Mapped[str] = mapped_column(String(8))  # live | drill
    state: Mapped[str] = mapped_column(String(16))  # running | failed | done | cancelled
    started_by: Mapped[str] = mapped_column(String(200))
    started_at: Mapped[datetime]
    aware_at: Mapped[datetime]  # when we became aware of the breach (the regulator's clock starts)
    finished_at: Mapped[datetime | None]
    config: Mapped[dict[str, Any]] = mapped_column(default=dict)  # the breach_playbook section at start
    report: Mapped[dict[str, Any]] = mapped_column(default=dict)  # time per step, failures, time to notify
    error: Mapped[str | None] = mapped_column(Text)

    steps: Mapped[list["PlaybookStep"]] = relationship(back_populates="run", order_by="PlaybookStep.position",
                                                       cascade="all, delete-orphan")


class PlaybookStep(Base):
    __tablename__ = "playbook_steps"
    __table_args__ = (UniqueConstraint("run_id", "position", name="uq_playbook_steps_run_id_position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("playbook_runs.id", ondelete="CASCADE"))
    position: Mapped[int]
    kind: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(200))
    config: Mapped[dict[str, Any]] = mapped_column(default=dict)  # this step's entry, targets resolved
    state: Mapped[str] = mapped_column(String(16))  # pending | running | done | failed | skipped
    attempts: Mapped[int] = mapped_column(default=0)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    lease_until: Mapped[datetime | None]  # a running step whose lease passed lost its worker: resume it
    actor: Mapped[str | None] = mapped_column(String(200))
    summary: Mapped[str | None] = mapped_column(Text)  # plain words, never a secret
    error: Mapped[str | None] = mapped_column(Text)  # plain words, never a secret
    skip_reason: Mapped[str | None] = mapped_column(String(500))
    checkpoint: Mapped[dict[str, Any]] = mapped_column(default=dict)  # progress for an idempotent resume

    run: Mapped[PlaybookRun] = relationship(back_populates="steps")


class PlaybookNotice(Base):
    """One notice to one address: unique per run, purpose, channel and address, so a retry or a
    resumed run never sends the same notice to the same person twice."""

    __tablename__ = "playbook_notices"
    __table_args__ = (UniqueConstraint("run_id", "purpose", "channel", "address",
                                       name="uq_playbook_notices_once"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("playbook_runs.id", ondelete="CASCADE"))
    step_id: Mapped[int] = mapped_column(ForeignKey("playbook_steps.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(String(32))  # customer_notice | password_reset
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id", ondelete="SET NULL"))
    recipient: Mapped[str] = mapped_column(String(200))  # a name, for people reading the run
    channel: Mapped[str] = mapped_column(String(8))  # email | sms
    address: Mapped[str] = mapped_column(String(320))
    state: Mapped[str] = mapped_column(String(16))  # pending | sending | sent | failed | uncertain
    reason: Mapped[str | None] = mapped_column(Text)
    provider_id: Mapped[str | None] = mapped_column(String(255))
    claimed_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    created_at: Mapped[datetime]


class StoredSecret(Base):
    """The embedded secret store: values encrypted (Fernet), for installations without a cloud one."""

    __tablename__ = "stored_secrets"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    ciphertext: Mapped[str] = mapped_column(Text)
    version: Mapped[int] = mapped_column(default=1)
    updated_at: Mapped[datetime]


class RevealedSecret(Base):
    """A new key made by a run, kept encrypted until an admin has seen it once, then wiped."""

    __tablename__ = "revealed_secrets"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("playbook_runs.id", ondelete="CASCADE"), index=True)
    step_id: Mapped[int] = mapped_column(ForeignKey("playbook_steps.id", ondelete="CASCADE"))
    label: Mapped[str] = mapped_column(String(300))  # e.g. "API key 'grafana-reader' (read)"
    ciphertext: Mapped[str | None] = mapped_column(Text)  # NULL once shown
    created_at: Mapped[datetime]
    revealed_at: Mapped[datetime | None]
    revealed_by: Mapped[str | None] = mapped_column(String(200))


class RegulatorClock(Base):
    """The regulator's deadline on a breach incident (72 hours from awareness under GDPR), beside
    its response deadline; stopped when someone records that the authority was notified."""

    __tablename__ = "regulator_clocks"
    __table_args__ = (
        Index("ix_regulator_clocks_check_at", "check_at", sqlite_where=text("check_at IS NOT NULL"),
              postgresql_where=text("check_at IS NOT NULL")),
    )

    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"), primary_key=True)
    aware_at: Mapped[datetime]
    due_at: Mapped[datetime]
    warned: Mapped[int] = mapped_column(default=0)
    check_at: Mapped[datetime | None]  # when the sweep must next look; NULL once notified or overdue
    notified_at: Mapped[datetime | None]
    notified_by: Mapped[str | None] = mapped_column(String(200))
    reference: Mapped[str | None] = mapped_column(String(200))  # the authority's case reference
    overdue_at: Mapped[datetime | None]
