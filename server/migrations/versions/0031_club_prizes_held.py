"""a winning club's prize card is held by the club

`club_holdings.contest_id`: the contest a held gift card was won in (NULL for what the
club's fund bought). A club's prize card goes into its holdings, for an organiser to hand
to a member, instead of into its founder's wallet.

Revision ID: 0031
Revises: 0030
Create Date: 2026-11-30 23:40:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0031'
down_revision: Union[str, Sequence[str], None] = '0030'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('club_holdings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('contest_id', sa.String(length=11), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f('fk_club_holdings_contest_id_contests'), 'contests', ['contest_id'], ['id']
        )


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('club_holdings', schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f('fk_club_holdings_contest_id_contests'), type_='foreignkey'
        )
        batch_op.drop_column('contest_id')
