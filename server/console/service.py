"""What an admin changes from the console, each change with its line in the audit log,
written in the same transaction."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from ..accounts.models import User
from ..directory.models import Business
from ..errors import (
    BusinessAlreadySuspended,
    BusinessClosed,
    BusinessNotFound,
    BusinessNotSuspended,
    FraudReviewClosed,
    ReasonRequired,
)
from ..fraud import service as fraud
from ..fraud.models import ReviewStatus
from ..web.forms import field_problem
from .models import AdminAction, AdminActionKind

__all__ = ["MAX_REASON", "resolve_fraud_review", "restore_business", "suspend_business"]

MAX_REASON = 500


def _reason(text: str) -> str:
    reason = " ".join(text.split())  # on one line: pasted line breaks become spaces
    if not reason:
        raise ReasonRequired("Say why, in a few words: the audit log keeps the reason.")
    problem = field_problem("Reason", reason, MAX_REASON)  # a control character, too long
    if problem is not None:
        raise ReasonRequired(problem)
    return reason


def _audit(
    session: Session,
    admin: User,
    action: AdminActionKind,
    target: tuple[str, str],
    reason: str,
    now: datetime,
) -> AdminAction:
    kind, target_id = target
    row = AdminAction(
        admin_id=admin.id,
        action=action,
        target_kind=kind,
        target_id=target_id,
        reason=reason,
        at=now,
    )
    session.add(row)
    session.flush()
    return row


def _of(business: Business) -> tuple[str, str]:
    return ("business", business.id)


def _open_business(session: Session, business_id: str) -> Business:
    """The business, locked, unless its owner closed it: a closed one sells nothing and is
    gone from search for good, so an operator's suspension would change nothing."""
    business = session.get(Business, business_id, with_for_update=True)
    if business is None:
        raise BusinessNotFound("There is no business with that id: search for it again.")
    if business.closed_at is not None:
        raise BusinessClosed(
            f"{business.name} was closed by its owner on {business.closed_at:%Y-%m-%d %H:%M} "
            "UTC: it sells nothing and is gone from search for good, so there is nothing to "
            "suspend or restore. Nothing changed."
        )
    return business


def suspend_business(
    session: Session, admin: User, business_id: str, reason: str, now: datetime
) -> Business:
    """Hidden from search and the deals list, selling nothing new, listing edits refused —
    until restored. Cards and vouchers already sold stay redeemable."""
    business = _open_business(session, business_id)
    why = _reason(reason)
    if business.suspended_at is not None:
        raise BusinessAlreadySuspended(
            f"{business.name} has been suspended since {business.suspended_at:%Y-%m-%d %H:%M} "
            "UTC: restore it first to suspend it again."
        )
    business.suspended_at, business.suspension_reason = now, why
    _audit(session, admin, AdminActionKind.BUSINESS_SUSPENDED, _of(business), why, now)
    return business


def restore_business(
    session: Session, admin: User, business_id: str, reason: str, now: datetime
) -> Business:
    """Lift an operator's suspension (billing's, for an unpaid invoice, stays its own)."""
    business = _open_business(session, business_id)
    why = _reason(reason)
    if business.suspended_at is None:
        raise BusinessNotSuspended(f"{business.name} is not suspended by an operator.")
    business.suspended_at, business.suspension_reason = None, ""
    _audit(session, admin, AdminActionKind.BUSINESS_RESTORED, _of(business), why, now)
    return business


def resolve_fraud_review(
    session: Session, admin: User, review_id: str, status: ReviewStatus, reason: str, now: datetime
) -> None:
    """Close an open review as cleared (nothing wrong) or confirmed (fraud), saying why."""
    why = _reason(reason)
    review = fraud.review_of(session, None, review_id)
    if review.status is not ReviewStatus.OPEN:
        raise FraudReviewClosed(f"That review was {review.status.value} already: nothing changed.")
    fraud.resolve_review(session, review, admin, status, why)
    _audit(
        session,
        admin,
        AdminActionKind.FRAUD_REVIEW_RESOLVED,
        ("fraud review", review.id),
        f"{status.value}: {why}",
        now,
    )
