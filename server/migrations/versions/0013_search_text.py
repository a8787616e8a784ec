"""search text folded for case and accents: businesses' names and texts, deals' texts

`cafe` finds "Corner Café" on SQLite and PostgreSQL alike: both compare a folded copy kept
beside the original (server/folding.py), filled here for the rows that exist.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30 07:40:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

from server.folding import fold


# revision identifiers, used by Alembic.
revision: str = '0013'
down_revision: Union[str, Sequence[str], None] = '0012'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('businesses') as batch:
        batch.add_column(sa.Column('search_name', sa.String(length=120), server_default='', nullable=False))
        batch.add_column(sa.Column('search_text', sa.Text(), server_default='', nullable=False))
    with op.batch_alter_table('deals') as batch:
        batch.add_column(sa.Column('search_text', sa.Text(), server_default='', nullable=False))
    bind = op.get_bind()
    businesses = bind.execute(sa.text('SELECT id, name, category, description FROM businesses'))
    for id_, name, category, description in businesses.all():
        bind.execute(
            sa.text('UPDATE businesses SET search_name = :n, search_text = :t WHERE id = :id'),
            {'n': fold(name), 't': fold(f"{name} {category} {description or ''}"), 'id': id_},
        )
    deals = bind.execute(sa.text('SELECT id, title, description FROM deals'))
    for id_, title, description in deals.all():
        bind.execute(
            sa.text('UPDATE deals SET search_text = :t WHERE id = :id'),
            {'t': fold(f"{title} {description or ''}"), 'id': id_},
        )


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('deals') as batch:
        batch.drop_column('search_text')
    with op.batch_alter_table('businesses') as batch:
        batch.drop_column('search_text')
        batch.drop_column('search_name')
