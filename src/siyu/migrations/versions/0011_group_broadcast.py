"""broadcasts to group chats: a broadcast recipient may be a group chat instead of a customer

Revision ID: 0011_group_broadcast
Revises: 0010_customer_360
Create Date: 2026-12-04 04:00:00

Changes the existing table ``broadcast_recipient`` (created in 0006_policy): ``customer_id`` becomes
nullable, ``group_chat_id`` is added with its own unique key per broadcast.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0011_group_broadcast'
down_revision = '0010_customer_360'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('broadcast_recipient', schema=None) as batch_op:
        batch_op.alter_column('customer_id', existing_type=sa.BigInteger().with_variant(sa.Integer(), 'sqlite'),
                              nullable=True)
        batch_op.add_column(sa.Column('group_chat_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'),
                                      nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_broadcast_recipient_group_chat_id_group_chat'), 'group_chat',
                                    ['group_chat_id'], ['id'], ondelete='CASCADE')
        batch_op.create_unique_constraint(batch_op.f('uq_broadcast_recipient_broadcast_id_group_chat_id'),
                                          ['broadcast_id', 'group_chat_id'])


def downgrade() -> None:
    op.execute("DELETE FROM broadcast_recipient WHERE customer_id IS NULL")
    with op.batch_alter_table('broadcast_recipient', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_broadcast_recipient_broadcast_id_group_chat_id'), type_='unique')
        batch_op.drop_constraint(batch_op.f('fk_broadcast_recipient_group_chat_id_group_chat'), type_='foreignkey')
        batch_op.drop_column('group_chat_id')
        batch_op.alter_column('customer_id', existing_type=sa.BigInteger().with_variant(sa.Integer(), 'sqlite'),
                              nullable=False)
