"""breach playbook: runs, steps, notices, stored and revealed secrets, regulator clocks

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-23 15:07:14.637824
"""
from alembic import op
import sqlalchemy as sa
import incidents.db
from sqlalchemy.dialects import postgresql

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('stored_secrets',
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('ciphertext', sa.Text(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('updated_at', incidents.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_stored_secrets'))
    )
    op.create_table('playbook_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('incident_id', sa.Integer(), nullable=True),
    sa.Column('mode', sa.String(length=8), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('started_by', sa.String(length=200), nullable=False),
    sa.Column('started_at', incidents.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('aware_at', incidents.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', incidents.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('config', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('report', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], name=op.f('fk_playbook_runs_incident_id_incidents'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_playbook_runs'))
    )
    with op.batch_alter_table('playbook_runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_playbook_runs_incident_id'), ['incident_id'], unique=False)
        batch_op.create_index('uq_playbook_runs_active_mode', ['mode'], unique=True, sqlite_where=sa.text("state IN ('running', 'failed')"), postgresql_where=sa.text("state IN ('running', 'failed')"))

    op.create_table('regulator_clocks',
    sa.Column('incident_id', sa.Integer(), nullable=False),
    sa.Column('aware_at', incidents.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('due_at', incidents.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('warned', sa.Integer(), nullable=False),
    sa.Column('check_at', incidents.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('notified_at', incidents.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('notified_by', sa.String(length=200), nullable=True),
    sa.Column('reference', sa.String(length=200), nullable=True),
    sa.Column('overdue_at', incidents.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], name=op.f('fk_regulator_clocks_incident_id_incidents'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('incident_id', name=op.f('pk_regulator_clocks'))
    )
    with op.batch_alter_table('regulator_clocks', schema=None) as batch_op:
        batch_op.create_index('ix_regulator_clocks_check_at', ['check_at'], unique=False, sqlite_where=sa.text('check_at IS NOT NULL'), postgresql_where=sa.text('check_at IS NOT NULL'))

    op.create_table('playbook_steps',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('config', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('started_at', incidents.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('finished_at', incidents.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('lease_until', incidents.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('actor', sa.String(length=200), nullable=True),
    sa.Column('summary', sa.Text(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('skip_reason', sa.String(length=500), nullable=True),
    sa.Column('checkpoint', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['playbook_runs.id'], name=op.f('fk_playbook_steps_run_id_playbook_runs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_playbook_steps')),
    sa.UniqueConstraint('run_id', 'position', name='uq_playbook_steps_run_id_position')
    )
    op.create_table('playbook_notices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('step_id', sa.Integer(), nullable=False),
    sa.Column('purpose', sa.String(length=32), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=True),
    sa.Column('recipient', sa.String(length=200), nullable=False),
    sa.Column('channel', sa.String(length=8), nullable=False),
    sa.Column('address', sa.String(length=320), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('provider_id', sa.String(length=255), nullable=True),
    sa.Column('claimed_at', incidents.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('sent_at', incidents.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', incidents.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_playbook_notices_customer_id_customers'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['run_id'], ['playbook_runs.id'], name=op.f('fk_playbook_notices_run_id_playbook_runs'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['step_id'], ['playbook_steps.id'], name=op.f('fk_playbook_notices_step_id_playbook_steps'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_playbook_notices')),
    sa.UniqueConstraint('run_id', 'purpose', 'channel', 'address', name='uq_playbook_notices_once')
    )
    with op.batch_alter_table('playbook_notices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_playbook_notices_step_id'), ['step_id'], unique=False)

    op.create_table('revealed_secrets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('step_id', sa.Integer(), nullable=False),
    sa.Column('label', sa.String(length=300), nullable=False),
    sa.Column('ciphertext', sa.Text(), nullable=True),
    sa.Column('created_at', incidents.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('revealed_at', incidents.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('revealed_by', sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(['run_id'], ['playbook_runs.id'], name=op.f('fk_revealed_secrets_run_id_playbook_runs'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['step_id'], ['playbook_steps.id'], name=op.f('fk_revealed_secrets_step_id_playbook_steps'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_revealed_secrets'))
    )
    with op.batch_alter_table('revealed_secrets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_revealed_secrets_run_id'), ['run_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('revealed_secrets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_revealed_secrets_run_id'))

    op.drop_table('revealed_secrets')
    with op.batch_alter_table('playbook_notices', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_playbook_notices_step_id'))

    op.drop_table('playbook_notices')
    op.drop_table('playbook_steps')
    with op.batch_alter_table('regulator_clocks', schema=None) as batch_op:
        batch_op.drop_index('ix_regulator_clocks_check_at', sqlite_where=sa.text('check_at IS NOT NULL'), postgresql_where=sa.text('check_at IS NOT NULL'))

    op.drop_table('regulator_clocks')
    with op.batch_alter_table('playbook_runs', schema=None) as batch_op:
        batch_op.drop_index('uq_playbook_runs_active_mode', sqlite_where=sa.text("state IN ('running', 'failed')"), postgresql_where=sa.text("state IN ('running', 'failed')"))
        batch_op.drop_index(batch_op.f('ix_playbook_runs_incident_id'))

    op.drop_table('playbook_runs')
    op.drop_table('stored_secrets')
