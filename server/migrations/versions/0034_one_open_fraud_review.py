"""one open fraud review per rule and subject, enforced

Two transactions that each found no open review of a rule on a subject could each open
one. Open duplicates are merged first: the oldest keeps the others' hits and their latest
decision, and the others are deleted. Then a unique index on open reviews (rule, subject,
business) makes hits that come at once add to one review.

Revision ID: 0034
Revises: 0033
Create Date: 2026-12-01 10:40:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0034'
down_revision: Union[str, Sequence[str], None] = '0033'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

_OPEN = "status = 'open'"
_SAME = (
    "other.rule_id = kept.rule_id AND other.subject_key = kept.subject_key "
    "AND coalesce(other.business_id, '') = coalesce(kept.business_id, '') "
    f"AND other.{_OPEN}"
)


def upgrade() -> None:
    """Upgrade schema."""
    connection = op.get_bind()
    # The oldest open review of each group with more than one keeps them all.
    kept = connection.execute(
        sa.text(
            f"SELECT kept.id FROM fraud_reviews AS kept WHERE kept.{_OPEN} "
            f"AND EXISTS (SELECT 1 FROM fraud_reviews AS other WHERE {_SAME} "
            "AND other.id <> kept.id) "
            f"AND NOT EXISTS (SELECT 1 FROM fraud_reviews AS other WHERE {_SAME} "
            "AND (other.created_at, other.id) < (kept.created_at, kept.id))"
        )
    ).scalars().all()
    for review_id in kept:
        latest = connection.execute(
            sa.text(
                "SELECT other.decision_reference, other.reason FROM fraud_reviews AS kept "
                f"JOIN fraud_reviews AS other ON {_SAME} WHERE kept.id = :id "
                "ORDER BY other.created_at DESC, other.id DESC LIMIT 1"
            ),
            {"id": review_id},
        ).one()
        total = connection.execute(
            sa.text(
                "SELECT sum(other.hits) FROM fraud_reviews AS kept "
                f"JOIN fraud_reviews AS other ON {_SAME} WHERE kept.id = :id"
            ),
            {"id": review_id},
        ).scalar_one()
        connection.execute(
            sa.text(
                "DELETE FROM fraud_reviews WHERE id IN (SELECT other.id FROM fraud_reviews "
                f"AS kept JOIN fraud_reviews AS other ON {_SAME} WHERE kept.id = :id "
                "AND other.id <> kept.id)"
            ),
            {"id": review_id},
        )
        connection.execute(
            sa.text(
                "UPDATE fraud_reviews SET hits = :hits, decision_reference = :reference, "
                "reason = :reason WHERE id = :id"
            ),
            {"id": review_id, "hits": total, "reference": latest[0], "reason": latest[1]},
        )
    with op.batch_alter_table('fraud_reviews', schema=None) as batch_op:
        batch_op.create_index(
            'uq_fraud_reviews_open',
            ['rule_id', 'subject_key', sa.text("coalesce(business_id, '')")],
            unique=True,
            postgresql_where=sa.text(_OPEN),
            sqlite_where=sa.text(_OPEN),
        )


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('fraud_reviews', schema=None) as batch_op:
        batch_op.drop_index('uq_fraud_reviews_open')
