"""a business's time zone

`businesses.time_zone`: the IANA name its reports' days and its tills' "today" run in
(`Europe/Lisbon`); businesses listed before it are in UTC, as their reports were.

Revision ID: 0029
Revises: 0028
Create Date: 2026-11-30 14:30:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0029'
down_revision: Union[str, Sequence[str], None] = '0028'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('businesses', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('time_zone', sa.String(length=64), nullable=False, server_default='UTC')
        )


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('businesses', schema=None) as batch_op:
        batch_op.drop_column('time_zone')
