"""till branches and branch versions: the branch a pairing code and its terminal serve (for
receipts and the owner's list of tills; no foreign key, as a deal's branches: a branch
closed later leaves its tills unnamed rather than refused), and a version on branches so that an edit made at
a terminal applies only to the branch it was made on

Revision ID: 0021
Revises: 0020
Create Date: 2026-11-30 07:40:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0021'
down_revision: Union[str, Sequence[str], None] = '0020'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('branches', schema=None) as batch_op:
        batch_op.add_column(sa.Column('version', sa.Integer(), server_default='1', nullable=False))
    with op.batch_alter_table('pairing_codes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('branch_id', sa.String(length=11), nullable=True))
    with op.batch_alter_table('devices', schema=None) as batch_op:
        batch_op.add_column(sa.Column('branch_id', sa.String(length=11), nullable=True))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('devices', schema=None) as batch_op:
        batch_op.drop_column('branch_id')
    with op.batch_alter_table('pairing_codes', schema=None) as batch_op:
        batch_op.drop_column('branch_id')
    with op.batch_alter_table('branches', schema=None) as batch_op:
        batch_op.drop_column('version')
