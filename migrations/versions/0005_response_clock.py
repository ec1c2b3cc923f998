"""response clock: first response, breach, SLA warnings and the sweep's due time; clock pauses;
each customer's clock kind per class

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 13:40:15

Backfill: responded_at = acknowledged_at (an acknowledgement was the only recorded response).
Incidents opened before this revision get no sla_check_at, so the SLA sweep neither warns nor
marks breaches for them: paging about old incidents on the day of the upgrade would only be noise.
"""
from alembic import op
import sqlalchemy as sa
import incidents.db
from sqlalchemy.dialects import postgresql

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('sla_pauses',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('incident_id', sa.Integer(), nullable=False),
    sa.Column('started_at', incidents.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ended_at', incidents.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('actor', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], name=op.f('fk_sla_pauses_incident_id_incidents'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sla_pauses'))
    )
    op.create_index(op.f('ix_sla_pauses_incident_id'), 'sla_pauses', ['incident_id'], unique=False)
    op.add_column('customers', sa.Column('sla_clock', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), server_default='{}', nullable=False))
    op.add_column('incidents', sa.Column('responded_at', incidents.db.UTCDateTime(timezone=True), nullable=True))
    op.add_column('incidents', sa.Column('breached_at', incidents.db.UTCDateTime(timezone=True), nullable=True))
    op.add_column('incidents', sa.Column('sla_warned', sa.Integer(), server_default='0', nullable=False))
    op.add_column('incidents', sa.Column('sla_check_at', incidents.db.UTCDateTime(timezone=True), nullable=True))
    op.create_index('ix_incidents_sla_check_at', 'incidents', ['sla_check_at'], unique=False, sqlite_where=sa.text('sla_check_at IS NOT NULL'), postgresql_where=sa.text('sla_check_at IS NOT NULL'))
    op.execute('UPDATE incidents SET responded_at = acknowledged_at WHERE acknowledged_at IS NOT NULL')


def downgrade() -> None:
    op.drop_index('ix_incidents_sla_check_at', table_name='incidents', sqlite_where=sa.text('sla_check_at IS NOT NULL'), postgresql_where=sa.text('sla_check_at IS NOT NULL'))
    op.drop_column('incidents', 'sla_check_at')
    op.drop_column('incidents', 'sla_warned')
    op.drop_column('incidents', 'breached_at')
    op.drop_column('incidents', 'responded_at')
    op.drop_column('customers', 'sla_clock')
    op.drop_index(op.f('ix_sla_pauses_incident_id'), table_name='sla_pauses')
    op.drop_table('sla_pauses')
