"""till redemptions: what a terminal redeemed under each attempt key

Voids and the online/offline duplicate checks read these instead of stored HTTP answers.
Gift-card answers to terminals' online redemptions, and the placeholder records offline
events used to claim attempt keys, become rows here; the placeholders are deleted.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 04:40:00

"""
from datetime import UTC, datetime
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0008'
down_revision: Union[str, Sequence[str], None] = '0007'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

_records = sa.table(
    'idempotency_records',
    sa.column('id', sa.BigInteger()),
    sa.column('scope', sa.String()),
    sa.column('key', sa.String()),
    sa.column('request_hash', sa.String()),
    sa.column('status_code', sa.Integer()),
    sa.column('response', sa.JSON()),
    sa.column('created_at', sa.DateTime(timezone=True)),
)
_events = sa.table(
    'sync_events',
    sa.column('id', sa.String()),
    sa.column('type', sa.String()),
    sa.column('occurred_at', sa.String()),
    sa.column('payload', sa.JSON()),
    sa.column('status', sa.String()),
)


def _moment(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace('Z', '+00:00'))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('till_redemptions',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('device_id', sa.String(length=11), nullable=False),
    sa.Column('attempt_key', sa.String(length=200), nullable=False),
    sa.Column('item', sa.String(length=20), nullable=False),
    sa.Column('subject_id', sa.String(length=11), nullable=False),
    sa.Column('amount_minor', sa.BigInteger(), nullable=False),
    sa.Column('operation_id', sa.String(length=11), nullable=True),
    sa.Column('event_id', sa.String(length=36), nullable=True),
    sa.Column('made_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('voided_by', sa.String(length=36), nullable=True),
    sa.ForeignKeyConstraint(['device_id'], ['devices.id'], name=op.f('fk_till_redemptions_device_id_devices')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_till_redemptions')),
    sa.UniqueConstraint('device_id', 'attempt_key', name=op.f('uq_till_redemptions_device_id'))
    )
    connection = op.get_bind()
    redemptions = sa.table(
        'till_redemptions',
        *(sa.column(name) for name in (
            'device_id', 'attempt_key', 'item', 'subject_id', 'amount_minor', 'operation_id',
            'event_id', 'made_at', 'voided_by',
        )),
    )
    placeholders = []
    found = connection.execute(
        sa.select(_records).where(_records.c.scope.like('device:%'))
    ).mappings()
    for record in found:
        answer = record['response'] or {}
        row = None
        if record['request_hash'] == 'offline-event':
            placeholders.append(record['id'])
            event = connection.execute(
                sa.select(_events).where(_events.c.id == str(answer.get('event_id')))
            ).mappings().first()
            if event is None or event['status'] == 'rejected':
                continue
            payload = event['payload']
            card = event['type'] == 'gift_card_redemption'
            row = {
                'item': 'gift_card' if card else 'voucher',
                'subject_id': payload['card_id' if card else 'voucher_id'],
                'amount_minor': int(payload.get('amount_minor') or payload.get('face_minor') or 0),
                'operation_id': None,
                'event_id': event['id'],
                'made_at': _moment(event['occurred_at']),
            }
        elif record['status_code'] == 200 and 'card_id' in answer:
            row = {
                'item': 'gift_card',
                'subject_id': answer['card_id'],
                'amount_minor': int(answer['amount']['minor']),
                'operation_id': answer.get('id'),
                'event_id': None,
                'made_at': record['created_at'],
            }
        if row is not None:
            voided = answer.get('voided_by')
            connection.execute(redemptions.insert().values(
                device_id=record['scope'].removeprefix('device:'), attempt_key=record['key'],
                voided_by=voided, **row,
            ))
    if placeholders:
        connection.execute(_records.delete().where(_records.c.id.in_(placeholders)))


def downgrade() -> None:
    """Downgrade schema (offline events' claims on attempt keys are not put back)."""
    op.drop_table('till_redemptions')
