"""indexes for monthly SLA reports: incidents by (customer, opened_at) and by opened_at

Revision ID: 0007
Revises: 0006
"""
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_incidents_customer_id_opened_at', 'incidents', ['customer_id', 'opened_at'], unique=False)
    op.create_index('ix_incidents_opened_at', 'incidents', ['opened_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_incidents_opened_at', table_name='incidents')
    op.drop_index('ix_incidents_customer_id_opened_at', table_name='incidents')
