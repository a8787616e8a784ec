"""payments owed back: a purchase refused after its charge

`payment_refunds`: a gift-card purchase refused once paid (its business's cards reached
their limit meanwhile) owes its payment back. The row is written with the refusal and
marked when the provider has refunded it (at once, or in the jobs' round).

Revision ID: 0033
Revises: 0032
Create Date: 2026-12-01 06:45:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0033'
down_revision: Union[str, Sequence[str], None] = '0032'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        'payment_refunds',
        sa.Column('id', sa.String(length=11), nullable=False),
        sa.Column('payment_reference', sa.String(length=200), nullable=False),
        sa.Column('amount_minor', sa.BigInteger(), nullable=False),
        sa.Column('currency', sa.String(length=3), nullable=False),
        sa.Column('refund_key', sa.String(length=250), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('refunded_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('refund_reference', sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_refunds')),
        sa.UniqueConstraint('refund_key', name=op.f('uq_payment_refunds_refund_key')),
    )
    with op.batch_alter_table('payment_refunds', schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f('ix_payment_refunds_refunded_at'), ['refunded_at'], unique=False
        )


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('payment_refunds', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payment_refunds_refunded_at'))
    op.drop_table('payment_refunds')
