"""No platform-wide hot row (issue 12, point 5): a purchase locks its own business's
clearing row, so purchases at two businesses never wait for each other. PostgreSQL only:
SQLite has one writer for the whole file anyway."""

import threading
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from server.accounts.models import Role, User
from server.db import Base, make_engine, make_sessionmaker
from server.deals import service as deals
from server.deals.models import Deal
from server.directory.models import Business
from server.errors import BusinessLiabilityLimit
from server.keys.keyring import Keyring
from server.wallet import cards, ledger
from server.wallet.limits import MoneyLimits
from server.wallet.models import CardLiability, GiftCard
from sync.money import Money

pytestmark = pytest.mark.postgres

LIMITS = MoneyLimits(75_000, 200_000, 10_000_000)


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
def businesses(pg_engine) -> list[Business]:
    with Session(pg_engine, expire_on_commit=False) as session:
        made = [
            Business(id=f"biz0000000{n}", name=f"Shop {n}", category="cafe", currency="GBP")
            for n in (1, 2)
        ]
        session.add_all(made)
        session.commit()
    return made


def buy(session: Session, keyring: Keyring, business: Business, card_number: str) -> GiftCard:
    amount = Money.of(1000, "GBP")
    today = datetime.now(UTC).date()
    cards.prepare_purchase(session, business, amount, card_number, today, LIMITS)
    return cards.issue_card(session, keyring, business, None, amount, "sim_ref")


def no_waiting(session: Session) -> Session:
    """A session that gives up at once on a lock another transaction holds, instead of
    waiting: waiting shows as an error, not as a slow test."""
    session.execute(text("SET LOCAL lock_timeout = '500ms'"))
    return session


def test_a_purchase_at_another_business_does_not_wait(pg_engine, keyring, businesses):
    sessions = make_sessionmaker(pg_engine)
    first, second = businesses
    with sessions() as held_open:
        buy(held_open, keyring, first, "4242 4242 4242 4242")  # posted, not yet committed
        with sessions() as other:
            card = buy(no_waiting(other), keyring, second, "5555 5555 5555 4444")
            other.commit()
        with sessions() as same, pytest.raises(OperationalError, match="lock timeout"):
            # The control: a purchase at the same business does wait (for its clearing
            # row), so the test would catch a platform-wide row.
            buy(no_waiting(same), keyring, first, "5555 5555 5555 4444")
        held_open.commit()
    with sessions() as session:
        assert ledger.balance(session, card.account_id) == 1000
        assert ledger.clearing_balance(session, "GBP") == -2000


def test_a_voucher_sale_at_another_business_does_not_wait(pg_engine, keyring, businesses):
    sessions = make_sessionmaker(pg_engine)
    now = datetime.now(UTC)
    with sessions() as session:
        deal = Deal(
            business_id=businesses[1].id,
            title="Two for one",
            original_price_minor=680,
            deal_price_minor=340,
            currency="GBP",
            starts_at=now.replace(year=now.year - 1),
            ends_at=now.replace(year=now.year + 1),
        )
        buyer = User(id="buyer000001", email="b@example.com", password_hash="x", role=Role.CUSTOMER)
        session.add_all([deal, buyer])
        session.commit()
        deal_id = deal.id
    with sessions() as held_open:
        buy(held_open, keyring, businesses[0], "4242 4242 4242 4242")
        with sessions() as other:
            on_sale = no_waiting(other).get(Deal, deal_id)
            assert on_sale is not None
            deals.buy_voucher(other, keyring, on_sale, "buyer000001", "sim_ref")
            other.commit()
        held_open.commit()
    with sessions() as session:
        assert ledger.clearing_balance(session, "GBP") == -1340


def test_a_refund_racing_a_purchase_cannot_pass_the_business_liability_limit(
    pg_engine, keyring, businesses
):
    """A purchase that brings the business's cards to exactly their limit is still open
    when a refund at the same business starts: the refund waits for it, then sees it and is
    refused. (Unserialized, both passed, each on the figure before the other.)"""
    limit = 10_000
    limits = MoneyLimits(75_000, 200_000, limit)
    sessions = make_sessionmaker(pg_engine)
    shop = businesses[0]
    today = datetime.now(UTC).date()
    with sessions() as session:
        card = buy(session, keyring, shop, "tok_visa:4242")  # the business holds £10.00
        redemption, _ = cards.redeem(session, card, Money.of(400, "GBP"))  # now £6.00
        session.commit()
    outcome: dict[str, object] = {}

    def refund() -> None:
        with sessions() as session:
            outcome["pid"] = session.scalar(text("SELECT pg_backend_pid()"))
            try:
                cards.refund(session, shop, redemption, Money.of(400, "GBP"), "returned", limits)
                session.commit()
                outcome["refund"] = "given"
            except BusinessLiabilityLimit as refused:
                outcome["refund"] = refused

    with sessions() as purchase:
        room = Money.of(limit - 600, "GBP")
        cards.prepare_purchase(purchase, shop, room, "tok_mastercard:4444", today, limits)
        cards.issue_card(purchase, keyring, shop, None, room, "sim_ref")
        refunding = threading.Thread(target=refund)
        refunding.start()
        while refunding.is_alive() and not waits_for_a_lock(pg_engine, outcome.get("pid")):
            refunding.join(0.05)
        purchase.commit()
    refunding.join(30)
    assert isinstance(outcome["refund"], BusinessLiabilityLimit)
    with sessions() as session:
        assert ledger.card_liability(session, shop.id, "GBP") == limit


def waits_for_a_lock(engine: Engine, pid: object) -> bool:
    """Whether the connection `pid` waits for a lock (asked on a connection of its own:
    a transaction sees pg_stat_activity as it was when it first looked)."""
    with engine.connect() as connection:
        waiting = connection.execute(
            text("SELECT wait_event_type FROM pg_stat_activity WHERE pid = :pid"), {"pid": pid}
        ).scalar()
    return waiting == "Lock"


def test_a_sale_open_while_the_liability_is_folded_is_counted_once(pg_engine, keyring, businesses):
    """The liability check folds a business's changes into one row while a redemption
    there has written its change but not committed: the fold leaves it alone, and the
    business's liability is right once both commit (neither lost nor counted twice). A
    change committed during the fold cannot be lost either, by construction: on
    PostgreSQL the fold is one statement, what it sums is what it deletes."""
    sessions = make_sessionmaker(pg_engine)
    shop = businesses[0]
    with sessions() as session:
        sold = [buy(session, keyring, shop, "tok_visa:4242") for _ in range(3)]  # 3 × £10
        session.commit()
    with sessions() as redeeming:
        card = redeeming.get(GiftCard, sold[0].id)
        assert card is not None
        cards.redeem(redeeming, card, Money.of(400, "GBP"))
        redeeming.execute(text("SELECT 1"))  # its writes sent, not committed
        with sessions() as folding:
            assert ledger.card_liability(folding, shop.id, "GBP", fold=True) == 3000
            folding.commit()
        redeeming.commit()
    with sessions() as session:
        assert ledger.card_liability(session, shop.id, "GBP") == 2600
        rows = session.scalars(
            select(CardLiability.change_minor).where(CardLiability.business_id == shop.id)
        )
        assert sorted(rows) == [-400, 3000]  # the fold's row, and the redemption's
