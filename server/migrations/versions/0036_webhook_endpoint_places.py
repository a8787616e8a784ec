"""each webhook endpoint keeps its place in the business's log

`webhook_endpoints.from_position` was the log's head when an endpoint was registered or
last enabled; it is now how far the log has been turned into that endpoint's deliveries,
moved on by the reader, so that what happens while it is disabled waits for it. Existing
endpoints are brought to their place: an enabled one to the business's webhook cursor
(everything up to it has been read for it); a disabled one to the last event it has a
delivery of, so enabling it sends what it missed since (no more than the delivery log
keeps: see `server/webhooks/service.py`).

Revision ID: 0036
Revises: 0035
Create Date: 2026-12-01 17:00:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0036'
down_revision: Union[str, Sequence[str], None] = '0035'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

_CURSOR = (
    "(SELECT c.position FROM webhook_cursors c "
    "WHERE c.business_id = webhook_endpoints.business_id)"
)
_LAST_DELIVERED = (
    "(SELECT max(e.position) FROM webhook_deliveries d JOIN events e ON e.id = d.event_id "
    "WHERE d.endpoint_id = webhook_endpoints.id)"
)


def upgrade() -> None:
    """Upgrade schema."""
    for status, place in (("enabled", _CURSOR), ("disabled", _LAST_DELIVERED)):
        op.execute(
            sa.text(
                f"UPDATE webhook_endpoints SET from_position = {place} "
                f"WHERE status = '{status}' AND from_position < {place}"
            )
        )


def downgrade() -> None:
    """Downgrade schema: the places stay (the old reader moves an endpoint to the head when
    it is enabled anyway)."""
