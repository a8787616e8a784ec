"""money limits: refunds name their redemption; payment cards' daily loads

Transfers get `refund_of` (the redemption a refund gives back), and `payment_card_loads`
counts what each payment card (by keyed fingerprint) loaded onto gift cards per day.

The platform clearing account's split into one per business needs no change here: new
sales post to `clearing:<business>:<currency>`, the old `clearing:platform:<currency>` row
keeps its history and balance, and `ledger.clearing_balance` adds them all up.


Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 10:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0010'
down_revision: Union[str, Sequence[str], None] = '0009'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('payment_card_loads',
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('loaded_minor', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('fingerprint', 'currency', 'day', name=op.f('pk_payment_card_loads'))
    )
    with op.batch_alter_table('transfers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('refund_of', sa.String(length=11), nullable=True))
        batch_op.create_index(batch_op.f('ix_transfers_refund_of'), ['refund_of'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('transfers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_transfers_refund_of'))
        batch_op.drop_column('refund_of')
    op.drop_table('payment_card_loads')
