"""users.totp_secret holds a sealed value (a Fernet token) rather than the secret in clear

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-23 16:10:00

Only the column is widened: values stored in clear before stay readable and are sealed on their
next use, or all at once by `vigil rotate-key`.
"""
from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    _width(64, 255)


def downgrade() -> None:
    # A sealed secret does not fit the old width: PostgreSQL refuses to narrow rather than cut it.
    _width(255, 64)


def _width(old: int, new: int) -> None:
    if op.get_bind().dialect.name != 'sqlite':
        op.alter_column('users', 'totp_secret', existing_type=sa.String(length=old),
                        type_=sa.String(length=new), existing_nullable=True)
        return
    # SQLite cannot change a column's type in place, and rebuilding users (Alembic's batch mode) would
    # fire its foreign keys' ON DELETE actions. A new column, the values copied, the old one dropped
    # (SQLite 3.35 or later) and the new one renamed changes nothing else.
    op.execute(f'ALTER TABLE users ADD COLUMN totp_secret_new VARCHAR({new})')
    op.execute('UPDATE users SET totp_secret_new = totp_secret')
    op.execute('ALTER TABLE users DROP COLUMN totp_secret')
    op.execute('ALTER TABLE users RENAME COLUMN totp_secret_new TO totp_secret')
