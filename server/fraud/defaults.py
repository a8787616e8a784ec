"""The fraud rules a new database starts with. Rules live in the `fraud_rules` table
(admins change them through the API); this is only what an empty table is filled with.
Reviews are enforced (they refuse nothing); blocks start where they cannot stop a real
customer, or in shadow mode until their decisions have been looked at."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .models import Counting, FraudAction, FraudEvent, FraudRule, FraudSubject, RuleMode

__all__ = ["DEFAULT_RULES", "DefaultRule", "ensure_rules"]


@dataclass(frozen=True)
class DefaultRule:
    name: str
    subject: FraudSubject
    event: FraudEvent
    counting: Counting
    window_seconds: int
    max_count: int | None
    action: FraudAction
    mode: RuleMode
    max_amount_minor: int | None = None
    currency: str | None = None


_S, _E, _C, _A, _M = FraudSubject, FraudEvent, Counting, FraudAction, RuleMode
DAY = 86_400

DEFAULT_RULES = [
    DefaultRule("card redemption attempts", _S.CARD, _E.REDEMPTION_ONLINE, _C.ATTEMPTS, 600,
                10, _A.REVIEW, _M.ENFORCED),
    DefaultRule("card redemptions pushed by terminals", _S.CARD, _E.REDEMPTION_PUSHED,
                _C.ATTEMPTS, 600, 10, _A.REVIEW, _M.ENFORCED),
    DefaultRule("failed code lookups per terminal", _S.TERMINAL, _E.CODE_LOOKUP, _C.FAILURES,
                300, 20, _A.BLOCK, _M.ENFORCED),
    DefaultRule("purchases per payment card", _S.PAYMENT_CARD, _E.PURCHASE, _C.ATTEMPTS, DAY,
                10, _A.REVIEW, _M.ENFORCED, max_amount_minor=50_000, currency="GBP"),
    DefaultRule("payment cards per customer", _S.CUSTOMER, _E.PURCHASE,
                _C.DISTINCT_PAYMENT_CARDS, DAY, 3, _A.REVIEW, _M.ENFORCED),
    DefaultRule("purchases per payment card, hard stop", _S.PAYMENT_CARD, _E.PURCHASE,
                _C.ATTEMPTS, DAY, 30, _A.BLOCK, _M.SHADOW),
    DefaultRule("transfers per card", _S.CARD, _E.TRANSFER, _C.ATTEMPTS, 3_600, 5, _A.REVIEW,
                _M.ENFORCED),
    DefaultRule("sign-ins per address", _S.ADDRESS, _E.LOGIN, _C.ATTEMPTS, 600, 50, _A.BLOCK,
                _M.SHADOW),
]  # fmt: skip


def ensure_rules(session: Session) -> None:
    """Fill an empty rule table with the defaults; a table with anything in it (even all
    rules disabled) is left alone."""
    if session.scalar(select(FraudRule.id).limit(1)) is not None:
        return
    session.add_all(FraudRule(**asdict(rule)) for rule in DEFAULT_RULES)
    try:
        session.commit()
    except IntegrityError:  # another host filled it at the same moment
        session.rollback()
