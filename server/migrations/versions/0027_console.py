"""the operator's console: a business suspended by an operator; the audit log of admins' actions; deal views

`businesses.suspended_at` and `suspension_reason`: an operator's suspension, apart from
billing's (which a paid invoice lifts). `admin_actions`: who did what, when, to what, and why. `deal_views`: a counter per deal and day
of its page's views (the console's deal effectiveness).

Revision ID: 0027
Revises: 0026
Create Date: 2026-11-30 11:40:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa



# revision identifiers, used by Alembic.
revision: str = '0027'
down_revision: Union[str, Sequence[str], None] = '0026'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('businesses', schema=None) as batch_op:
        batch_op.add_column(sa.Column('suspended_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column('suspension_reason', sa.Text(), server_default='', nullable=False)
        )
    op.create_table(
        'admin_actions',
        sa.Column('id', sa.String(length=11), nullable=False),
        sa.Column('admin_id', sa.String(length=11), nullable=False),
        sa.Column('action', sa.Enum(
            'business_suspended', 'business_restored', 'fraud_review_resolved',
            name='adminactionkind', native_enum=False, length=40,
        ), nullable=False),
        sa.Column('target_kind', sa.String(length=40), nullable=False),
        sa.Column('target_id', sa.String(length=64), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ['admin_id'], ['users.id'], name=op.f('fk_admin_actions_admin_id_users')
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_admin_actions')),
    )
    with op.batch_alter_table('admin_actions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_admin_actions_admin_id'), ['admin_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_admin_actions_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_admin_actions_target_id'), ['target_id'], unique=False)


    op.create_table(
        'deal_views',
        sa.Column('deal_id', sa.String(length=11), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('views', sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(['deal_id'], ['deals.id'], name=op.f('fk_deal_views_deal_id_deals')),
        sa.PrimaryKeyConstraint('deal_id', 'day', name=op.f('pk_deal_views')),
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table('deal_views')
    op.drop_table('admin_actions')
    with op.batch_alter_table('businesses', schema=None) as batch_op:
        batch_op.drop_column('suspension_reason')
        batch_op.drop_column('suspended_at')
