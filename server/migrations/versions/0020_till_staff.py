"""till staff: each person's till role and PIN hash; the cashier on a till's redemption

Revision ID: 0020
Revises: 0019
Create Date: 2026-11-30 07:40:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0020'
down_revision: Union[str, Sequence[str], None] = '0019'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('till_staff',
    sa.Column('business_id', sa.String(length=11), nullable=False),
    sa.Column('user_id', sa.String(length=11), nullable=False),
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('role', sa.Enum('cashier', 'manager', 'owner', name='staffrole', native_enum=False, length=20), nullable=False),
    sa.Column('pin_hash', sa.String(length=200), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['business_id'], ['businesses.id'], name=op.f('fk_till_staff_business_id_businesses')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_till_staff_user_id_users')),
    sa.PrimaryKeyConstraint('business_id', 'user_id', name=op.f('pk_till_staff'))
    )
    with op.batch_alter_table('till_redemptions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('cashier_id', sa.String(length=36), nullable=True))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('till_redemptions', schema=None) as batch_op:
        batch_op.drop_column('cashier_id')
    op.drop_table('till_staff')
