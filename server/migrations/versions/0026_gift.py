"""gifts: a card bought for someone, emailed at its delivery time and claimed by its code;
webhook test events: a delivery with no event in the log

Revision ID: 0026
Revises: 0025
Create Date: 2026-11-30 12:00:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0026'
down_revision: Union[str, Sequence[str], None] = '0025'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('gifts',
    sa.Column('id', sa.String(length=11), nullable=False),
    sa.Column('card_id', sa.String(length=11), nullable=False),
    sa.Column('business_id', sa.String(length=11), nullable=False),
    sa.Column('amount_minor', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('buyer_id', sa.String(length=11), nullable=True),
    sa.Column('buyer_email', sa.String(length=254), nullable=False),
    sa.Column('from_name', sa.String(length=100), nullable=False),
    sa.Column('recipient_email', sa.String(length=254), nullable=False),
    sa.Column('recipient_name', sa.String(length=100), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('deliver_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('code', sa.String(length=20), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=False),
    sa.Column('recipient_id', sa.String(length=11), nullable=True),
    sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.Enum('pending', 'sent', 'failed', name='delivery', native_enum=False, length=10), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('claimed_by', sa.String(length=11), nullable=True),
    sa.Column('claimed_until', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['business_id'], ['businesses.id'], name=op.f('fk_gifts_business_id_businesses')),
    sa.ForeignKeyConstraint(['buyer_id'], ['users.id'], name=op.f('fk_gifts_buyer_id_users')),
    sa.ForeignKeyConstraint(['card_id'], ['gift_cards.id'], name=op.f('fk_gifts_card_id_gift_cards')),
    sa.ForeignKeyConstraint(['recipient_id'], ['users.id'], name=op.f('fk_gifts_recipient_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_gifts')),
    sa.UniqueConstraint('card_id', name=op.f('uq_gifts_card_id')),
    sa.UniqueConstraint('code_hash', name=op.f('uq_gifts_code_hash'))
    )
    with op.batch_alter_table('gifts', schema=None) as batch_op:
        batch_op.create_index('ix_gifts_buyer_created', ['buyer_id', 'created_at'], unique=False)
        batch_op.create_index('ix_gifts_due', ['status', 'next_attempt_at'], unique=False)

    with op.batch_alter_table('webhook_deliveries', schema=None) as batch_op:
        batch_op.alter_column('event_id', existing_type=sa.BigInteger(), nullable=True)


def downgrade() -> None:
    """Downgrade schema."""
    op.execute("DELETE FROM webhook_attempts WHERE delivery_id IN "
               "(SELECT id FROM webhook_deliveries WHERE event_id IS NULL)")
    op.execute("DELETE FROM webhook_deliveries WHERE event_id IS NULL")
    with op.batch_alter_table('webhook_deliveries', schema=None) as batch_op:
        batch_op.alter_column('event_id', existing_type=sa.BigInteger(), nullable=False)

    with op.batch_alter_table('gifts', schema=None) as batch_op:
        batch_op.drop_index('ix_gifts_due')
        batch_op.drop_index('ix_gifts_buyer_created')

    op.drop_table('gifts')
