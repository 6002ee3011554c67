"""customer 360: indexes for search (name prefix, phone) and the list's "added between" filter

Revision ID: 0010_customer_360
Revises: 0009_loyalty
Create Date: 2026-12-04 02:30:00

Name search is a prefix search: on PostgreSQL the index uses ``varchar_pattern_ops`` so that
``name LIKE '张%'`` is an index range scan whatever the database collation; SQLite compares with
the binary collation, where the search uses a range on the plain index.
"""

from __future__ import annotations

from alembic import op

revision = '0010_customer_360'
down_revision = '0009_loyalty'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('customer', schema=None) as batch_op:
        batch_op.create_index('ix_customer_corp_name', ['corp_id', 'name'], unique=False,
                              postgresql_ops={'name': 'varchar_pattern_ops'})
        batch_op.create_index('ix_customer_corp_phone', ['corp_id', 'phone'], unique=False)
        batch_op.create_index('ix_customer_corp_created', ['corp_id', 'created_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('customer', schema=None) as batch_op:
        batch_op.drop_index('ix_customer_corp_created')
        batch_op.drop_index('ix_customer_corp_phone')
        batch_op.drop_index('ix_customer_corp_name')
