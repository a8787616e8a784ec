"""The double-entry ledger: accounts, transfers, and the invariant that ties them.

Every balance equals the sum of its account's transfers (credits minus debits), the
balances of each currency sum to zero, and accounts that may not go negative (a gift
card) never do. `post` applies a whole operation — one or many legs — or nothing.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

from sqlalchemy import Engine, Table, bindparam, delete, func, select, text, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from ..db import among, driver_rows, insert_rows, process_cache, utcnow
from ..events import EventEntity, EventKind, record
from ..ids import make_id
from ..writebehind import later
from .models import CardLiability, LedgerAccount, Purpose, Transfer, TransferKind

__all__ = [
    "NOWHERE",
    "InsufficientFundsError",
    "Leg",
    "Origin",
    "Postings",
    "account",
    "balance",
    "card_account_key",
    "card_liability",
    "clearing_account",
    "clearing_balance",
    "fold_liabilities",
    "invariant_violations",
    "lock_clearing",
    "lock_order",
    "open_account",
    "post",
    "revenue_balance",
]


MEMO_LENGTH = 200  # Transfer.memo; a memo quoting a long email is cut, not refused

REVENUE_STRIPES = 16
"""A business's revenue is received on this many sub-accounts (see `account`)."""


class InsufficientFundsError(Exception):
    def __init__(self, account_id: int, available: int, needed: int) -> None:
        super().__init__(f"account {account_id} holds {available}, needs {needed}")
        self.account_id, self.available, self.needed = account_id, available, needed


@dataclass(frozen=True)
class Origin:
    """Where a money operation happened: the branch, the till (a paired terminal) and who
    was at it (the cashier, or the owner who refunded). Each is None where there was none:
    a customer's purchase in the app has no till; a cashier's app has no paired terminal.
    Stamped on the operation's transfers, so reports group by them without a join."""

    branch_id: str | None = None
    device_id: str | None = None
    cashier_id: str | None = None


NOWHERE = Origin()


@dataclass(frozen=True)
class Leg:
    debit: LedgerAccount
    credit: LedgerAccount
    amount_minor: int
    kind: TransferKind
    card_id: str | None = None
    memo: str = ""
    refund_of: str | None = None  # a refund's redemption (its operation id)


def card_account_key(card_id: str) -> str:
    return f"card:{card_id}"


def _key(session: Session, purpose: Purpose, currency: str, business_id: str | None) -> str:
    owner = business_id or "platform"
    key = f"{purpose.value}:{owner}:{currency}"
    if purpose is Purpose.REVENUE and business_id is not None and _striped(session):
        stripe: int = session.info.setdefault("revenue_stripe", random.randrange(REVENUE_STRIPES))
        if stripe:
            _make_stripes(session, key, currency, business_id)
            return f"{key}:{stripe}"
    return key


def _striped(session: Session) -> bool:
    """Sub-accounts only where writers run side by side (SQLite has one writer)."""
    return session.get_bind().dialect.name == "postgresql"


def _make_stripes(session: Session, key: str, currency: str, business_id: str) -> None:
    """Make a business's revenue sub-accounts, all at once and committed on a connection
    of their own the first time one is wanted: made inside the redemption's transaction,
    a sub-account's new key would hold every other till making it until that commits."""
    made: set[str] = process_cache(session, "revenue_stripes").setdefault("made", set())
    if key in made:
        return
    bind = session.get_bind()
    engine = bind if isinstance(bind, Engine) else bind.engine
    rows = [
        {
            "key": f"{key}:{stripe}",
            "purpose": Purpose.REVENUE,
            "currency": currency,
            "business_id": business_id,
            "balance_minor": 0,
            "allow_negative": True,
        }
        for stripe in range(1, REVENUE_STRIPES)
    ]
    with engine.begin() as connection:
        connection.execute(text("SET LOCAL lock_timeout = '5s'"))  # the business is new
        connection.execute(
            postgresql.insert(LedgerAccount)
            .values(rows)
            .on_conflict_do_nothing(index_elements=[LedgerAccount.key])
        )
    made.add(key)


@dataclass(frozen=True)
class _Known:
    """What never changes about an account once it is committed."""

    id: int
    purpose: Purpose
    currency: str
    business_id: str | None
    allow_negative: bool

    @classmethod
    def of(cls, account: LedgerAccount) -> _Known:
        return cls(
            account.id,
            account.purpose,
            account.currency,
            account.business_id,
            account.allow_negative,
        )


def _attached(session: Session, key: str, known: _Known) -> LedgerAccount:
    """The account in `session` without reading it: its balance loads when asked for
    (`post` reads it back from its UPDATE)."""
    same = session.identity_map.get(identity_key(LedgerAccount, known.id))
    if isinstance(same, LedgerAccount):
        return same
    attached = LedgerAccount(
        id=known.id,
        key=key,
        purpose=known.purpose,
        currency=known.currency,
        business_id=known.business_id,
        allow_negative=known.allow_negative,
    )
    make_transient_to_detached(attached)
    session.add(attached)
    return attached


def account(
    session: Session,
    purpose: Purpose,
    currency: str,
    business_id: str | None = None,
    *,
    key: str | None = None,
) -> LedgerAccount:
    """The account for (purpose, business, currency), made on first use (race-safe).

    A business's revenue — the account every redemption there credits — is split into
    `REVENUE_STRIPES` sub-accounts, `revenue:<business>:<currency>[:<n>]` (the first is
    the one kept from before the split): each transaction credits one picked at random
    (the same one all through), so concurrent tills of one business rarely wait on one
    row's lock. The business's revenue is their sum (`revenue_balance`).

    An account's id never changes, so each process remembers it after reading it once."""
    key = key or _key(session, purpose, currency, business_id)
    # Accounts are never deleted, so one found in this session stays right for it.
    known: dict[str, LedgerAccount] = session.info.setdefault("ledger_accounts", {})
    if key in known and known[key] in session:
        return known[key]
    remembered: dict[str, _Known] = process_cache(session, "ledger_accounts")
    if key in remembered:
        known[key] = _attached(session, key, remembered[key])
        return known[key]
    found = session.scalar(select(LedgerAccount).where(LedgerAccount.key == key))
    if found is not None:
        known[key] = found
        if key not in session.info.get("ledger_accounts_made", ()):
            remembered[key] = _Known.of(found)  # committed: not made by this transaction
        return found
    created = _new_account(key, purpose, currency, business_id)
    try:
        with session.begin_nested():
            session.add(created)
        session.info.setdefault("ledger_accounts_made", set()).add(key)
        return created
    except IntegrityError:  # another request made it first
        existing = session.scalar(select(LedgerAccount).where(LedgerAccount.key == key))
        assert existing is not None
        return existing


def _new_account(
    key: str, purpose: Purpose, currency: str, business_id: str | None
) -> LedgerAccount:
    return LedgerAccount(
        key=key,
        purpose=purpose,
        currency=currency,
        business_id=business_id,
        balance_minor=0,
        # Only a card's balance and a club's fund are promises with a floor; the platform's
        # accounts are the other side of those promises and are negative by design.
        allow_negative=purpose not in (Purpose.CARD, Purpose.CLUB),
    )


def open_account(
    session: Session, purpose: Purpose, currency: str, business_id: str | None, *, key: str
) -> LedgerAccount:
    """A new account under a key no one else can have yet (a new card's, named by its
    fresh id): one INSERT, without `account`'s lookup and savepoint."""
    created = _new_account(key, purpose, currency, business_id)
    session.add(created)
    session.flush()
    session.info.setdefault("ledger_accounts", {})[key] = created
    session.info.setdefault("ledger_accounts_made", set()).add(key)
    return created


def revenue_balance(session: Session, business_id: str, currency: str) -> int:
    """What redemptions at `business_id` brought in, net: the sum of its revenue
    sub-accounts."""
    value = session.scalar(
        select(func.sum(LedgerAccount.balance_minor)).where(
            LedgerAccount.business_id == business_id,
            LedgerAccount.purpose == Purpose.REVENUE,
            LedgerAccount.currency == currency,
        )
    )
    return int(value or 0)


def clearing_account(session: Session, currency: str, business_id: str) -> LedgerAccount:
    """Where a customer's payment for a sale at `business_id` is received.

    One clearing account per business and currency (`clearing:<business>:<currency>`), not
    one for the platform: every purchase takes its clearing row's lock until it commits,
    so a single platform row made every purchase everywhere wait for every other. Per
    business rather than N stripes by hash, because purchases at one business already
    take turns on its own rows (a deal's stock, the card-liability check) and the
    business is who the money is later paid out to; a business is its own stripe. Before
    this split, purchases were received on `clearing:platform:<currency>`; that row keeps
    its history, and `clearing_balance` adds it in.
    """
    return account(session, Purpose.CLEARING, currency, business_id)


def lock_clearing(session: Session, currency: str, business_id: str) -> LedgerAccount:
    """The business's clearing account, its row locked until the transaction ends: what
    purchases and refunds there take turns on from their liability check to their commit
    (and a fold of its liability changes, `card_liability`). On PostgreSQL the lock is
    taken with the transaction's next statement (`writebehind.later`), which runs after it
    with a snapshot of its own: the liability check's fold sees what every purchase before
    it committed, and costs no round trip of its own."""
    clearing = clearing_account(session, currency, business_id)
    if session.get_bind().dialect.name == "postgresql":
        later(session, _LOCK_ACCOUNT, {"id": clearing.id})
    else:  # SQLite: the transaction's BEGIN IMMEDIATE took the one writer's lock
        session.execute(select(LedgerAccount.id).where(LedgerAccount.id == clearing.id))
    return clearing


def clearing_balance(session: Session, currency: str) -> int:
    """The platform's clearing balance in `currency`: the sum of its sub-accounts."""
    value = session.scalar(
        select(func.sum(LedgerAccount.balance_minor)).where(
            LedgerAccount.purpose == Purpose.CLEARING, LedgerAccount.currency == currency
        )
    )
    return int(value or 0)


def card_liability(session: Session, business_id: str, currency: str, *, fold: bool = False) -> int:
    """What `business_id`'s gift cards hold together: its outstanding gift-card liability,
    the sum of its `CardLiability` changes. `fold`: replace them with one row of their sum,
    in the same statement — only under the business's clearing row lock (the limit's
    check), so that no two folds run at once and the figure is exact."""
    if not fold:
        value = session.scalar(
            select(func.sum(CardLiability.change_minor)).where(
                CardLiability.business_id == business_id, CardLiability.currency == currency
            )
        )
        return int(value or 0)
    if session.get_bind().dialect.name == "postgresql":
        rows = driver_rows(session, _FOLD, {"business_id": business_id, "currency": currency})
        return int(rows[0][0]) if rows else 0
    held = card_liability(session, business_id, currency)  # SQLite: one writer at a time
    table = cast(Table, CardLiability.__table__)
    session.execute(
        delete(table).where(table.c.business_id == business_id, table.c.currency == currency)
    )
    if held:
        row = {"business_id": business_id, "currency": currency, "change_minor": held}
        insert_rows(session, CardLiability, [row])
    return held


FOLD_AT = 64
"""A business's liability changes beyond this many are folded by the jobs' round
(`fold_liabilities`), so a business that only redeems does not keep a row per sale."""


def fold_liabilities(session: Session, at_least: int = FOLD_AT) -> int:
    """Fold the liability changes of every business (and currency) that has more than
    `at_least`, each in a transaction of its own under its clearing row's lock, as a
    purchase does; how many were folded."""
    many = session.execute(
        select(CardLiability.business_id, CardLiability.currency)
        .group_by(CardLiability.business_id, CardLiability.currency)
        .having(func.count() > at_least)
    ).all()
    session.rollback()
    for business_id, currency in many:
        lock_clearing(session, currency, business_id)
        card_liability(session, business_id, currency, fold=True)
        session.commit()
    return len(many)


# One statement, so the rows summed are the rows deleted (a sale's row committed meanwhile
# is left for the next fold).
_LOCK_ACCOUNT = text("SELECT id FROM ledger_accounts WHERE id = :id FOR UPDATE")

_FOLD = text(
    """
    WITH gone AS (
        DELETE FROM card_liability WHERE business_id = :business_id AND currency = :currency
        RETURNING change_minor
    )
    INSERT INTO card_liability (business_id, currency, change_minor)
    SELECT :business_id, :currency, sum(change_minor) FROM gone HAVING sum(change_minor) <> 0
    RETURNING change_minor
    """
)


def _liability_changes(
    accounts: dict[int, LedgerAccount], deltas: dict[int, int]
) -> list[dict[str, object]]:
    """The `CardLiability` rows for these balance changes: the cards' changes, summed by
    business and currency (none where they cancel out, as a card-to-card transfer does)."""
    changes: dict[tuple[str, str], int] = defaultdict(int)
    for account_id, delta in deltas.items():
        account = accounts[account_id]
        if account.purpose is Purpose.CARD and account.business_id and delta:
            changes[account.business_id, account.currency] += delta
    return [
        {"business_id": business_id, "currency": currency, "change_minor": change}
        for (business_id, currency), change in changes.items()
        if change
    ]


def balance(session: Session, account_id: int) -> int:
    value = session.scalar(
        select(LedgerAccount.balance_minor).where(LedgerAccount.id == account_id)
    )
    return int(value or 0)


def post(
    session: Session,
    legs: Sequence[Leg],
    operation_id: str | None = None,
    origin: Origin = NOWHERE,
) -> str:
    """Apply all legs in the session's transaction and return the operation id; `origin`
    says where it happened (on every transfer).

    Balances change by conditional updates in `lock_order`, so concurrent operations never
    deadlock; a debit that would take a no-overdraft account below zero raises
    `InsufficientFundsError` and the caller rolls back. The accounts' `balance_minor` are
    the new balances afterwards (read back from the updates, under their row locks).
    """
    operation_id = operation_id or make_id()
    deltas = _deltas(legs)
    accounts = {a.id: a for leg in legs for a in (leg.debit, leg.credit)}
    changes = [a for a in sorted(accounts.values(), key=lock_order) if deltas.get(a.id)]
    # A debit of an account with a floor needs its answer now; what comes after the last
    # such, in lock order, needs none (a credit, or an account without a floor) and is
    # written with the commit (`insert_rows(later=True)`, `writebehind`): the business's
    # rows are then locked only for the commit's round trip.
    checked = [i for i, a in enumerate(changes) if deltas[a.id] < 0 and not a.allow_negative]
    now = checked[-1] + 1 if checked else 0
    for account in changes[:now]:
        delta = deltas[account.id]
        moved = driver_rows(session, _MOVE_IF_COVERED, {"id": account.id, "delta": delta})
        after = moved[0][0] if moved else None
        if after is None:
            raise InsufficientFundsError(account.id, balance(session, account.id), -delta)
        set_committed_value(account, "balance_minor", int(after))
    for account in changes[now:]:
        later(session, _MOVE_BALANCE, {"id": account.id, "delta": deltas[account.id]})
        session.expire(account, ["balance_minor"])  # read again, after the change, if asked
    insert_rows(
        session, Transfer, [_transfer_row(operation_id, leg, origin) for leg in legs], later=True
    )
    insert_rows(session, CardLiability, _liability_changes(accounts, deltas), later=True)
    _cards_changed(session, [a for leg in legs for a in (leg.debit, leg.credit)])
    return operation_id


# The balance moves only if it stays at or above zero, or the account may go below.
_MOVE_IF_COVERED = text(
    "UPDATE ledger_accounts SET balance_minor = balance_minor + :delta "
    "WHERE id = :id AND (allow_negative OR balance_minor + :delta >= 0) "
    "RETURNING balance_minor"
)
_MOVE_BALANCE = text(
    "UPDATE ledger_accounts SET balance_minor = balance_minor + :delta WHERE id = :id"
)


def _cards_changed(session: Session, accounts: Sequence[LedgerAccount]) -> None:
    """A card's balance is its ledger account's, not a column of the card: the one place
    that moves balances records the cards' events (DESIGN.md §11)."""
    for account in {a.id: a for a in accounts}.values():
        if account.purpose is Purpose.CARD and account.business_id:
            record(
                session,
                account.business_id,
                EventEntity.CARD,
                account.key.removeprefix("card:"),
                EventKind.BALANCE_CHANGED,
            )


def lock_order(account: LedgerAccount) -> tuple[bool, int]:
    """The one order in which every transaction takes accounts' row locks: those with a
    floor (cards) first, then the business's and the platform's, each by id. One order
    means no deadlock; the floorless last means a business's busiest row (the revenue
    account every redemption there credits) is locked only for the end of the
    transaction, not while the card is checked."""
    return (account.allow_negative, account.id)


class Postings:
    """Many operations posted in one transaction with a few statements, not a few each.

    `lock` takes the accounts a batch will touch, in `lock_order` (as `post` does, so the
    two never deadlock) and keeps their balances; `add` checks each operation's legs
    against those balances in memory, exactly as `post` checks them in SQL, and `flush`
    writes every balance change, transfer and card change at once. Until `flush`, nothing
    is written: an operation refused by `add` leaves no trace.
    """

    def __init__(self, session: Session) -> None:
        self.session = session
        self.balances: dict[int, int] = {}
        self.accounts: dict[int, LedgerAccount] = {}
        self._deltas: dict[int, int] = defaultdict(int)
        self._transfers: list[dict[str, object]] = []
        self._cards: dict[int, LedgerAccount] = {}

    def lock(self, accounts: Sequence[LedgerAccount]) -> None:
        wanted = sorted({a.id for a in accounts} - set(self.balances))
        if not wanted:
            return
        with self.session.no_autoflush:  # what the batch added so far is written at its end
            rows = self.session.execute(
                select(LedgerAccount.id, LedgerAccount.balance_minor)
                .where(among(self.session, LedgerAccount.id, wanted))
                .order_by(LedgerAccount.allow_negative, LedgerAccount.id)  # lock_order
                .with_for_update()
            )
        self.balances.update({account_id: int(value) for account_id, value in rows})
        self.accounts.update({a.id: a for a in accounts})

    def add(
        self, legs: Sequence[Leg], operation_id: str | None = None, origin: Origin = NOWHERE
    ) -> str:
        operation_id = operation_id or make_id()
        deltas = _deltas(legs)
        self.lock([leg.debit for leg in legs] + [leg.credit for leg in legs])
        for account_id, delta in deltas.items():
            account = self.accounts[account_id]
            if delta < 0 and not account.allow_negative and self.balances[account_id] < -delta:
                raise InsufficientFundsError(account_id, self.balances[account_id], -delta)
        for account_id, delta in deltas.items():
            self.balances[account_id] += delta
            self._deltas[account_id] += delta
        self._transfers.extend(_transfer_row(operation_id, leg, origin) for leg in legs)
        for leg in legs:
            for account in (leg.debit, leg.credit):
                if account.purpose is Purpose.CARD and account.business_id:
                    self._cards[account.id] = account
        return operation_id

    def flush(self) -> None:
        """Write what was added; the balances stay locked and known for more."""
        changes = [
            {"account_id": account_id, "delta": self._deltas[account_id]}
            for account_id in sorted(self._deltas)
            if self._deltas[account_id]
        ]
        connection = self.session.connection()
        if changes and connection.dialect.name == "postgresql":
            # One statement for every account, its changes as two arrays (the rows are
            # locked already, by `lock`).
            connection.exec_driver_sql(
                "UPDATE ledger_accounts SET balance_minor = balance_minor + d.delta "
                "FROM unnest(%b::bigint[], %b::bigint[]) AS d(id, delta) "
                "WHERE ledger_accounts.id = d.id",
                ([c["account_id"] for c in changes], [c["delta"] for c in changes]),
            )
        elif changes:  # one statement, many rows (the driver sends each), in id order
            table = cast(Table, LedgerAccount.__table__)
            connection.execute(
                update(table)
                .where(table.c.id == bindparam("account_id"))
                .values(balance_minor=table.c.balance_minor + bindparam("delta")),
                changes,
            )
        insert_rows(self.session, Transfer, self._transfers, later=True)
        liability = _liability_changes(self.accounts, self._deltas)
        insert_rows(self.session, CardLiability, liability, later=True)
        _cards_changed(self.session, list(self._cards.values()))
        for account_id in self._deltas:
            self.session.expire(self.accounts[account_id], ["balance_minor"])
        self._deltas.clear()
        self._transfers.clear()
        self._cards.clear()

    def forget(self) -> None:
        """Flush, then drop the balances kept in memory: someone else (`post`) is about to
        change them. The rows stay locked by the transaction; `lock` reads them again."""
        self.flush()
        self.balances.clear()
        self.accounts.clear()


def _deltas(legs: Sequence[Leg]) -> dict[int, int]:
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
    return {account_id: delta for account_id, delta in deltas.items() if delta}


def _business_of(leg: Leg) -> str | None:
    """The business a transfer belongs to: its accounts' (both sides are one business's,
    or one side is the platform's, or a club's)."""
    return leg.debit.business_id or leg.credit.business_id


def _transfer_row(operation_id: str, leg: Leg, origin: Origin) -> dict[str, object]:
    return {
        "operation_id": operation_id,
        "kind": leg.kind,
        "debit_account_id": leg.debit.id,
        "credit_account_id": leg.credit.id,
        "amount_minor": leg.amount_minor,
        "currency": leg.debit.currency,
        "card_id": leg.card_id,
        "memo": leg.memo[:MEMO_LENGTH],
        "refund_of": leg.refund_of,
        "created_at": utcnow(),
        "business_id": _business_of(leg),
        "branch_id": origin.branch_id,
        "device_id": origin.device_id,
        "cashier_id": origin.cashier_id,
    }


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
    problems.extend(_liability_violations(session))
    return problems


def _liability_violations(session: Session) -> list[str]:
    """Where a business's `CardLiability` changes do not add up to what its cards hold."""
    by_business = (LedgerAccount.business_id, LedgerAccount.currency)
    cards = session.execute(
        select(*by_business, func.sum(LedgerAccount.balance_minor))
        .where(LedgerAccount.purpose == Purpose.CARD, LedgerAccount.business_id.is_not(None))
        .group_by(*by_business)
    )
    counted = session.execute(
        select(
            CardLiability.business_id, CardLiability.currency, func.sum(CardLiability.change_minor)
        ).group_by(CardLiability.business_id, CardLiability.currency)
    )
    held = {(str(b), str(c)): int(v) for b, c, v in cards if v}
    said = {(str(b), str(c)): int(v) for b, c, v in counted if v}
    problems = []
    for business, currency in sorted(held.keys() | said.keys()):
        cards_hold, liability = held.get((business, currency), 0), said.get((business, currency), 0)
        if cards_hold != liability:
            problems.append(
                f"{business} {currency}: its cards hold {cards_hold} but its liability says "
                f"{liability}"
            )
    return problems
