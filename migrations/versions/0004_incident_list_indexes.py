"""indexes for the incident list filters: assignee, open incidents, title search

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 12:00:00

Every filter of incidents.services.listing reads newest first (ORDER BY id DESC LIMIT n), so each
index ends in id (or is one, for the small partial index of open incidents). Title search uses a
trigram GIN index on lower(title) on PostgreSQL (pg_trgm, a trusted extension); SQLite has no
trigram index and scans.

Also on PostgreSQL: statistics on (customer_id, service_id) together, because a service belongs to
one customer. Without them the planner multiplies the two filters' selectivities, expects a
customer and one of its own services to share a handful of incidents, and sorts thousands (40-60
ms with a million incidents) instead of reading the service's index newest first (under 1 ms).

On a large live database these are plain CREATE INDEX statements, which block writes to incidents
while they build (the title index takes the longest; see bench/RESULTS.md for its time on a
million incidents).
"""
from alembic import op
import sqlalchemy as sa

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

OPEN = "status != 'resolved'"


def upgrade() -> None:
    op.create_index('ix_incidents_assignee_id_id', 'incidents', ['assignee_id', 'id'], unique=False)
    op.create_index('ix_incidents_open_id', 'incidents', ['id'], unique=False,
                    sqlite_where=sa.text(OPEN), postgresql_where=sa.text(OPEN))
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('CREATE EXTENSION IF NOT EXISTS pg_trgm')
        op.create_index('ix_incidents_title_trgm', 'incidents', [sa.text('lower(title) gin_trgm_ops')],
                        unique=False, postgresql_using='gin')
        op.execute('CREATE STATISTICS st_incidents_customer_service (dependencies, mcv) '
                   'ON customer_id, service_id FROM incidents')
        op.execute('ANALYZE incidents')


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('DROP STATISTICS IF EXISTS st_incidents_customer_service')
        op.drop_index('ix_incidents_title_trgm', table_name='incidents')
    op.drop_index('ix_incidents_open_id', table_name='incidents')
    op.drop_index('ix_incidents_assignee_id_id', table_name='incidents')
