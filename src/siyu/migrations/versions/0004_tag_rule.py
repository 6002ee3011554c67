"""tag rules: the condition of each rule tag

Revision ID: 0004_tag_rule
Revises: 0003_cdp
Create Date: 2026-11-23 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import siyu.kit.db

revision = '0004_tag_rule'
down_revision = '0003_cdp'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('tag_rule',
    sa.Column('tag_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('corp_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('condition', sa.JSON(), nullable=False),
    sa.Column('evaluated_at', siyu.kit.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('created_at', siyu.kit.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', siyu.kit.db.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['corp_id'], ['corp.id'], name=op.f('fk_tag_rule_corp_id_corp'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tag_id'], ['tag.id'], name=op.f('fk_tag_rule_tag_id_tag'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tag_id', name=op.f('pk_tag_rule'))
    )
    with op.batch_alter_table('tag_rule', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tag_rule_corp_id'), ['corp_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('tag_rule', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tag_rule_corp_id'))
    op.drop_table('tag_rule')
