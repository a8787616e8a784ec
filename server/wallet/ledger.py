"""The double-entry ledger: accounts, transfers, and the invariant that ties them.

Every balance equals the sum of its account's transfers (credits minus debits), the
balances of each currency sum to zero, and accounts that may not go negative (a gift
card) never do. `post` applies a whole operation — one or many legs — or nothing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..changes import record_change
from ..db import rowcount
from ..ids import make_id
from .models import LedgerAccount, Purpose, Transfer

__all__ = [
    "InsufficientFundsError",
    "Leg",
    "account",
    "balance",
    "card_account_key",
    "invariant_violations",
    "post",
]


MEMO_LENGTH = 200  # Transfer.memo; a memo quoting a long email is cut, not refused


class InsufficientFundsError(Exception):
    def __init__(self, account_id: int, available: int, needed: int) -> None:
        super().__init__(f"account {account_id} holds {available}, needs {needed}")
        self.account_id, self.available, self.needed = account_id, available, needed


@dataclass(frozen=True)
class Leg:
    debit: LedgerAccount
    credit: LedgerAccount
    amount_minor: int
    kind: str
    card_id: str | None = None
    memo: str = ""


def card_account_key(card_id: str) -> str:
    return f"card:{card_id}"


def _key(purpose: Purpose, currency: str, business_id: str | None) -> str:
    owner = business_id or "platform"
    return f"{purpose.value}:{owner}:{currency}"


def account(
    session: Session,
    purpose: Purpose,
    currency: str,
    business_id: str | None = None,
    *,
    key: str | None = None,
) -> LedgerAccount:
    """The account for (purpose, business, currency), made on first use (race-safe)."""
    key = key or _key(purpose, currency, business_id)
    # Accounts are never deleted, so one found in this session stays right for it.
    known: dict[str, LedgerAccount] = session.info.setdefault("ledger_accounts", {})
    if key in known and known[key] in session:
        return known[key]
    found = session.scalar(select(LedgerAccount).where(LedgerAccount.key == key))
    if found is not None:
        known[key] = found
        return found
    created = LedgerAccount(
        key=key,
        purpose=purpose,
        currency=currency,
        business_id=business_id,
        balance_minor=0,
        # Only a card's balance is a promise with a floor; the platform's accounts are
        # the other side of those promises and are negative by design.
        allow_negative=purpose is not Purpose.CARD,
    )
    try:
        with session.begin_nested():
            session.add(created)
        return created
    except IntegrityError:  # another request made it first
        existing = session.scalar(select(LedgerAccount).where(LedgerAccount.key == key))
        assert existing is not None
        return existing


def balance(session: Session, account_id: int) -> int:
    value = session.scalar(
        select(LedgerAccount.balance_minor).where(LedgerAccount.id == account_id)
    )
    return int(value or 0)


def post(session: Session, legs: Sequence[Leg], operation_id: str | None = None) -> str:
    """Apply all legs in the session's transaction and return the operation id.

    Balances change by conditional updates, in account-id order so concurrent operations
    never deadlock; a debit that would take a no-overdraft account below zero raises
    `InsufficientFundsError` and the caller rolls back.
    """
    operation_id = operation_id or make_id()
    deltas: dict[int, int] = defaultdict(int)
    for leg in legs:
        if leg.amount_minor <= 0:
            raise ValueError("a transfer moves a positive amount")
        if leg.debit.currency != leg.credit.currency:
            raise ValueError("a transfer stays within one currency")
        if leg.debit.id == leg.credit.id:
            raise ValueError("a transfer moves between two accounts")
        deltas[leg.debit.id] -= leg.amount_minor
        deltas[leg.credit.id] += leg.amount_minor
    for account_id in sorted(deltas):
        delta = deltas[account_id]
        if delta == 0:
            continue
        statement = (
            update(LedgerAccount)
            .where(LedgerAccount.id == account_id)
            .values(balance_minor=LedgerAccount.balance_minor + delta)
            .execution_options(synchronize_session=False)
        )
        if delta < 0:
            statement = statement.where(
                or_(LedgerAccount.allow_negative, LedgerAccount.balance_minor >= -delta)
            )
        if rowcount(session.execute(statement)) != 1:
            raise InsufficientFundsError(account_id, balance(session, account_id), -delta)
    session.add_all(
        Transfer(
            operation_id=operation_id,
            kind=leg.kind,
            debit_account_id=leg.debit.id,
            credit_account_id=leg.credit.id,
            amount_minor=leg.amount_minor,
            currency=leg.debit.currency,
            card_id=leg.card_id,
            memo=leg.memo[:MEMO_LENGTH],
        )
        for leg in legs
    )
    for card_account in {
        a.id: a
        for leg in legs
        for a in (leg.debit, leg.credit)
        if a.purpose is Purpose.CARD and a.business_id
    }.values():
        record_change(
            session, str(card_account.business_id), "card", card_account.key.removeprefix("card:")
        )
    session.flush()
    for leg in legs:  # the ORM copies are stale after the SQL updates
        session.expire(leg.debit, ["balance_minor"])
        session.expire(leg.credit, ["balance_minor"])
    return operation_id


def invariant_violations(session: Session) -> list[str]:
    """Everything wrong with the ledger; empty when it is sound."""
    problems = []
    credits = dict(
        session.execute(
            select(Transfer.credit_account_id, func.sum(Transfer.amount_minor)).group_by(
                Transfer.credit_account_id
            )
        ).all()
    )
    debits = dict(
        session.execute(
            select(Transfer.debit_account_id, func.sum(Transfer.amount_minor)).group_by(
                Transfer.debit_account_id
            )
        ).all()
    )
    per_currency: dict[str, int] = defaultdict(int)
    for acct in session.scalars(select(LedgerAccount)):
        expected = int(credits.get(acct.id, 0)) - int(debits.get(acct.id, 0))
        if acct.balance_minor != expected:
            problems.append(
                f"{acct.key}: balance {acct.balance_minor} but transfers say {expected}"
            )
        if acct.balance_minor < 0 and not acct.allow_negative:
            problems.append(f"{acct.key}: overdrawn at {acct.balance_minor}")
        per_currency[acct.currency] += acct.balance_minor
    for currency, total in per_currency.items():
        if total != 0:
            problems.append(f"{currency}: balances sum to {total}, not 0")
    mixed = session.scalar(
        select(func.count())
        .select_from(Transfer)
        .join(LedgerAccount, LedgerAccount.id == Transfer.debit_account_id)
        .where(LedgerAccount.currency != Transfer.currency)
    )
    if mixed:
        problems.append(f"{mixed} transfers cross currencies")
    return problems
