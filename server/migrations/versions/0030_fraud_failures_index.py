"""a till's failed code lookups, indexed apart

`ix_fraud_activity_terminal_failures`: the rule that stops a till after N failed code
lookups read every lookup of the window, good ones included (thousands at a busy till, on
every sale); this index holds only the failures.

Revision ID: 0030
Revises: 0029
Create Date: 2026-11-30 18:35:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0030'
down_revision: Union[str, Sequence[str], None] = '0029'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_index(
        'ix_fraud_activity_terminal_failures',
        'fraud_activity',
        ['terminal', 'event', 'at'],
        unique=False,
        postgresql_where=sa.text('failed IS true'),
        sqlite_where=sa.text('failed IS true'),
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index('ix_fraud_activity_terminal_failures', table_name='fraud_activity')
