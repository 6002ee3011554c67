"""segments: definitions, membership, membership changes, the daily event rollup; indexes for the
dirty-set lookups of the incremental refresh on customer, customer_trait, tag_history, relation,
relation_tag, event, customer_order and group_chat_member, and one for order-category windows

Revision ID: 0005_segment
Revises: 0004_tag_rule
Create Date: 2026-12-04 02:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import siyu.kit.db

revision = '0005_segment'
down_revision = '0004_tag_rule'
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
#: (index name, table, columns): "what changed in this corp since t" for the dirty set
WATERMARK_INDEXES = (
    ('ix_customer_corp_updated', 'customer', ['corp_id', 'updated_at']),
    ('ix_customer_trait_corp_updated', 'customer_trait', ['corp_id', 'updated_at']),
    ('ix_tag_history_corp_at', 'tag_history', ['corp_id', 'at']),
    ('ix_relation_corp_updated', 'relation', ['corp_id', 'updated_at']),
    ('ix_relation_tag_corp_tagged', 'relation_tag', ['corp_id', 'tagged_at']),
    ('ix_event_corp_received', 'event', ['corp_id', 'received_at']),
    ('ix_customer_order_corp_updated', 'customer_order', ['corp_id', 'updated_at']),
    ('ix_group_chat_member_corp_updated', 'group_chat_member', ['corp_id', 'updated_at']),
)

ORDER_CATEGORY_INDEX = 'ix_customer_order_corp_category_paid'


def upgrade() -> None:
    op.create_table('segment',
    sa.Column('id', BigId, autoincrement=True, nullable=False),
    sa.Column('corp_id', BigId, nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('definition', sa.JSON(), nullable=True),
    sa.Column('preset', sa.String(length=64), nullable=True),
    sa.Column('member_count', sa.Integer(), nullable=False),
    sa.Column('refreshed_at', siyu.kit.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('full_refreshed_at', siyu.kit.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('watermark_at', siyu.kit.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('created_by_user_id', BigId, nullable=True),
    sa.Column('created_at', siyu.kit.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', siyu.kit.db.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['corp_id'], ['corp.id'], name=op.f('fk_segment_corp_id_corp'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['created_by_user_id'], ['app_user.id'], name=op.f('fk_segment_created_by_user_id_app_user'),
                            ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_segment'))
    )
    with op.batch_alter_table('segment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_segment_corp_id'), ['corp_id'], unique=False)

    op.create_table('segment_membership',
    sa.Column('segment_id', BigId, nullable=False),
    sa.Column('customer_id', BigId, nullable=False),
    sa.Column('entered_at', siyu.kit.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('corp_id', BigId, nullable=False),
    sa.Column('exited_at', siyu.kit.db.UtcDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['corp_id'], ['corp.id'], name=op.f('fk_segment_membership_corp_id_corp'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_segment_membership_customer_id_customer'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['segment_id'], ['segment.id'], name=op.f('fk_segment_membership_segment_id_segment'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('segment_id', 'customer_id', 'entered_at', name=op.f('pk_segment_membership'))
    )
    with op.batch_alter_table('segment_membership', schema=None) as batch_op:
        batch_op.create_index('ix_segment_membership_current', ['segment_id', 'customer_id'], unique=True,
                              sqlite_where=sa.text('exited_at IS NULL'), postgresql_where=sa.text('exited_at IS NULL'))
        batch_op.create_index('ix_segment_membership_customer', ['customer_id'], unique=False)

    op.create_table('segment_change',
    sa.Column('id', BigId, autoincrement=True, nullable=False),
    sa.Column('corp_id', BigId, nullable=False),
    sa.Column('segment_id', BigId, nullable=False),
    sa.Column('customer_id', BigId, nullable=False),
    sa.Column('change', sa.String(length=8), nullable=False),
    sa.Column('at', siyu.kit.db.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['corp_id'], ['corp.id'], name=op.f('fk_segment_change_corp_id_corp'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['segment_id'], ['segment.id'], name=op.f('fk_segment_change_segment_id_segment'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_segment_change'))
    )
    with op.batch_alter_table('segment_change', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_segment_change_corp_id'), ['corp_id'], unique=False)
        batch_op.create_index('ix_segment_change_segment', ['segment_id', 'id'], unique=False)

    op.create_table('customer_event_day',
    sa.Column('customer_id', BigId, nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('corp_id', BigId, nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['corp_id'], ['corp.id'], name=op.f('fk_customer_event_day_corp_id_corp'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_customer_event_day_customer_id_customer'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('customer_id', 'name', 'day', name=op.f('pk_customer_event_day'))
    )
    with op.batch_alter_table('customer_event_day', schema=None) as batch_op:
        batch_op.create_index('ix_customer_event_day_corp_name_day', ['corp_id', 'name', 'day'], unique=False)

    op.create_table('segment_refresh_state',
    sa.Column('corp_id', BigId, nullable=False),
    sa.Column('events_seen_at', siyu.kit.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('changes_seen_at', siyu.kit.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('updated_at', siyu.kit.db.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['corp_id'], ['corp.id'], name=op.f('fk_segment_refresh_state_corp_id_corp'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('corp_id', name=op.f('pk_segment_refresh_state'))
    )

    for name, table, columns in WATERMARK_INDEXES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(name, columns, unique=False)
    # "n orders of category X in a window": an index-only range scan instead of reading every order
    with op.batch_alter_table('customer_order', schema=None) as batch_op:
        batch_op.create_index(ORDER_CATEGORY_INDEX, ['corp_id', 'category', 'paid_at'], unique=False,
                              postgresql_include=['customer_id', 'status'])


def downgrade() -> None:
    with op.batch_alter_table('customer_order', schema=None) as batch_op:
        batch_op.drop_index(ORDER_CATEGORY_INDEX)
    for name, table, _ in reversed(WATERMARK_INDEXES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(name)
    op.drop_table('segment_refresh_state')
    with op.batch_alter_table('customer_event_day', schema=None) as batch_op:
        batch_op.drop_index('ix_customer_event_day_corp_name_day')
    op.drop_table('customer_event_day')
    with op.batch_alter_table('segment_change', schema=None) as batch_op:
        batch_op.drop_index('ix_segment_change_segment')
        batch_op.drop_index(batch_op.f('ix_segment_change_corp_id'))
    op.drop_table('segment_change')
    with op.batch_alter_table('segment_membership', schema=None) as batch_op:
        batch_op.drop_index('ix_segment_membership_customer')
        batch_op.drop_index('ix_segment_membership_current')
    op.drop_table('segment_membership')
    with op.batch_alter_table('segment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_segment_corp_id'))
    op.drop_table('segment')
