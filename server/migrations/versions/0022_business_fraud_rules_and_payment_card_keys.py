"""a business's own fraud rules; payment cards known by gateway token and last four

`fraud_rules.business_id`: null for the platform's rules, else the business whose own rule
it is; names are unique per business, and among the platform's (a partial index: NULLs are
distinct in a unique constraint).

Payment cards are kept as the gateway's token and last four digits (`tok_visa:4242`), one
form for the daily load limit and the fraud rules, instead of two keyed hashes of the
number. Counts under the old hashes no longer match any card: the daily loads (a day's
worth) start again from zero, and fraud velocity per payment card from the upgrade on.

Revision ID: 0022
Revises: 0021
Create Date: 2026-11-30 07:40:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0022'
down_revision: Union[str, Sequence[str], None] = '0021'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

_PLATFORM_ONLY = sa.text("business_id IS NULL")


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('fraud_rules', schema=None) as batch_op:
        batch_op.add_column(sa.Column('business_id', sa.String(length=11), nullable=True))
        batch_op.drop_constraint('uq_fraud_rules_name', type_='unique')
        batch_op.create_unique_constraint(
            batch_op.f('uq_fraud_rules_business_id'), ['business_id', 'name']
        )
        batch_op.create_index(batch_op.f('ix_fraud_rules_business_id'), ['business_id'], unique=False)
        batch_op.create_foreign_key(
            batch_op.f('fk_fraud_rules_business_id_businesses'), 'businesses', ['business_id'], ['id']
        )
    op.create_index(
        'uq_fraud_rules_platform_name', 'fraud_rules', ['name'], unique=True,
        postgresql_where=_PLATFORM_ONLY, sqlite_where=_PLATFORM_ONLY,
    )

    for table, column in (
        ('fraud_activity', 'payment_card'),
        ('fraud_decisions', 'subject_key'),
        ('fraud_reviews', 'subject_key'),
    ):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column(
                column, existing_type=sa.String(length=64), type_=sa.String(length=205)
            )
    op.drop_table('fraud_fingerprint_keys')
    op.drop_table('payment_card_loads')
    op.create_table('payment_card_loads',
    sa.Column('payment_card', sa.String(length=205), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('loaded_minor', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('payment_card', 'currency', 'day', name=op.f('pk_payment_card_loads'))
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table('payment_card_loads')
    op.create_table('payment_card_loads',
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('loaded_minor', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('fingerprint', 'currency', 'day', name=op.f('pk_payment_card_loads'))
    )
    op.create_table('fraud_fingerprint_keys',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('secret', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fraud_fingerprint_keys'))
    )
    for table, column in (
        ('fraud_activity', 'payment_card'),
        ('fraud_decisions', 'subject_key'),
        ('fraud_reviews', 'subject_key'),
    ):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column(
                column, existing_type=sa.String(length=205), type_=sa.String(length=64)
            )
    op.drop_index('uq_fraud_rules_platform_name', table_name='fraud_rules')
    # A business's own rules, with what they decided, cannot be kept without the column.
    theirs = "SELECT id FROM fraud_rules WHERE business_id IS NOT NULL"
    op.execute(f"DELETE FROM fraud_decisions WHERE rule_id IN ({theirs})")
    op.execute(f"DELETE FROM fraud_reviews WHERE rule_id IN ({theirs})")
    op.execute("DELETE FROM fraud_rules WHERE business_id IS NOT NULL")
    with op.batch_alter_table('fraud_rules', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_fraud_rules_business_id_businesses'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_fraud_rules_business_id'))
        batch_op.drop_constraint(batch_op.f('uq_fraud_rules_business_id'), type_='unique')
        batch_op.create_unique_constraint('uq_fraud_rules_name', ['name'])
        batch_op.drop_column('business_id')
