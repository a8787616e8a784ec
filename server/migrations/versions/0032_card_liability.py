"""a business's gift-card liability kept as changes

`card_liability`: every move of a card's balance adds a row (business, currency, change);
the liability limit's check sums a business's rows and folds them into one. Filled here
with what each business's cards hold now.

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-01 06:20:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0032'
down_revision: Union[str, Sequence[str], None] = '0031'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        'card_liability',
        sa.Column(
            'id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True,
            nullable=False,
        ),
        sa.Column('business_id', sa.String(length=11), nullable=False),
        sa.Column('currency', sa.String(length=3), nullable=False),
        sa.Column('change_minor', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_card_liability')),
    )
    with op.batch_alter_table('card_liability', schema=None) as batch_op:
        batch_op.create_index('ix_card_liability_business', ['business_id', 'currency'], unique=False)
    op.execute(
        "INSERT INTO card_liability (business_id, currency, change_minor) "
        "SELECT business_id, currency, SUM(balance_minor) FROM ledger_accounts "
        "WHERE purpose = 'card' AND business_id IS NOT NULL "
        "GROUP BY business_id, currency HAVING SUM(balance_minor) <> 0"
    )


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('card_liability', schema=None) as batch_op:
        batch_op.drop_index('ix_card_liability_business')
    op.drop_table('card_liability')
