"""a paid donation keeps its payment card and the day it counted on

`club_donations.payment_card` (`payments.payment_card_key`: the gateway's token and the last
four digits, never the number) and `club_donations.counted_on` (the UTC day the charge counted
against that card's daily limit): a refund gives that room back. Donations made before are
left NULL: which card paid them was not kept, so their refunds free nothing.

Revision ID: 0037
Revises: 0036
Create Date: 2026-12-02 10:00:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0037'
down_revision: Union[str, Sequence[str], None] = '0036'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('club_donations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('payment_card', sa.String(length=205), nullable=True))
        batch_op.add_column(sa.Column('counted_on', sa.Date(), nullable=True))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('club_donations', schema=None) as batch_op:
        batch_op.drop_column('counted_on')
        batch_op.drop_column('payment_card')
