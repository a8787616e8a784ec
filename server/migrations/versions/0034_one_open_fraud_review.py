"""one open fraud review per rule and subject, enforced

Two transactions that each found no open review of a rule on a subject could each open
one, and every later hit then went to each of them. Open duplicates are merged first: the
oldest keeps the hits (each counted once) and the newest's latest decision, and the others
are deleted. Then a unique index on open reviews (rule, subject,
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
    "rule_id = :rule_id AND subject_key = :subject_key "
    f"AND coalesce(business_id, '') = :business AND {_OPEN}"
)


def upgrade() -> None:
    """Upgrade schema."""
    connection = op.get_bind()
    groups = connection.execute(
        sa.text(
            "SELECT rule_id, subject_key, coalesce(business_id, '') FROM fraud_reviews "
            f"WHERE {_OPEN} GROUP BY rule_id, subject_key, coalesce(business_id, '') "
            "HAVING count(*) > 1"
        )
    ).all()
    for rule_id, subject_key, business in groups:
        same = {"rule_id": rule_id, "subject_key": subject_key, "business": business}
        kept, newest = connection.execute(
            sa.text(
                f"SELECT (SELECT id FROM fraud_reviews WHERE {_SAME} "
                "ORDER BY created_at, id LIMIT 1), "
                f"(SELECT id FROM fraud_reviews WHERE {_SAME} "
                "ORDER BY created_at DESC, id DESC LIMIT 1)"
            ),
            same,
        ).one()
        # Every hit after the second review opened went to each of them: the most any
        # holds, and one for the opening of each of the others, counts each hit once.
        # Written from what is stored at that moment (a hit made meanwhile counts).
        connection.execute(
            sa.text(
                "UPDATE fraud_reviews SET "
                f"hits = (SELECT max(hits) + count(*) - 1 FROM fraud_reviews WHERE {_SAME}), "
                "decision_reference = (SELECT decision_reference FROM fraud_reviews "
                "WHERE id = :newest), "
                "reason = (SELECT reason FROM fraud_reviews WHERE id = :newest) "
                "WHERE id = :kept"
            ),
            {**same, "kept": kept, "newest": newest},
        )
        connection.execute(
            sa.text(f"DELETE FROM fraud_reviews WHERE {_SAME} AND id <> :kept"),
            {**same, "kept": kept},
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
