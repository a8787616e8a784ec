"""where each ledger transfer happened: business, branch, till and cashier

Reports group a business's money by branch, till and cashier, so each transfer carries
them (`ledger.Origin`), written by the INSERT that already writes the transfer.

Transfers made before this learn their business from their accounts, and a till's
redemptions (online or pushed offline, kept in `till_redemptions` with the cashier) their
till, branch and cashier from there. Voids, refunds and sales from before stay without a
till: nothing recorded it.

Revision ID: 0023
Revises: 0022
Create Date: 2026-11-30 11:30:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0023'
down_revision: Union[str, Sequence[str], None] = '0022'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('transfers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('business_id', sa.String(length=11), nullable=True))
        batch_op.add_column(sa.Column('branch_id', sa.String(length=11), nullable=True))
        batch_op.add_column(sa.Column('device_id', sa.String(length=11), nullable=True))
        batch_op.add_column(sa.Column('cashier_id', sa.String(length=36), nullable=True))
        batch_op.create_index('ix_transfers_business_created', ['business_id', 'created_at'], unique=False)
    op.execute(
        "UPDATE transfers SET business_id = COALESCE("
        "(SELECT business_id FROM ledger_accounts WHERE id = transfers.debit_account_id), "
        "(SELECT business_id FROM ledger_accounts WHERE id = transfers.credit_account_id))"
    )
    op.execute(
        "UPDATE transfers SET "
        "device_id = (SELECT r.device_id FROM till_redemptions r "
        "WHERE r.operation_id = transfers.operation_id), "
        "cashier_id = (SELECT r.cashier_id FROM till_redemptions r "
        "WHERE r.operation_id = transfers.operation_id), "
        "branch_id = (SELECT d.branch_id FROM till_redemptions r "
        "JOIN devices d ON d.id = r.device_id WHERE r.operation_id = transfers.operation_id) "
        "WHERE operation_id IN "
        "(SELECT operation_id FROM till_redemptions WHERE operation_id IS NOT NULL)"
    )
    # A terminal's voids were refunds by kind until now; their memo names the void's event.
    op.execute("UPDATE transfers SET kind = 'void' WHERE kind = 'refund' AND memo LIKE 'void, event %'")


def downgrade() -> None:
    """Downgrade schema."""
    op.execute("UPDATE transfers SET kind = 'refund' WHERE kind = 'void'")
    op.execute(
        "UPDATE transfers SET kind = 'voucher-redemption' WHERE kind = 'offline-voucher-redemption'"
    )
    with op.batch_alter_table('transfers', schema=None) as batch_op:
        batch_op.drop_index('ix_transfers_business_created')
        batch_op.drop_column('cashier_id')
        batch_op.drop_column('device_id')
        batch_op.drop_column('branch_id')
        batch_op.drop_column('business_id')
