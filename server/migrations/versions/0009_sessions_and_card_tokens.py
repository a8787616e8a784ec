"""sessions and card tokens: refresh-token families; billing keeps the gateway's token

Refresh tokens get a family (every token one sign-in's refreshes lead to); tokens issued
before are each a family of their own. Subscriptions keep the gateway's token and the last
four digits of the card on file instead of its number: the simulated gateway's test cards
become its `tok_…` tokens; any other number is dropped (its last four digits stay shown)
and the vendor puts the card on file again.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 10:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0009'
down_revision: Union[str, Sequence[str], None] = '0008'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

# The simulated gateway's saved test cards (server/payments/gateway.py), as of this revision.
_TEST_TOKENS = {
    '4242424242424242': 'tok_visa',
    '5555555555554444': 'tok_mastercard',
    '4000000000000002': 'tok_chargeDeclined',
    '4000000000009995': 'tok_chargeDeclinedInsufficientFunds',
    '4000000000000069': 'tok_chargeDeclinedExpiredCard',
    '4000000000000127': 'tok_chargeDeclinedIncorrectCvc',
    '4000000000000119': 'tok_chargeDeclinedProcessingError',
}


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('refresh_tokens', schema=None) as batch_op:
        batch_op.add_column(sa.Column('family_id', sa.String(length=11), nullable=True))
    tokens = sa.table('refresh_tokens', sa.column('id', sa.String()), sa.column('family_id', sa.String()))
    op.execute(tokens.update().values(family_id=tokens.c.id))
    with op.batch_alter_table('refresh_tokens', schema=None) as batch_op:
        batch_op.alter_column('family_id', existing_type=sa.String(length=11), nullable=False)
        batch_op.create_index(batch_op.f('ix_refresh_tokens_family_id'), ['family_id'], unique=False)

    with op.batch_alter_table('subscriptions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('payment_card_token', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('payment_card_last4', sa.String(length=4), nullable=True))
    subscriptions = sa.table(
        'subscriptions',
        sa.column('business_id', sa.String()),
        sa.column('payment_card', sa.String()),
        sa.column('payment_card_token', sa.String()),
        sa.column('payment_card_last4', sa.String()),
    )
    connection = op.get_bind()
    cards = connection.execute(
        sa.select(subscriptions.c.business_id, subscriptions.c.payment_card)
        .where(subscriptions.c.payment_card.is_not(None))
    ).all()
    for business_id, number in cards:
        connection.execute(
            subscriptions.update()
            .where(subscriptions.c.business_id == business_id)
            .values(payment_card_token=_TEST_TOKENS.get(number), payment_card_last4=number[-4:])
        )
    with op.batch_alter_table('subscriptions', schema=None) as batch_op:
        batch_op.drop_column('payment_card')


def downgrade() -> None:
    """Downgrade schema (card numbers are not put back: the cards go on file again)."""
    with op.batch_alter_table('subscriptions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('payment_card', sa.String(length=19), nullable=True))
        batch_op.drop_column('payment_card_last4')
        batch_op.drop_column('payment_card_token')
    with op.batch_alter_table('refresh_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_refresh_tokens_family_id'))
        batch_op.drop_column('family_id')
