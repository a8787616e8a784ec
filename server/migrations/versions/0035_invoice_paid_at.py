"""the moment an invoice was paid

`invoices.paid_at`: a report counts a subscription charge on the day its payment falls on in
the report's time zone, as it counts the ledger's transfers; `paid_on` (the billing clock's
date) alone cannot say which day that is east or west of UTC. Invoices paid before are
given noon UTC of their `paid_on`, a moment that is that date in every zone from UTC-12 to
UTC+11.

Revision ID: 0035
Revises: 0034
Create Date: 2026-12-01 16:40:00.000000

"""
from datetime import UTC, datetime, time
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0035'
down_revision: Union[str, Sequence[str], None] = '0034'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

_NOON = time(12, tzinfo=UTC)


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.add_column(sa.Column('paid_at', sa.DateTime(timezone=True), nullable=True))
    invoices = sa.table(
        'invoices',
        sa.column('paid_on', sa.Date()),
        sa.column('paid_at', sa.DateTime(timezone=True)),
    )
    connection = op.get_bind()
    days = connection.scalars(
        sa.select(invoices.c.paid_on).where(invoices.c.paid_on.is_not(None)).distinct()
    ).all()
    for day in days:
        connection.execute(
            invoices.update()
            .where(invoices.c.paid_on == day, invoices.c.paid_at.is_(None))
            .values(paid_at=datetime.combine(day, _NOON))
        )


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.drop_column('paid_at')
