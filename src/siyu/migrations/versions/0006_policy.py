"""contact policy, touch ledger, messages, materials, broadcasts and moments

Revision ID: 0006_policy
Revises: 0005_segment
Create Date: 2026-12-04 02:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import siyu.kit.db

revision = '0006_policy'
down_revision = '0005_segment'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('material',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('corp_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.Enum('text', 'image', 'link', 'miniprogram', 'video', 'file', name='materialkind', native_enum=False, length=16), nullable=False),
    sa.Column('title', sa.String(length=128), nullable=False),
    sa.Column('body', sa.JSON(), nullable=False),
    sa.Column('file_name', sa.String(length=200), nullable=True),
    sa.Column('content', sa.LargeBinary(), nullable=True),
    sa.Column('media_id', sa.String(length=128), nullable=True),
    sa.Column('media_uploaded_at', siyu.kit.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('deleted_at', siyu.kit.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('created_at', siyu.kit.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', siyu.kit.db.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['corp_id'], ['corp.id'], name=op.f('fk_material_corp_id_corp'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_material'))
    )
    with op.batch_alter_table('material', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_material_corp_id'), ['corp_id'], unique=False)

    op.create_table('message_template',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('corp_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('material_ids', sa.JSON(), nullable=False),
    sa.Column('created_at', siyu.kit.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', siyu.kit.db.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['corp_id'], ['corp.id'], name=op.f('fk_message_template_corp_id_corp'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_message_template'))
    )
    with op.batch_alter_table('message_template', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_message_template_corp_id'), ['corp_id'], unique=False)

    op.create_table('moment_task',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('corp_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('material_ids', sa.JSON(), nullable=False),
    sa.Column('staff_ids', sa.JSON(), nullable=False),
    sa.Column('tag_ids', sa.JSON(), nullable=False),
    sa.Column('status', sa.Enum('creating', 'publishing', 'failed', 'cancelled', name='momentstatus', native_enum=False, length=16), nullable=False),
    sa.Column('jobid', sa.String(length=64), nullable=True),
    sa.Column('moment_id', sa.String(length=64), nullable=True),
    sa.Column('published_staff', sa.Integer(), nullable=False),
    sa.Column('visible_customers', sa.Integer(), nullable=False),
    sa.Column('comments', sa.Integer(), nullable=False),
    sa.Column('likes', sa.Integer(), nullable=False),
    sa.Column('synced_at', siyu.kit.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('error', sa.String(length=500), nullable=True),
    sa.Column('created_at', siyu.kit.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', siyu.kit.db.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['corp_id'], ['corp.id'], name=op.f('fk_moment_task_corp_id_corp'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_moment_task')),
    sa.UniqueConstraint('moment_id', name=op.f('uq_moment_task_moment_id'))
    )
    with op.batch_alter_table('moment_task', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_moment_task_corp_id'), ['corp_id'], unique=False)

    op.create_table('contact_policy',
    sa.Column('corp_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('wecom_quota_rule', sa.Enum('days_in_month', 'weekly7', 'daily', name='quotarule', native_enum=False, length=16), nullable=False),
    sa.Column('marketing_cap', sa.Integer(), nullable=False),
    sa.Column('marketing_period', sa.Enum('day', 'week', 'month', name='capperiod', native_enum=False, length=8), nullable=False),
    sa.Column('moments_per_day', sa.Integer(), nullable=False),
    sa.Column('quiet_start_minute', sa.Integer(), nullable=False),
    sa.Column('quiet_end_minute', sa.Integer(), nullable=False),
    sa.Column('opt_out_keywords', sa.JSON(), nullable=False),
    sa.Column('blacklist_tag_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('deferral_days', sa.Integer(), nullable=False),
    sa.Column('created_at', siyu.kit.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', siyu.kit.db.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['blacklist_tag_id'], ['tag.id'], name=op.f('fk_contact_policy_blacklist_tag_id_tag'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['corp_id'], ['corp.id'], name=op.f('fk_contact_policy_corp_id_corp'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('corp_id', name=op.f('pk_contact_policy'))
    )
    op.create_table('contact_preference',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('corp_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('customer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=True),
    sa.Column('opted_out_at', siyu.kit.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('opt_out_source', sa.String(length=16), nullable=True),
    sa.Column('opt_out_text', sa.String(length=200), nullable=True),
    sa.Column('created_at', siyu.kit.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', siyu.kit.db.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['corp_id'], ['corp.id'], name=op.f('fk_contact_preference_corp_id_corp'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_contact_preference_customer_id_customer'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contact_preference')),
    sa.UniqueConstraint('corp_id', 'customer_id', name=op.f('uq_contact_preference_corp_id_customer_id'))
    )
    with op.batch_alter_table('contact_preference', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_contact_preference_corp_id'), ['corp_id'], unique=False)

    op.create_table('touch',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('corp_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('customer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('staff_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('channel', sa.Enum('one_to_one', 'broadcast', 'group', 'moment', 'welcome', 'journey', 'coupon_notice', name='touchchannel', native_enum=False, length=16), nullable=False),
    sa.Column('priority', sa.Enum('service', 'transactional', 'marketing', name='touchpriority', native_enum=False, length=16), nullable=False),
    sa.Column('status', sa.Enum('allowed', 'sent', 'blocked', 'deferred', 'expired', name='touchstatus', native_enum=False, length=16), nullable=False),
    sa.Column('rule', sa.Enum('no_relation', 'contact_deleted', 'opted_out', 'blacklisted', 'quiet_hours', 'wecom_quota', 'marketing_cap', 'moment_cap', name='touchrule', native_enum=False, length=24), nullable=True),
    sa.Column('source_kind', sa.String(length=32), nullable=False),
    sa.Column('source_id', sa.String(length=64), nullable=False),
    sa.Column('dedupe_key', sa.String(length=128), nullable=True),
    sa.Column('occurred_at', siyu.kit.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('deferred_until', siyu.kit.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('expires_at', siyu.kit.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('created_at', siyu.kit.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', siyu.kit.db.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['corp_id'], ['corp.id'], name=op.f('fk_touch_corp_id_corp'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_touch_customer_id_customer'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_touch_staff_id_staff'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_touch')),
    sa.UniqueConstraint('corp_id', 'dedupe_key', name=op.f('uq_touch_corp_id_dedupe_key'))
    )
    with op.batch_alter_table('touch', schema=None) as batch_op:
        batch_op.create_index('ix_touch_customer_time', ['corp_id', 'customer_id', 'occurred_at'], unique=False)
        batch_op.create_index('ix_touch_deferred', ['corp_id', 'status', 'deferred_until'], unique=False)
        batch_op.create_index('ix_touch_source', ['corp_id', 'source_kind', 'source_id'], unique=False)

    op.create_table('touch_counter',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('corp_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('customer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('counter', sa.String(length=24), nullable=False),
    sa.Column('period_start', siyu.kit.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('cap', sa.Integer(), nullable=False),
    sa.CheckConstraint('count <= cap', name=op.f('ck_touch_counter_count_within_cap')),
    sa.CheckConstraint('count >= 0', name=op.f('ck_touch_counter_count_not_negative')),
    sa.ForeignKeyConstraint(['corp_id'], ['corp.id'], name=op.f('fk_touch_counter_corp_id_corp'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_touch_counter_customer_id_customer'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_touch_counter')),
    sa.UniqueConstraint('customer_id', 'counter', 'period_start', name=op.f('uq_touch_counter_customer_id_counter_period_start'))
    )
    with op.batch_alter_table('touch_counter', schema=None) as batch_op:
        batch_op.create_index('ix_touch_counter_corp_period', ['corp_id', 'counter', 'period_start'], unique=False)

    op.create_table('broadcast',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('corp_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('kind', sa.Enum('customers', 'groups', name='broadcastkind', native_enum=False, length=16), nullable=False),
    sa.Column('priority', sa.Enum('service', 'transactional', 'marketing', name='touchpriority', native_enum=False, length=16), nullable=False),
    sa.Column('audience', sa.JSON(), nullable=False),
    sa.Column('holdout_percent', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('draft', 'scheduled', 'sending', 'done', 'cancelled', name='broadcaststatus', native_enum=False, length=16), nullable=False),
    sa.Column('scheduled_at', siyu.kit.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('dispatched_at', siyu.kit.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('cancelled_at', siyu.kit.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('created_by', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_at', siyu.kit.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', siyu.kit.db.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['corp_id'], ['corp.id'], name=op.f('fk_broadcast_corp_id_corp'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['created_by'], ['app_user.id'], name=op.f('fk_broadcast_created_by_app_user'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_broadcast'))
    )
    with op.batch_alter_table('broadcast', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_broadcast_corp_id'), ['corp_id'], unique=False)

    op.create_table('broadcast_variant',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('corp_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('broadcast_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('label', sa.String(length=8), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('material_ids', sa.JSON(), nullable=False),
    sa.Column('weight', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['broadcast_id'], ['broadcast.id'], name=op.f('fk_broadcast_variant_broadcast_id_broadcast'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['corp_id'], ['corp.id'], name=op.f('fk_broadcast_variant_corp_id_corp'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_broadcast_variant')),
    sa.UniqueConstraint('broadcast_id', 'label', name=op.f('uq_broadcast_variant_broadcast_id_label'))
    )
    with op.batch_alter_table('broadcast_variant', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_broadcast_variant_corp_id'), ['corp_id'], unique=False)

    op.create_table('broadcast_task',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('corp_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('broadcast_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('staff_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('variant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('wave', sa.Integer(), nullable=False),
    sa.Column('part', sa.Integer(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('status', sa.Enum('creating', 'awaiting_staff', 'confirmed', 'failed', 'cancelled', name='taskstatus', native_enum=False, length=16), nullable=False),
    sa.Column('msgid', sa.String(length=64), nullable=True),
    sa.Column('recipients', sa.Integer(), nullable=False),
    sa.Column('reminders', sa.Integer(), nullable=False),
    sa.Column('confirmed_at', siyu.kit.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('synced_at', siyu.kit.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('error', sa.String(length=500), nullable=True),
    sa.Column('created_at', siyu.kit.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', siyu.kit.db.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['broadcast_id'], ['broadcast.id'], name=op.f('fk_broadcast_task_broadcast_id_broadcast'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['corp_id'], ['corp.id'], name=op.f('fk_broadcast_task_corp_id_corp'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_broadcast_task_staff_id_staff'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['variant_id'], ['broadcast_variant.id'], name=op.f('fk_broadcast_task_variant_id_broadcast_variant'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_broadcast_task')),
    sa.UniqueConstraint('broadcast_id', 'staff_id', 'variant_id', 'wave', 'part', name=op.f('uq_broadcast_task_broadcast_id_staff_id_variant_id_wave_part')),
    sa.UniqueConstraint('msgid', name=op.f('uq_broadcast_task_msgid'))
    )
    with op.batch_alter_table('broadcast_task', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_broadcast_task_corp_id'), ['corp_id'], unique=False)

    op.create_table('broadcast_recipient',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('corp_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('broadcast_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('customer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('staff_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('external_userid', sa.String(length=64), nullable=True),
    sa.Column('variant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('status', sa.Enum('holdout', 'blocked', 'deferred', 'expired', 'queued', 'awaiting_staff', 'delivered', 'failed', 'cancelled', name='recipientstatus', native_enum=False, length=16), nullable=False),
    sa.Column('rule', sa.Enum('no_relation', 'contact_deleted', 'opted_out', 'blacklisted', 'quiet_hours', 'wecom_quota', 'marketing_cap', 'moment_cap', name='touchrule', native_enum=False, length=24), nullable=True),
    sa.Column('deferred_until', siyu.kit.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('touch_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('task_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('wecom_status', sa.Integer(), nullable=True),
    sa.Column('delivered_at', siyu.kit.db.UtcDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['broadcast_id'], ['broadcast.id'], name=op.f('fk_broadcast_recipient_broadcast_id_broadcast'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['corp_id'], ['corp.id'], name=op.f('fk_broadcast_recipient_corp_id_corp'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_broadcast_recipient_customer_id_customer'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_broadcast_recipient_staff_id_staff'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['task_id'], ['broadcast_task.id'], name=op.f('fk_broadcast_recipient_task_id_broadcast_task'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['variant_id'], ['broadcast_variant.id'], name=op.f('fk_broadcast_recipient_variant_id_broadcast_variant'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_broadcast_recipient')),
    sa.UniqueConstraint('broadcast_id', 'customer_id', name=op.f('uq_broadcast_recipient_broadcast_id_customer_id'))
    )
    with op.batch_alter_table('broadcast_recipient', schema=None) as batch_op:
        batch_op.create_index('ix_broadcast_recipient_status', ['broadcast_id', 'status'], unique=False)
        batch_op.create_index('ix_broadcast_recipient_task', ['task_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('broadcast_recipient', schema=None) as batch_op:
        batch_op.drop_index('ix_broadcast_recipient_task')
        batch_op.drop_index('ix_broadcast_recipient_status')

    op.drop_table('broadcast_recipient')
    with op.batch_alter_table('broadcast_task', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_broadcast_task_corp_id'))

    op.drop_table('broadcast_task')
    with op.batch_alter_table('broadcast_variant', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_broadcast_variant_corp_id'))

    op.drop_table('broadcast_variant')
    with op.batch_alter_table('broadcast', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_broadcast_corp_id'))

    op.drop_table('broadcast')
    with op.batch_alter_table('touch_counter', schema=None) as batch_op:
        batch_op.drop_index('ix_touch_counter_corp_period')

    op.drop_table('touch_counter')
    with op.batch_alter_table('touch', schema=None) as batch_op:
        batch_op.drop_index('ix_touch_source')
        batch_op.drop_index('ix_touch_deferred')
        batch_op.drop_index('ix_touch_customer_time')

    op.drop_table('touch')
    with op.batch_alter_table('contact_preference', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_contact_preference_corp_id'))

    op.drop_table('contact_preference')
    op.drop_table('contact_policy')
    with op.batch_alter_table('moment_task', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_moment_task_corp_id'))

    op.drop_table('moment_task')
    with op.batch_alter_table('message_template', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_message_template_corp_id'))

    op.drop_table('message_template')
    with op.batch_alter_table('material', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_material_corp_id'))

    op.drop_table('material')
