"""loyalty and staff tasks: levels, members, points ledger, coupons, staff tasks

Revision ID: 0009_loyalty
Revises: 0008_journey
Create Date: 2026-12-04 02:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import siyu.kit.db

revision = '0009_loyalty'
down_revision = '0008_journey'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('coupon_template',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('corp_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.Column('description', sa.String(length=500), nullable=True),
    sa.Column('kind', sa.Enum('amount_off', 'discount', 'gift', name='couponkind', native_enum=False, length=16), nullable=False),
    sa.Column('value', sa.Numeric(precision=10, scale=2), nullable=False),
    sa.Column('threshold', sa.Numeric(precision=10, scale=2), nullable=False),
    sa.Column('valid_from', siyu.kit.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('valid_until', siyu.kit.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('valid_days', sa.Integer(), nullable=True),
    sa.Column('stock', sa.Integer(), nullable=True),
    sa.Column('issued_count', sa.Integer(), nullable=False),
    sa.Column('per_customer_limit', sa.Integer(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', siyu.kit.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', siyu.kit.db.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['corp_id'], ['corp.id'], name=op.f('fk_coupon_template_corp_id_corp'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_coupon_template'))
    )
    with op.batch_alter_table('coupon_template', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_coupon_template_corp_id'), ['corp_id'], unique=False)

    op.create_table('loyalty_settings',
    sa.Column('corp_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('points_per_yuan', sa.Numeric(precision=8, scale=2), nullable=False),
    sa.Column('points_validity_months', sa.Integer(), nullable=False),
    sa.Column('member_no_prefix', sa.String(length=8), nullable=False),
    sa.Column('created_at', siyu.kit.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', siyu.kit.db.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['corp_id'], ['corp.id'], name=op.f('fk_loyalty_settings_corp_id_corp'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('corp_id', name=op.f('pk_loyalty_settings'))
    )
    op.create_table('member_level',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('corp_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('name', sa.String(length=30), nullable=False),
    sa.Column('rank', sa.Integer(), nullable=False),
    sa.Column('min_spend', sa.Numeric(precision=14, scale=2), nullable=True),
    sa.Column('min_points', sa.Integer(), nullable=True),
    sa.Column('description', sa.String(length=200), nullable=True),
    sa.Column('created_at', siyu.kit.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', siyu.kit.db.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['corp_id'], ['corp.id'], name=op.f('fk_member_level_corp_id_corp'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_member_level')),
    sa.UniqueConstraint('corp_id', 'name', name=op.f('uq_member_level_corp_id_name')),
    sa.UniqueConstraint('corp_id', 'rank', name=op.f('uq_member_level_corp_id_rank'))
    )
    with op.batch_alter_table('member_level', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_member_level_corp_id'), ['corp_id'], unique=False)

    op.create_table('coupon_holding',
    sa.Column('template_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('customer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('corp_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('issued_count', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['corp_id'], ['corp.id'], name=op.f('fk_coupon_holding_corp_id_corp'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_coupon_holding_customer_id_customer'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['template_id'], ['coupon_template.id'], name=op.f('fk_coupon_holding_template_id_coupon_template'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('template_id', 'customer_id', name=op.f('pk_coupon_holding'))
    )
    with op.batch_alter_table('coupon_holding', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_coupon_holding_corp_id'), ['corp_id'], unique=False)

    op.create_table('member',
    sa.Column('customer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('corp_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('member_no', sa.String(length=32), nullable=False),
    sa.Column('level_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('level_changed_at', siyu.kit.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('joined_at', siyu.kit.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('birthday', sa.Date(), nullable=True),
    sa.Column('points_balance', sa.Integer(), nullable=False),
    sa.Column('points_earned_total', sa.Integer(), nullable=False),
    sa.Column('created_at', siyu.kit.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', siyu.kit.db.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['corp_id'], ['corp.id'], name=op.f('fk_member_corp_id_corp'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_member_customer_id_customer'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['level_id'], ['member_level.id'], name=op.f('fk_member_level_id_member_level'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('customer_id', name=op.f('pk_member')),
    sa.UniqueConstraint('corp_id', 'member_no', name=op.f('uq_member_corp_id_member_no'))
    )
    with op.batch_alter_table('member', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_member_corp_id'), ['corp_id'], unique=False)
        batch_op.create_index('ix_member_corp_level', ['corp_id', 'level_id'], unique=False)

    op.create_table('coupon',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('corp_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('template_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('customer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('code', sa.String(length=24), nullable=False),
    sa.Column('status', sa.Enum('issued', 'redeemed', 'expired', 'void', name='couponstatus', native_enum=False, length=16), nullable=False),
    sa.Column('issued_at', siyu.kit.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('valid_from', siyu.kit.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('valid_until', siyu.kit.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('source_kind', sa.String(length=32), nullable=False),
    sa.Column('source_ref', sa.String(length=128), nullable=True),
    sa.Column('idempotency_key', sa.String(length=160), nullable=False),
    sa.Column('redeemed_at', siyu.kit.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('order_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('voided_at', siyu.kit.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('created_at', siyu.kit.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', siyu.kit.db.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['corp_id'], ['corp.id'], name=op.f('fk_coupon_corp_id_corp'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_coupon_customer_id_customer'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['order_id'], ['customer_order.id'], name=op.f('fk_coupon_order_id_customer_order'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['template_id'], ['coupon_template.id'], name=op.f('fk_coupon_template_id_coupon_template'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_coupon')),
    sa.UniqueConstraint('code', name=op.f('uq_coupon_code')),
    sa.UniqueConstraint('corp_id', 'idempotency_key', name=op.f('uq_coupon_corp_id_idempotency_key')),
    sa.UniqueConstraint('order_id', name=op.f('uq_coupon_order_id'))
    )
    with op.batch_alter_table('coupon', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_coupon_corp_id'), ['corp_id'], unique=False)
        batch_op.create_index('ix_coupon_corp_status_until', ['corp_id', 'status', 'valid_until'], unique=False)
        batch_op.create_index('ix_coupon_customer_status', ['customer_id', 'status'], unique=False)
        batch_op.create_index('ix_coupon_template_status', ['template_id', 'status'], unique=False)

    op.create_table('points_entry',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('corp_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('customer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.Enum('earn', 'spend', 'expire', 'adjust', name='pointskind', native_enum=False, length=16), nullable=False),
    sa.Column('points', sa.Integer(), nullable=False),
    sa.Column('source_kind', sa.String(length=32), nullable=False),
    sa.Column('source_ref', sa.String(length=128), nullable=True),
    sa.Column('order_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('idempotency_key', sa.String(length=160), nullable=False),
    sa.Column('note', sa.String(length=200), nullable=True),
    sa.Column('occurred_at', siyu.kit.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', siyu.kit.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('remaining', sa.Integer(), nullable=False),
    sa.Column('created_by_user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_at', siyu.kit.db.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['corp_id'], ['corp.id'], name=op.f('fk_points_entry_corp_id_corp'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['created_by_user_id'], ['app_user.id'], name=op.f('fk_points_entry_created_by_user_id_app_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['customer_id'], ['member.customer_id'], name=op.f('fk_points_entry_customer_id_member'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['order_id'], ['customer_order.id'], name=op.f('fk_points_entry_order_id_customer_order'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_points_entry')),
    sa.UniqueConstraint('corp_id', 'idempotency_key', name=op.f('uq_points_entry_corp_id_idempotency_key'))
    )
    with op.batch_alter_table('points_entry', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_points_entry_corp_id'), ['corp_id'], unique=False)
        batch_op.create_index('ix_points_entry_corp_lot_expiry', ['corp_id', 'expires_at'], unique=False)
        batch_op.create_index('ix_points_entry_customer_occurred', ['customer_id', 'occurred_at'], unique=False)
        batch_op.create_index('ix_points_entry_order', ['order_id'], unique=False)

    op.create_table('staff_task',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('corp_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('staff_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('customer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('kind', sa.Enum('send_message', 'follow_up', 'call_back', 'custom', name='stafftaskkind', native_enum=False, length=16), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('content', sa.Text(), nullable=True),
    sa.Column('due_at', siyu.kit.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('status', sa.Enum('open', 'done', 'expired', 'cancelled', name='stafftaskstatus', native_enum=False, length=16), nullable=False),
    sa.Column('source_kind', sa.String(length=32), nullable=False),
    sa.Column('source_ref', sa.String(length=128), nullable=True),
    sa.Column('idempotency_key', sa.String(length=160), nullable=True),
    sa.Column('coins', sa.Integer(), nullable=False),
    sa.Column('completed_at', siyu.kit.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('completed_by_user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_by_user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_at', siyu.kit.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', siyu.kit.db.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['completed_by_user_id'], ['app_user.id'], name=op.f('fk_staff_task_completed_by_user_id_app_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['corp_id'], ['corp.id'], name=op.f('fk_staff_task_corp_id_corp'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['created_by_user_id'], ['app_user.id'], name=op.f('fk_staff_task_created_by_user_id_app_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_staff_task_customer_id_customer'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_staff_task_staff_id_staff'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_task')),
    sa.UniqueConstraint('corp_id', 'idempotency_key', name=op.f('uq_staff_task_corp_id_idempotency_key'))
    )
    with op.batch_alter_table('staff_task', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_staff_task_corp_id'), ['corp_id'], unique=False)
        batch_op.create_index('ix_staff_task_corp_status_due', ['corp_id', 'status', 'due_at'], unique=False)
        batch_op.create_index('ix_staff_task_customer', ['customer_id'], unique=False)
        batch_op.create_index('ix_staff_task_staff_status', ['staff_id', 'status'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('staff_task', schema=None) as batch_op:
        batch_op.drop_index('ix_staff_task_staff_status')
        batch_op.drop_index('ix_staff_task_customer')
        batch_op.drop_index('ix_staff_task_corp_status_due')
        batch_op.drop_index(batch_op.f('ix_staff_task_corp_id'))

    op.drop_table('staff_task')
    with op.batch_alter_table('points_entry', schema=None) as batch_op:
        batch_op.drop_index('ix_points_entry_order')
        batch_op.drop_index('ix_points_entry_customer_occurred')
        batch_op.drop_index('ix_points_entry_corp_lot_expiry')
        batch_op.drop_index(batch_op.f('ix_points_entry_corp_id'))

    op.drop_table('points_entry')
    with op.batch_alter_table('coupon', schema=None) as batch_op:
        batch_op.drop_index('ix_coupon_template_status')
        batch_op.drop_index('ix_coupon_customer_status')
        batch_op.drop_index('ix_coupon_corp_status_until')
        batch_op.drop_index(batch_op.f('ix_coupon_corp_id'))

    op.drop_table('coupon')
    with op.batch_alter_table('member', schema=None) as batch_op:
        batch_op.drop_index('ix_member_corp_level')
        batch_op.drop_index(batch_op.f('ix_member_corp_id'))

    op.drop_table('member')
    with op.batch_alter_table('coupon_holding', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_coupon_holding_corp_id'))

    op.drop_table('coupon_holding')
    with op.batch_alter_table('member_level', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_member_level_corp_id'))

    op.drop_table('member_level')
    op.drop_table('loyalty_settings')
    with op.batch_alter_table('coupon_template', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_coupon_template_corp_id'))

    op.drop_table('coupon_template')
