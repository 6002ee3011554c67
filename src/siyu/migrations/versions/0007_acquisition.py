"""acquisition: channel codes, their members, day counters and adds; order bindings; group codes;
red-packet budgets, counters and ledger

Revision ID: 0007_acquisition
Revises: 0006_policy
Create Date: 2026-12-04 02:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import siyu.kit.db

revision = '0007_acquisition'
down_revision = '0006_policy'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('group_code',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('corp_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('state', sa.String(length=30), nullable=False),
    sa.Column('config_id', sa.String(length=64), nullable=True),
    sa.Column('qr_code', sa.String(length=500), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('chat_ids', sa.JSON(), nullable=False),
    sa.Column('room_base_name', sa.String(length=40), nullable=False),
    sa.Column('room_base_id', sa.Integer(), nullable=False),
    sa.Column('welcome_text', sa.String(length=4000), nullable=False),
    sa.Column('welcome_template_id', sa.String(length=64), nullable=True),
    sa.Column('tier', sa.String(length=16), nullable=False),
    sa.Column('min_spend', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('created_at', siyu.kit.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', siyu.kit.db.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['corp_id'], ['corp.id'], name=op.f('fk_group_code_corp_id_corp'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_group_code')),
    sa.UniqueConstraint('corp_id', 'state', name=op.f('uq_group_code_corp_id_state'))
    )
    with op.batch_alter_table('group_code', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_group_code_corp_id'), ['corp_id'], unique=False)

    op.create_table('red_packet_budget',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('corp_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('corp_daily_amount', sa.Integer(), nullable=False),
    sa.Column('corp_daily_count', sa.Integer(), nullable=False),
    sa.Column('staff_daily_amount', sa.Integer(), nullable=False),
    sa.Column('staff_daily_count', sa.Integer(), nullable=False),
    sa.Column('customer_amount', sa.Integer(), nullable=False),
    sa.Column('customer_count', sa.Integer(), nullable=False),
    sa.Column('binding_reward', sa.Integer(), nullable=False),
    sa.Column('mch_id', sa.String(length=32), nullable=True),
    sa.Column('mch_key_encrypted', sa.String(length=500), nullable=True),
    sa.Column('pay_api_base', sa.String(length=500), nullable=True),
    sa.Column('created_at', siyu.kit.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', siyu.kit.db.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['corp_id'], ['corp.id'], name=op.f('fk_red_packet_budget_corp_id_corp'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_red_packet_budget')),
    sa.UniqueConstraint('corp_id', name=op.f('uq_red_packet_budget_corp_id'))
    )
    with op.batch_alter_table('red_packet_budget', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_red_packet_budget_corp_id'), ['corp_id'], unique=False)

    op.create_table('red_packet_counter',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('corp_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('scope', sa.String(length=16), nullable=False),
    sa.Column('scope_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('period', sa.String(length=10), nullable=False),
    sa.Column('amount', sa.Integer(), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('amount_cap', sa.Integer(), nullable=False),
    sa.Column('count_cap', sa.Integer(), nullable=False),
    sa.CheckConstraint('amount <= amount_cap AND count <= count_cap', name=op.f('ck_red_packet_counter_within_caps')),
    sa.ForeignKeyConstraint(['corp_id'], ['corp.id'], name=op.f('fk_red_packet_counter_corp_id_corp'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_red_packet_counter')),
    sa.UniqueConstraint('corp_id', 'scope', 'scope_id', 'period', name=op.f('uq_red_packet_counter_corp_id_scope_scope_id_period'))
    )
    with op.batch_alter_table('red_packet_counter', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_red_packet_counter_corp_id'), ['corp_id'], unique=False)

    op.create_table('channel_code',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('corp_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('state', sa.String(length=30), nullable=False),
    sa.Column('config_id', sa.String(length=64), nullable=True),
    sa.Column('qr_code', sa.String(length=500), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('routing', sa.String(length=16), nullable=False),
    sa.Column('daily_cap', sa.Integer(), nullable=False),
    sa.Column('skip_verify', sa.Boolean(), nullable=False),
    sa.Column('remark_template', sa.String(length=60), nullable=False),
    sa.Column('channel_tag_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('tag_ids', sa.JSON(), nullable=False),
    sa.Column('welcome_text', sa.String(length=4000), nullable=False),
    sa.Column('welcome_attachments', sa.JSON(), nullable=False),
    sa.Column('expires_at', siyu.kit.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('rotation', sa.JSON(), nullable=False),
    sa.Column('platform', sa.String(length=32), nullable=True),
    sa.Column('shop', sa.String(length=64), nullable=True),
    sa.Column('card_cost', sa.Numeric(precision=10, scale=2), nullable=True),
    sa.Column('created_at', siyu.kit.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', siyu.kit.db.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['channel_tag_id'], ['tag.id'], name=op.f('fk_channel_code_channel_tag_id_tag'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['corp_id'], ['corp.id'], name=op.f('fk_channel_code_corp_id_corp'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_channel_code')),
    sa.UniqueConstraint('corp_id', 'config_id', name=op.f('uq_channel_code_corp_id_config_id')),
    sa.UniqueConstraint('corp_id', 'state', name=op.f('uq_channel_code_corp_id_state'))
    )
    with op.batch_alter_table('channel_code', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_channel_code_corp_id'), ['corp_id'], unique=False)

    op.create_table('channel_code_add',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('corp_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('channel_code_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('customer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('staff_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('relation_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('added_at', siyu.kit.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('welcome', sa.String(length=16), nullable=False),
    sa.ForeignKeyConstraint(['channel_code_id'], ['channel_code.id'], name=op.f('fk_channel_code_add_channel_code_id_channel_code'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['corp_id'], ['corp.id'], name=op.f('fk_channel_code_add_corp_id_corp'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_channel_code_add_customer_id_customer'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['relation_id'], ['relation.id'], name=op.f('fk_channel_code_add_relation_id_relation'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_channel_code_add_staff_id_staff'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_channel_code_add')),
    sa.UniqueConstraint('channel_code_id', 'relation_id', name=op.f('uq_channel_code_add_channel_code_id_relation_id'))
    )
    with op.batch_alter_table('channel_code_add', schema=None) as batch_op:
        batch_op.create_index('ix_channel_code_add_code_at', ['channel_code_id', 'added_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_channel_code_add_corp_id'), ['corp_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_channel_code_add_customer_id'), ['customer_id'], unique=False)

    op.create_table('channel_code_day',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('corp_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('channel_code_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('staff_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('adds', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['channel_code_id'], ['channel_code.id'], name=op.f('fk_channel_code_day_channel_code_id_channel_code'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['corp_id'], ['corp.id'], name=op.f('fk_channel_code_day_corp_id_corp'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_channel_code_day_staff_id_staff'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_channel_code_day')),
    sa.UniqueConstraint('channel_code_id', 'staff_id', 'day', name=op.f('uq_channel_code_day_channel_code_id_staff_id_day'))
    )
    with op.batch_alter_table('channel_code_day', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_channel_code_day_corp_id'), ['corp_id'], unique=False)

    op.create_table('channel_code_member',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('corp_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('channel_code_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('staff_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('weight', sa.Integer(), nullable=False),
    sa.Column('daily_cap', sa.Integer(), nullable=True),
    sa.Column('backup', sa.Boolean(), nullable=False),
    sa.Column('schedule', sa.JSON(), nullable=True),
    sa.Column('created_at', siyu.kit.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', siyu.kit.db.UtcDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('weight > 0', name=op.f('ck_channel_code_member_weight_positive')),
    sa.ForeignKeyConstraint(['channel_code_id'], ['channel_code.id'], name=op.f('fk_channel_code_member_channel_code_id_channel_code'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['corp_id'], ['corp.id'], name=op.f('fk_channel_code_member_corp_id_corp'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_channel_code_member_staff_id_staff'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_channel_code_member')),
    sa.UniqueConstraint('channel_code_id', 'staff_id', name=op.f('uq_channel_code_member_channel_code_id_staff_id'))
    )
    with op.batch_alter_table('channel_code_member', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_channel_code_member_channel_code_id'), ['channel_code_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_channel_code_member_corp_id'), ['corp_id'], unique=False)

    op.create_table('order_binding',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('corp_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('order_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('customer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('staff_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('via', sa.String(length=16), nullable=False),
    sa.Column('bound_at', siyu.kit.db.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['corp_id'], ['corp.id'], name=op.f('fk_order_binding_corp_id_corp'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_order_binding_customer_id_customer'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['order_id'], ['customer_order.id'], name=op.f('fk_order_binding_order_id_customer_order'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_order_binding_staff_id_staff'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_order_binding')),
    sa.UniqueConstraint('order_id', name=op.f('uq_order_binding_order_id'))
    )
    with op.batch_alter_table('order_binding', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_order_binding_corp_id'), ['corp_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_order_binding_customer_id'), ['customer_id'], unique=False)

    op.create_table('red_packet',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('corp_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('customer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('staff_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('order_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('campaign', sa.String(length=64), nullable=True),
    sa.Column('reason_key', sa.String(length=100), nullable=False),
    sa.Column('amount', sa.Integer(), nullable=False),
    sa.Column('bill_no', sa.String(length=32), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('payment_ref', sa.String(length=64), nullable=True),
    sa.Column('failure', sa.String(length=500), nullable=True),
    sa.Column('paid_at', siyu.kit.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('created_at', siyu.kit.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', siyu.kit.db.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['corp_id'], ['corp.id'], name=op.f('fk_red_packet_corp_id_corp'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_red_packet_customer_id_customer'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['order_id'], ['customer_order.id'], name=op.f('fk_red_packet_order_id_customer_order'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_red_packet_staff_id_staff'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_red_packet')),
    sa.UniqueConstraint('bill_no', name=op.f('uq_red_packet_bill_no')),
    sa.UniqueConstraint('corp_id', 'reason_key', name=op.f('uq_red_packet_corp_id_reason_key'))
    )
    with op.batch_alter_table('red_packet', schema=None) as batch_op:
        batch_op.create_index('ix_red_packet_corp_created', ['corp_id', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_red_packet_corp_id'), ['corp_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_red_packet_customer_id'), ['customer_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('red_packet', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_red_packet_customer_id'))
        batch_op.drop_index(batch_op.f('ix_red_packet_corp_id'))
        batch_op.drop_index('ix_red_packet_corp_created')

    op.drop_table('red_packet')
    with op.batch_alter_table('order_binding', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_order_binding_customer_id'))
        batch_op.drop_index(batch_op.f('ix_order_binding_corp_id'))

    op.drop_table('order_binding')
    with op.batch_alter_table('channel_code_member', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_channel_code_member_corp_id'))
        batch_op.drop_index(batch_op.f('ix_channel_code_member_channel_code_id'))

    op.drop_table('channel_code_member')
    with op.batch_alter_table('channel_code_day', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_channel_code_day_corp_id'))

    op.drop_table('channel_code_day')
    with op.batch_alter_table('channel_code_add', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_channel_code_add_customer_id'))
        batch_op.drop_index(batch_op.f('ix_channel_code_add_corp_id'))
        batch_op.drop_index('ix_channel_code_add_code_at')

    op.drop_table('channel_code_add')
    with op.batch_alter_table('channel_code', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_channel_code_corp_id'))

    op.drop_table('channel_code')
    with op.batch_alter_table('red_packet_counter', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_red_packet_counter_corp_id'))

    op.drop_table('red_packet_counter')
    with op.batch_alter_table('red_packet_budget', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_red_packet_budget_corp_id'))

    op.drop_table('red_packet_budget')
    with op.batch_alter_table('group_code', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_group_code_corp_id'))

    op.drop_table('group_code')
