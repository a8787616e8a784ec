"""gift receipts: the receipt emailed to a gift's buyer who bought it without an account

Revision ID: 0038
Revises: 0037
Create Date: 2026-12-02 10:00:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0038'
down_revision: Union[str, Sequence[str], None] = '0037'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema. Gifts bought before it get no receipt: they were bought when the
    confirmation page was said to be the only record."""
    op.create_table('gift_receipts',
    sa.Column('id', sa.String(length=11), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.Enum('pending', 'sent', 'failed', name='delivery', native_enum=False, length=10), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('claimed_by', sa.String(length=11), nullable=True),
    sa.Column('claimed_until', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['id'], ['gifts.id'], name=op.f('fk_gift_receipts_id_gifts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_gift_receipts'))
    )
    with op.batch_alter_table('gift_receipts', schema=None) as batch_op:
        batch_op.create_index('ix_gift_receipts_due', ['status', 'next_attempt_at'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('gift_receipts', schema=None) as batch_op:
        batch_op.drop_index('ix_gift_receipts_due')

    op.drop_table('gift_receipts')
