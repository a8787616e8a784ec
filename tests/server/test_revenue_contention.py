"""No row every redemption at a business locks (issue 13): a business's revenue is spread
over sub-accounts, so its tills do not take turns on one row until each commits.
PostgreSQL only: SQLite has one writer for the whole file anyway."""

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from server.db import Base, make_engine, make_sessionmaker
from server.directory.models import Business
from server.fraud import service as fraud
from server.keys.keyring import Keyring
from server.wallet import cards, ledger
from server.wallet.limits import MoneyLimits
from server.wallet.models import GiftCard
from sync.money import Money

pytestmark = pytest.mark.postgres

LIMITS = MoneyLimits(75_000, 10_000_000, 10_000_000)
SHOP = "biz00000001"


@pytest.fixture
def pg_engine(postgres_url) -> Iterator[Engine]:
    engine = make_engine(postgres_url)
    Base.metadata.create_all(engine)
    yield engine
    with Session(engine) as session:
        assert ledger.invariant_violations(session) == [], "the ledger no longer balances"
    engine.dispose()


@pytest.fixture
def keyring(tmp_path) -> Keyring:
    return Keyring.open(tmp_path / "keys")


@pytest.fixture
def card_ids(pg_engine, keyring) -> list[str]:
    """Four £500 cards of one business."""
    made = []
    with Session(pg_engine, expire_on_commit=False) as session:
        business = Business(id=SHOP, name="Busy Café", category="cafe", currency="GBP")
        session.add(business)
        session.commit()
        for n in range(4):
            amount = Money.of(50_000, "GBP")
            cards.prepare_purchase(
                session,
                business,
                amount,
                f"4242 4242 4242 424{n}",
                datetime.now(UTC).date(),
                LIMITS,
            )
            made.append(cards.issue_card(session, keyring, business, None, amount, "ref").id)
        session.commit()
    return made


def redeem(session: Session, keyring: Keyring, card_id: str, till: str) -> None:
    business = session.get(Business, SHOP)
    assert business is not None
    fraud.redeem_at_till(
        session,
        keyring,
        business,
        terminal=till,
        address="127.0.0.1",
        token=None,
        card_id=card_id,
        amount_minor=1,
        memo="",
    )


def no_waiting(session: Session) -> Session:
    """A session that gives up at once on a lock another transaction holds."""
    session.execute(text("SET LOCAL lock_timeout = '500ms'"))
    return session


def test_a_redemption_at_the_same_business_does_not_wait_for_another(pg_engine, keyring, card_ids):
    sessions = make_sessionmaker(pg_engine)
    with sessions() as held_open:
        held_open.info["revenue_stripe"] = 0
        redeem(held_open, keyring, card_ids[0], "user:a")  # posted, not yet committed
        with sessions() as other:
            other.info["revenue_stripe"] = 1  # another till's sub-account
            redeem(no_waiting(other), keyring, card_ids[1], "user:b")
            other.commit()
        # The control: on the same sub-account it does wait, so the test would catch one
        # revenue row for the whole business.
        same = no_waiting(sessions(info={"revenue_stripe": 0}))
        with same, pytest.raises(OperationalError, match="lock timeout"):
            redeem(same, keyring, card_ids[2], "user:c")
        held_open.commit()
    with sessions() as session:
        assert ledger.revenue_balance(session, SHOP, "GBP") == 2


def test_many_tills_of_one_business_at_once_end_with_exact_balances(pg_engine, keyring, card_ids):
    sessions = make_sessionmaker(pg_engine)
    tills, each = 16, 10

    def till(n: int) -> None:
        for i in range(each):
            with sessions() as session:
                redeem(session, keyring, card_ids[(n + i) % len(card_ids)], f"user:{n}")
                session.commit()

    with ThreadPoolExecutor(tills) as pool:
        list(pool.map(till, range(tills)))
    with sessions() as session:
        left = [cards.card_balance(session, session.get_one(GiftCard, c)) for c in card_ids]
        assert sum(m.minor for m in left) == 4 * 50_000 - tills * each
        assert [m.minor for m in left] == [50_000 - tills * each // 4] * 4
        assert ledger.revenue_balance(session, SHOP, "GBP") == tills * each
        revenue_rows = session.execute(
            text("SELECT count(*) FROM ledger_accounts WHERE purpose = 'revenue'")
        ).scalar_one()
        assert revenue_rows > 1  # spread over sub-accounts
