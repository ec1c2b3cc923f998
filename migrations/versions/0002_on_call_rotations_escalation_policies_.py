"""on-call rotations, escalation policies and state, page outbox, inbound message ids

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 09:47:58.862036
"""
from alembic import op
import sqlalchemy as sa
import incidents.db
from sqlalchemy.dialects import postgresql

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('inbound_messages',
    sa.Column('sid', sa.String(length=64), nullable=False),
    sa.Column('received_at', incidents.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('sid', name=op.f('pk_inbound_messages'))
    )
    op.create_table('escalation_policies',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('repeat', sa.Integer(), nullable=False),
    sa.Column('defer_classes', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('steps', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_escalation_policies')),
    sa.UniqueConstraint('name', name=op.f('uq_escalation_policies_name'))
    )
    op.create_table('rotations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('handoff_weekday', sa.Integer(), nullable=False),
    sa.Column('handoff_time', sa.String(length=5), nullable=False),
    sa.Column('start_date', sa.Date(), nullable=False),
    sa.Column('created_at', incidents.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rotations')),
    sa.UniqueConstraint('name', name=op.f('uq_rotations_name'))
    )
    op.create_table('rotation_members',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rotation_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['rotation_id'], ['rotations.id'], name=op.f('fk_rotation_members_rotation_id_rotations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_rotation_members_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rotation_members')),
    sa.UniqueConstraint('rotation_id', 'position', name=op.f('uq_rotation_members_rotation_id_position'))
    )
    op.create_table('rotation_overrides',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rotation_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('start', incidents.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('end', incidents.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('created_at', incidents.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['rotation_id'], ['rotations.id'], name=op.f('fk_rotation_overrides_rotation_id_rotations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_rotation_overrides_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rotation_overrides'))
    )
    with op.batch_alter_table('rotation_overrides', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rotation_overrides_rotation_id'), ['rotation_id'], unique=False)

    op.create_table('escalations',
    sa.Column('incident_id', sa.Integer(), nullable=False),
    sa.Column('policy_id', sa.Integer(), nullable=False),
    sa.Column('step', sa.Integer(), nullable=False),
    sa.Column('cycle', sa.Integer(), nullable=False),
    sa.Column('next_at', incidents.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('updated_at', incidents.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], name=op.f('fk_escalations_incident_id_incidents'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['policy_id'], ['escalation_policies.id'], name=op.f('fk_escalations_policy_id_escalation_policies')),
    sa.PrimaryKeyConstraint('incident_id', name=op.f('pk_escalations'))
    )
    with op.batch_alter_table('escalations', schema=None) as batch_op:
        batch_op.create_index('ix_escalations_due', ['next_at'], unique=False, sqlite_where=sa.text('next_at IS NOT NULL'), postgresql_where=sa.text('next_at IS NOT NULL'))

    op.create_table('pages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('incident_id', sa.Integer(), nullable=False),
    sa.Column('step', sa.Integer(), nullable=False),
    sa.Column('cycle', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('recipient', sa.String(length=100), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('address', sa.String(length=100), nullable=False),
    sa.Column('code', sa.String(length=8), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', incidents.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('deadline_at', incidents.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('provider_id', sa.String(length=100), nullable=True),
    sa.Column('thread', sa.String(length=100), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('created_at', incidents.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('sent_at', incidents.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], name=op.f('fk_pages_incident_id_incidents'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_pages_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pages')),
    sa.UniqueConstraint('incident_id', 'step', 'cycle', 'recipient', 'channel', name='uq_pages_once')
    )
    with op.batch_alter_table('pages', schema=None) as batch_op:
        batch_op.create_index('ix_pages_due', ['status', 'next_attempt_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_pages_incident_id'), ['incident_id'], unique=False)
        batch_op.create_index('ix_pages_reply', ['user_id', 'code'], unique=False)

    with op.batch_alter_table('services', schema=None) as batch_op:
        batch_op.add_column(sa.Column('escalation_policy_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_services_escalation_policy_id_escalation_policies'), 'escalation_policies', ['escalation_policy_id'], ['id'])

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sms_opted_out', sa.Boolean(), server_default=sa.false(), nullable=False))



def downgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('sms_opted_out')

    with op.batch_alter_table('services', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_services_escalation_policy_id_escalation_policies'), type_='foreignkey')
        batch_op.drop_column('escalation_policy_id')

    with op.batch_alter_table('pages', schema=None) as batch_op:
        batch_op.drop_index('ix_pages_reply')
        batch_op.drop_index(batch_op.f('ix_pages_incident_id'))
        batch_op.drop_index('ix_pages_due')

    op.drop_table('pages')
    with op.batch_alter_table('escalations', schema=None) as batch_op:
        batch_op.drop_index('ix_escalations_due', sqlite_where=sa.text('next_at IS NOT NULL'), postgresql_where=sa.text('next_at IS NOT NULL'))

    op.drop_table('escalations')
    with op.batch_alter_table('rotation_overrides', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rotation_overrides_rotation_id'))

    op.drop_table('rotation_overrides')
    op.drop_table('rotation_members')
    op.drop_table('rotations')
    op.drop_table('escalation_policies')
    op.drop_table('inbound_messages')
