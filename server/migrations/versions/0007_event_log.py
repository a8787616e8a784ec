"""event log: commit-ordered positions per business

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 05:00:00

The change feed (`changes`, ordered by a number taken at INSERT) becomes the event log
(`events`, ordered per business by a position taken just before commit; see
server/events/models.py). Existing rows keep their number as their position, so the
cursors terminals hold still mean the same place, and each business's counter starts at
its last number. Terminals paired before this migration may have been moved past a
change that committed late: each is marked to be sent, once, what lies a little before its
cursor (server/devices/pull.py, `resume_from`).
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0007'
down_revision: Union[str, Sequence[str], None] = '0006'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('business_id', sa.String(length=11), nullable=False),
    sa.Column('position', sa.BigInteger(), nullable=False),
    sa.Column('entity', sa.String(length=20), nullable=False),
    sa.Column('entity_id', sa.String(length=11), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_events'))
    )
    op.create_index('ix_events_business_position', 'events', ['business_id', 'position'], unique=True)
    op.create_table('event_counters',
    sa.Column('business_id', sa.String(length=11), nullable=False),
    sa.Column('position', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('business_id', name=op.f('pk_event_counters'))
    )
    op.execute(
        "INSERT INTO events (id, business_id, position, entity, entity_id, kind) "
        "SELECT seq, business_id, seq, entity, entity_id, 'updated' FROM changes"
    )
    op.execute(
        "INSERT INTO event_counters (business_id, position) "
        "SELECT business_id, MAX(seq) FROM changes GROUP BY business_id"
    )
    with op.batch_alter_table('devices', schema=None) as batch_op:
        batch_op.add_column(sa.Column('feed_rewind_below', sa.BigInteger(), nullable=True))
    op.execute(
        "UPDATE devices SET feed_rewind_below = (SELECT MAX(seq) FROM changes) "
        "WHERE revoked_at IS NULL AND EXISTS (SELECT 1 FROM changes)"
    )
    if op.get_bind().dialect.name == 'postgresql':
        # The copied ids came from the old sequence: new rows continue after them.
        op.execute(
            "SELECT setval(pg_get_serial_sequence('events', 'id'), "
            "COALESCE((SELECT MAX(id) FROM events), 0) + 1, false)"
        )
    with op.batch_alter_table('changes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_changes_business_id'))
    op.drop_table('changes')


def downgrade() -> None:
    op.create_table('changes',
    sa.Column('seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('business_id', sa.String(length=11), nullable=False),
    sa.Column('entity', sa.String(length=20), nullable=False),
    sa.Column('entity_id', sa.String(length=11), nullable=False),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_changes'))
    )
    with op.batch_alter_table('changes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_changes_business_id'), ['business_id'], unique=False)
    op.execute(
        "INSERT INTO changes (seq, business_id, entity, entity_id) "
        "SELECT id, business_id, entity, entity_id FROM events"
    )
    with op.batch_alter_table('devices', schema=None) as batch_op:
        batch_op.drop_column('feed_rewind_below')
    op.drop_table('event_counters')
    op.drop_index('ix_events_business_position', table_name='events')
    op.drop_table('events')
