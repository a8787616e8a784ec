"""Purchases take turns in their lane (`TILLPOINT_PURCHASE_THREADS`): no more than that
many wait on the payment provider at once, and a provider that stops answering holds up
purchases only. PostgreSQL only: on SQLite the first purchase's writes hold the one writer
lock, so a second never reaches the provider anyway."""

import functools
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from server.app import create_app
from server.payments.gateway import Charge, SavedCard
from server.wallet.models import IdempotencyRecord, PaymentRefund
from server.wallet.purchase import give_back
from sync.money import Money
from tests.server.api import buy_card, buy_voucher, create_deal, new_key, open_shop, sign_up
from tests.server.test_clubs import donate, found, join
from tests.server.test_gifts import give
from tests.server.test_shop import buy as shop_buy
from tests.server.test_shop import form_of

pytestmark = pytest.mark.postgres


@pytest.fixture(params=[pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_kind(request) -> str:
    return str(request.param)


class HeldProvider:
    """A payment provider whose charges wait until the test lets them go (a provider that
    stopped answering), counting how many wait at once."""

    def __init__(self) -> None:
        self.released = threading.Event()
        self._lock = threading.Lock()
        self.waiting = 0
        self.most_waiting = 0
        self.charged = 0
        self.refunds: list[tuple[str, Money, str]] = []
        self.refund_fails = False
        self.before_charge: Callable[[], object] = lambda: None
        self.before_refund: Callable[[], None] = lambda: None

    def save_card(self, card_number: str) -> SavedCard:
        return SavedCard(f"tok_{card_number}", card_number[-4:])

    def charge(self, amount: Money, card_number: str, idempotency_key: str) -> Charge:
        before, self.before_charge = self.before_charge, lambda: None
        before()
        with self._lock:
            self.waiting += 1
            self.most_waiting = max(self.most_waiting, self.waiting)
        assert self.released.wait(30), "the test never let the charge go"
        with self._lock:
            self.waiting -= 1
            self.charged += 1
        return Charge(f"ch_{idempotency_key}", amount)

    def refund(self, reference: str, amount: Money, idempotency_key: str) -> str:
        if self.refund_fails:
            raise ConnectionError("the provider did not answer")
        self.before_refund()
        with self._lock:
            self.refunds.append((reference, amount, idempotency_key))
        return f"re_{idempotency_key}"


def wait_until(condition, what: str, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting: {what}"
        time.sleep(0.02)


def together_at_the_provider(
    provider: HeldProvider, payments: list[Callable[[], Any]]
) -> list[Any]:
    """Start every payment at once, wait until all of them are at the provider together,
    then let them go: their answers, in order."""
    with ThreadPoolExecutor(len(payments)) as payers:
        started = [payers.submit(pay) for pay in payments]
        try:
            wait_until(lambda: provider.waiting >= len(payments), "every payment at the provider")
        finally:
            provider.released.set()
        return [s.result(30) for s in started]


def test_purchases_wait_on_the_provider_two_at_a_time_and_hold_up_nothing_else(settings, engine):
    settings = settings.model_copy(update={"purchase_threads": 2})
    app = create_app(settings, engine=engine)
    with TestClient(app) as client:
        shops = [open_shop(client, f"Shop {n}") for n in range(4)]
        shop, customer = shops[0], sign_up(client, "customer")
        card = buy_card(customer, shop, 1000).json()  # with the simulated provider
        provider = HeldProvider()
        app.state.gateway = provider
        with ThreadPoolExecutor(6) as buyers:
            # Four businesses, and a payment card each.
            purchases = [
                buyers.submit(buy_card, customer, each, 500, f"4000 0000 0000 {n:04}")
                for n, each in enumerate(shops)
            ]
            try:
                wait_until(lambda: provider.waiting >= 2, "two purchases at the provider")
                time.sleep(0.3)  # room for a third to reach the provider, were it let in
                assert provider.waiting == 2
                # Meanwhile the same worker serves everything else, a redemption too.
                assert buyers.submit(client.get, "/healthz").result(10).status_code == 200
                redeemed = buyers.submit(shop.redeem, 100, card_id=card["id"]).result(10)
                assert redeemed.status_code == 200, redeemed.text
            finally:
                provider.released.set()
            answers = [p.result(30) for p in purchases]
    assert [a.status_code for a in answers] == [201] * 4, [a.text for a in answers]
    assert provider.charged == 4
    assert provider.most_waiting == 2
    assert provider.refunds == []


def test_one_business_s_purchases_wait_on_the_provider_side_by_side(settings, engine):
    """A business's purchases take turns on its cards' liability only after the charge:
    three customers buying at one shop are at the provider at once."""
    settings = settings.model_copy(update={"purchase_threads": 4})
    app = create_app(settings, engine=engine)
    with TestClient(app) as client:
        shop = open_shop(client)
        customers = [sign_up(client, "customer") for n in range(3)]
        provider = HeldProvider()
        app.state.gateway = provider
        answers = together_at_the_provider(
            provider,
            [
                functools.partial(buy_card, each, shop, 500, f"4000 0000 0000 {n:04}")
                for n, each in enumerate(customers)
            ],
        )
        assert [a.status_code for a in answers] == [201] * 3, [a.text for a in answers]
        balances = [shop.owner.get(f"/api/v1/gift-cards/{a.json()['id']}").json() for a in answers]
    assert [b["balance"]["minor"] for b in balances] == [500] * 3
    assert provider.refunds == []


def test_a_purchase_found_past_the_liability_limit_after_its_charge_is_refunded(settings, engine):
    """Two purchases at one shop each fit under its limit, but not both: they are charged
    side by side, the second to reach the business's liability is refused, and its charge
    is given back. Its retry replays the refusal and charges no one again."""
    settings = settings.model_copy(
        update={"purchase_threads": 4, "max_business_card_liability_minor": 1500}
    )
    app = create_app(settings, engine=engine)
    with TestClient(app) as client:
        shop = open_shop(client)
        customers = [sign_up(client, "customer") for n in range(2)]
        provider = HeldProvider()
        app.state.gateway = provider
        keys = ["first-purchase", "second-purchase"]
        refused_first: list[bool] = []

        def refusal_stored() -> None:
            with Session(engine) as look:
                answers = look.scalars(
                    select(IdempotencyRecord.status_code).where(IdempotencyRecord.key.in_(keys))
                ).all()
            refused_first.append(409 in answers)

        provider.before_refund = refusal_stored
        answers = together_at_the_provider(
            provider,
            [
                functools.partial(buy_card, each, shop, 1000, f"4000 0000 0000 {n:04}", keys[n])
                for n, each in enumerate(customers)
            ],
        )
        codes = sorted(a.status_code for a in answers)
        assert codes == [201, 409], [a.text for a in answers]
        refused = next(n for n, a in enumerate(answers) if a.status_code == 409)
        problem = answers[refused].json()
        assert problem["type"].endswith("/business-liability-limit")
        assert "£5.00" in problem["detail"]
        who = customers[refused]
        assert refused_first == [True]  # the refund came after the refusal was stored
        assert len(provider.refunds) == 1
        reference, amount, _ = provider.refunds[0]
        assert reference == f"ch_{who.id}:{keys[refused]}"
        assert amount == Money.of(1000, "GBP")
        again = buy_card(who, shop, 1000, f"4000 0000 0000 {refused:04}", keys[refused])
        assert again.status_code == 409
        assert again.json() == problem
    assert provider.charged == 2
    assert len(provider.refunds) == 1
    with Session(engine) as session:
        [owed] = session.scalars(select(PaymentRefund)).all()
    assert (owed.refund_reference, owed.amount_minor) == (f"re_{owed.refund_key}", 1000)
    assert owed.refunded_at is not None


def test_the_buyer_who_loses_the_last_voucher_at_the_provider_is_refunded(settings, engine):
    """Two buyers of the last voucher are at the provider at once: one gets it, the
    other's charge is given back once the refusal is stored, and a retry replays it."""
    settings = settings.model_copy(update={"purchase_threads": 4})
    app = create_app(settings, engine=engine)
    with TestClient(app) as client:
        shop = open_shop(client)
        deal = create_deal(shop, quantity_limit=1).json()
        buyers = [sign_up(client) for _ in range(2)]
        provider = HeldProvider()
        app.state.gateway = provider
        keys = ["first-buyer", "second-buyer"]
        answers = together_at_the_provider(
            provider,
            [
                functools.partial(buy_voucher, each, deal["id"], f"4000 0000 0000 {n:04}", keys[n])
                for n, each in enumerate(buyers)
            ],
        )
        assert sorted(a.status_code for a in answers) == [201, 409], [a.text for a in answers]
        lost = next(n for n, a in enumerate(answers) if a.status_code == 409)
        assert answers[lost].json()["type"].endswith("/deal-sold-out")
        [(reference, amount, _)] = provider.refunds
        assert reference == f"ch_{buyers[lost].id}:{keys[lost]}"
        assert amount == Money.of(340, "GBP")
        again = buy_voucher(buyers[lost], deal["id"], f"4000 0000 0000 {lost:04}", keys[lost])
        assert again.json() == answers[lost].json()
    assert provider.charged == 2
    assert len(provider.refunds) == 1
    with Session(engine) as session:
        [owed] = session.scalars(select(PaymentRefund)).all()
    assert owed.refunded_at is not None


def test_a_refund_the_provider_does_not_make_at_once_is_made_by_the_jobs_round(settings, engine):
    """The refusal is the answer whether or not the provider refunds at once; a refund it
    did not make stays owed, and the jobs' round makes it, once."""
    settings = settings.model_copy(update={"max_business_card_liability_minor": 1000})
    app = create_app(settings, engine=engine)
    with TestClient(app) as client:
        shop, customer = open_shop(client), sign_up(client)
        assert buy_card(customer, shop, 600).status_code == 201
        provider = HeldProvider()
        provider.released.set()
        provider.refund_fails = True
        app.state.gateway = provider
        # Past the first look (it sees £6.00 of £10.00), refused at the second: the shop's
        # liability is filled while this one is at the provider.
        provider.before_charge = lambda: buy_card(customer, shop, 300, "4000 0000 0000 0009")
        refused = buy_card(customer, shop, 300, "4000 0000 0000 0001")
        assert refused.status_code == 409, refused.text
        assert provider.refunds == []
        with Session(engine) as session:
            assert give_back(provider, session) == 0  # still not answering
            provider.refund_fails = False
            assert give_back(provider, session) == 1
            assert give_back(provider, session) == 0  # once
    assert [(amount.minor, key[:8]) for _, amount, key in provider.refunds] == [(300, "refused:")]


def test_every_payment_waits_on_the_provider_in_the_purchases_lane(settings, engine):
    """A card bought in the app, a gift, a gift from the shop page and a club donation
    each charge a payment card, and a donation's refund gives one back: all wait on the
    provider in the purchases' lane, never in the pool that serves everything else."""
    settings = settings.model_copy(update={"purchase_threads": 1})
    app = create_app(settings, engine=engine)
    with TestClient(app) as client:
        shop, customer, donor = open_shop(client), sign_up(client), sign_up(client)
        club = found(customer)
        join(donor, club)
        given = donate(donor, club, 700).json()  # with the simulated provider
        shop_form = form_of(client, shop.business_id)
        provider = HeldProvider()
        app.state.gateway = provider
        paying = {"card_number": "4000 0000 0000 0003"}
        with ThreadPoolExecutor(5) as payers:
            waiting = [
                payers.submit(buy_card, customer, shop, 500, "4000 0000 0000 0001"),
                payers.submit(donate, donor, club, 900, None, "4000 0000 0000 0002"),
                payers.submit(give, customer, shop, payment=paying),
                payers.submit(shop_buy, client, shop.business_id, shop_form, **paying),
            ]
            try:
                wait_until(lambda: provider.waiting >= 1, "a payment at the provider")
                time.sleep(0.3)  # room for the other to reach the provider, were it let in
                assert provider.waiting == 1
                refund = payers.submit(
                    donor.post,
                    f"/api/v1/clubs/{club['id']}/donations/{given['id']}/refund",
                    key=new_key(),
                )
                time.sleep(0.3)
                assert not refund.done()  # its turn in the lane comes after the payments
                assert provider.refunds == []
            finally:
                provider.released.set()
            answers = [w.result(30) for w in waiting]
            refunded = refund.result(30)
    assert [a.status_code for a in answers] == [201, 201, 201, 303], [a.text for a in answers]
    assert refunded.status_code == 200, refunded.text
    assert provider.charged == 4
    assert [(amount.minor, key) for _, amount, key in provider.refunds] == [
        (700, f"donation:{given['id']}")
    ]
