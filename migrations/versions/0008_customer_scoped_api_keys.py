"""customer-scoped API keys: api_keys.customer_id (NULL: every customer)

Revision ID: 0008
Revises: 0007
"""
import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # batch mode: SQLite cannot add a foreign key to an existing table in place.
    with op.batch_alter_table('api_keys') as batch:
        batch.add_column(sa.Column('customer_id', sa.Integer(), nullable=True))
        batch.create_foreign_key('fk_api_keys_customer_id_customers', 'customers', ['customer_id'], ['id'],
                                 ondelete='CASCADE')


def downgrade() -> None:
    with op.batch_alter_table('api_keys') as batch:
        batch.drop_constraint('fk_api_keys_customer_id_customers', type_='foreignkey')
        batch.drop_column('customer_id')
