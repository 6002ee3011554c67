"""journeys: definitions, versions, enrolments, the step log and trigger cursors

Revision ID: 0008_journey
Revises: 0007_acquisition
Create Date: 2026-12-04 02:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import siyu.kit.db

revision = '0008_journey'
down_revision = '0007_acquisition'
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def _when(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, siyu.kit.db.UtcDateTime(timezone=True), nullable=nullable)


def _corp(table: str) -> list:
    return [sa.Column('corp_id', BigId, nullable=False),
            sa.ForeignKeyConstraint(['corp_id'], ['corp.id'], name=op.f(f'fk_{table}_corp_id_corp'), ondelete='CASCADE')]


def upgrade() -> None:
    op.create_table('journey',
    sa.Column('id', BigId, autoincrement=True, nullable=False),
    *_corp('journey'),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('draft', sa.JSON(), nullable=False),
    sa.Column('live_version', sa.Integer(), nullable=True),
    sa.Column('template', sa.String(length=32), nullable=True),
    _when('created_at'), _when('updated_at'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_journey'))
    )
    op.create_table('journey_version',
    sa.Column('id', BigId, autoincrement=True, nullable=False),
    *_corp('journey_version'),
    sa.Column('journey_id', BigId, nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('definition', sa.JSON(), nullable=False),
    _when('published_at'),
    sa.Column('published_by', BigId, nullable=True),
    sa.ForeignKeyConstraint(['journey_id'], ['journey.id'], name=op.f('fk_journey_version_journey_id_journey'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['published_by'], ['app_user.id'], name=op.f('fk_journey_version_published_by_app_user'),
                            ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_journey_version')),
    sa.UniqueConstraint('journey_id', 'version', name=op.f('uq_journey_version_journey_id_version'))
    )
    op.create_table('journey_enrolment',
    sa.Column('id', BigId, autoincrement=True, nullable=False),
    *_corp('journey_enrolment'),
    sa.Column('journey_id', BigId, nullable=False),
    sa.Column('version_id', BigId, nullable=False),
    sa.Column('customer_id', BigId, nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('node', sa.String(length=64), nullable=False),
    _when('due_at', True),
    sa.Column('entry_slot', sa.String(length=32), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('context', sa.JSON(), nullable=False),
    _when('entered_at'), _when('node_entered_at'), _when('converted_at', True), _when('ended_at', True),
    sa.Column('exit_reason', sa.String(length=32), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['journey_id'], ['journey.id'], name=op.f('fk_journey_enrolment_journey_id_journey'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['version_id'], ['journey_version.id'],
                            name=op.f('fk_journey_enrolment_version_id_journey_version'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_journey_enrolment_customer_id_customer'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_journey_enrolment')),
    sa.UniqueConstraint('journey_id', 'customer_id', 'entry_slot',
                        name=op.f('uq_journey_enrolment_journey_id_customer_id_entry_slot'))
    )
    op.create_table('journey_step',
    sa.Column('id', BigId, autoincrement=True, nullable=False),
    *_corp('journey_step'),
    sa.Column('journey_id', BigId, nullable=False),
    sa.Column('enrolment_id', BigId, nullable=False),
    sa.Column('node', sa.String(length=64), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('branch', sa.String(length=32), nullable=True),
    sa.Column('detail', sa.JSON(), nullable=False),
    _when('executed_at'),
    sa.ForeignKeyConstraint(['journey_id'], ['journey.id'], name=op.f('fk_journey_step_journey_id_journey'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['enrolment_id'], ['journey_enrolment.id'],
                            name=op.f('fk_journey_step_enrolment_id_journey_enrolment'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_journey_step')),
    sa.UniqueConstraint('enrolment_id', 'node', name=op.f('uq_journey_step_enrolment_id_node'))
    )
    op.create_table('journey_trigger_cursor',
    sa.Column('journey_id', BigId, autoincrement=False, nullable=False),
    *_corp('journey_trigger_cursor'),
    sa.Column('last_id', BigId, nullable=False),
    sa.Column('last_day', sa.String(length=10), nullable=True),
    _when('checked_at', True),
    sa.ForeignKeyConstraint(['journey_id'], ['journey.id'], name=op.f('fk_journey_trigger_cursor_journey_id_journey'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('journey_id', name=op.f('pk_journey_trigger_cursor'))
    )
    for table in ('journey', 'journey_version', 'journey_enrolment', 'journey_step', 'journey_trigger_cursor'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(batch_op.f(f'ix_{table}_corp_id'), ['corp_id'], unique=False)
    with op.batch_alter_table('journey_enrolment', schema=None) as batch_op:
        batch_op.create_index('ix_journey_enrolment_status_due', ['status', 'due_at'], unique=False)
        batch_op.create_index('ix_journey_enrolment_journey_node', ['journey_id', 'node', 'status'], unique=False)
        batch_op.create_index('ix_journey_enrolment_customer', ['customer_id'], unique=False)
    with op.batch_alter_table('journey_step', schema=None) as batch_op:
        batch_op.create_index('ix_journey_step_journey_node', ['journey_id', 'node'], unique=False)


def downgrade() -> None:
    for table in ('journey_trigger_cursor', 'journey_step', 'journey_enrolment', 'journey_version', 'journey'):
        op.drop_table(table)
