"""the vendors' API: a business closed by its owner, a deal cancelled, a staff member's role

`businesses.closed_at`: set when the owner removes the business (it leaves search and sells
nothing new; cards and vouchers already sold stay redeemable). `deals.cancelled_at`: set when
the business cancels a deal (no longer sold; vouchers sold are honoured until they expire).
`staff.role`: cashier or manager; a manager manages the business's listings through the API.

Revision ID: 0028
Revises: 0027
Create Date: 2026-11-30 11:30:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0028'
down_revision: Union[str, Sequence[str], None] = '0027'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('businesses', schema=None) as batch_op:
        batch_op.add_column(sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table('deals', schema=None) as batch_op:
        batch_op.add_column(sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table('staff', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('role', sa.String(length=20), nullable=False, server_default='cashier')
        )


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('staff', schema=None) as batch_op:
        batch_op.drop_column('role')
    with op.batch_alter_table('deals', schema=None) as batch_op:
        batch_op.drop_column('cancelled_at')
    with op.batch_alter_table('businesses', schema=None) as batch_op:
        batch_op.drop_column('closed_at')
