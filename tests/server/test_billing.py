"""Billing, walking the calendar day by day with an injected clock, on SQLite and PostgreSQL.

November 2026 has 30 days: a change on the 10th is in force for 21 of them."""

from __future__ import annotations

import threading
from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient

from server.app import create_app
from server.billing.defaults import PriceListError, ensure_prices
from server.billing.run import run_billing
from server.db import Base, make_engine, make_sessionmaker
from server.payments import SimulatedGateway, UnknownGatewayError, make_gateway
from sync.cli import main
from tests.server import gateways
from tests.server.api import buy_card, new_key, open_shop, sign_up
from tests.server.conftest import url_of

NOV = date(2026, 11, 1)
DEC = date(2026, 12, 1)
APPROVE = "4242424242424242"
DECLINE = "4000000000000002"


class Clock:
    def __init__(self, day: date) -> None:
        self.day = day

    def __call__(self) -> date:
        return self.day


@pytest.fixture
def clock():
    return Clock(NOV)


@pytest.fixture
def client(settings, engine, clock):
    with TestClient(create_app(settings, engine=engine, today=clock)) as client:
        yield client


class Billing:
    """A business's billing as its owner sees it through the API, and the daily run."""

    def __init__(self, client, sessions, clock, currency="GBP", card=APPROVE):
        self.client, self.sessions, self.clock = client, sessions, clock
        self.shop = open_shop(client, currency=currency)
        self.owner = self.shop.owner
        self.base = f"/api/v1/businesses/{self.shop.business_id}"
        if card:
            self.put("/subscription/payment-card", {"card_number": card})

    def put(self, path, body):
        response = self.client.put(self.base + path, json=body, headers=self.owner.headers)
        assert response.status_code == 200, response.text
        return response.json()

    def post(self, path, body=None):
        return self.owner.post(self.base + path, body)

    def pay(self, invoice, body=None):
        """Pay `invoice` through the API (a new Idempotency-Key: a payment of its own)."""
        return self.owner.post(f"{self.base}/invoices/{invoice['id']}/pay", body, key=new_key())

    def get(self, path, **params):
        return self.owner.get(self.base + path, params=params).json()

    def run(self, day):
        """Today is `day`: the billing run for it."""
        self.clock.day = day
        return run_billing(self.sessions, day, gateway_of(self.client))

    def walk(self, until):
        """Run billing on every day from tomorrow up to and including `until`."""
        day = self.clock.day
        while day < until:
            day += timedelta(days=1)
            self.run(day)

    def on(self, day):
        self.clock.day = day
        return self

    def invoices(self):
        return list(reversed(self.get("/invoices", limit=100)["items"]))  # oldest first

    def notices(self, kind=None):
        found = list(reversed(self.get("/billing-notices", limit=100)["items"]))
        return [n for n in found if kind is None or n["kind"] == kind]

    def subscription(self):
        return self.get("/subscription")

    def add_products(self, count):
        for n in range(count):
            created = self.post("/products", {"name": f"Thing {n}", "price_minor": 100})
            assert created.status_code == 201, created.text

    def products(self):
        return self.client.get(self.base).json()["products"]


def gateway_of(client):
    return client.app.state.gateway  # the app's simulated gateway, shared with the API


def totals(invoices):
    return [(i["kind"], i["total"]["minor"], i["status"]) for i in invoices]


# -- plans and proration --------------------------------------------------------------------


def test_a_new_business_starts_on_starter_and_its_month_is_invoiced_and_paid(
    client, sessions, clock
):
    billing = Billing(client, sessions, clock)
    assert billing.subscription()["plan"]["code"] == "starter"
    billing.run(NOV)
    assert totals(billing.invoices()) == [("period", 100, "paid")]
    billing.walk(DEC)
    assert totals(billing.invoices()) == [("period", 100, "paid"), ("period", 100, "paid")]


def test_upgrade_on_the_10th_charges_21_of_30_days_of_the_difference(client, sessions, clock):
    billing = Billing(client, sessions, clock)
    billing.run(NOV)
    billing.on(date(2026, 11, 10)).put("/subscription/plan", {"plan": "pro"})
    billing.walk(DEC)
    invoices = billing.invoices()
    # £2.00 a month more, for 21 of 30 days: 140p, charged with the next day's run.
    assert totals(invoices) == [
        ("period", 100, "paid"),
        ("changes", 140, "paid"),
        ("period", 300, "paid"),
    ]
    assert invoices[1]["issued_on"] == "2026-11-11"
    assert "Starter → Pro" in invoices[1]["lines"][0]["description"]
    assert "21 of 30 days" in invoices[1]["lines"][0]["description"]


def test_two_branches_added_and_one_removed_on_one_day_make_one_line(client, sessions, clock):
    billing = Billing(client, sessions, clock)
    owner = billing.owner
    branch = {"name": "Main", "address": "1 High St", "latitude": 51.5, "longitude": -0.1}
    assert billing.post("/branches", branch).status_code == 201  # the first branch is free
    billing.run(NOV)
    billing.on(date(2026, 11, 15))
    added = [billing.post("/branches", {**branch, "name": f"B{n}"}).json() for n in (2, 3)]
    removed = client.delete(f"{billing.base}/branches/{added[0]['id']}", headers=owner.headers)
    assert removed.status_code == 204
    billing.walk(DEC)
    invoices = billing.invoices()
    # One extra branch more from the 15th: £1.00 for 16 of 30 days = 53.33p → 53p, one line.
    changes = [i for i in invoices if i["kind"] == "changes"]
    assert [(len(i["lines"]), i["total"]["minor"]) for i in changes] == [(1, 53)]
    assert invoices[-1]["total"]["minor"] == 200  # December: Starter and one extra branch


def test_more_products_than_the_plan_allows_changes_nothing_if_back_on_day_5_of_grace(
    client, sessions, clock
):
    billing = Billing(client, sessions, clock)
    billing.add_products(10)
    billing.run(NOV)
    billing.on(date(2026, 11, 3)).add_products(1)  # 11 products on Starter (10)
    [over] = billing.notices("over_limit")
    assert "becomes Pro (£3.00 a month) on 2026-11-10" in over["message"]
    billing.walk(date(2026, 11, 8))  # day 5 of the grace: one product goes
    product = billing.products()[0]
    client.delete(f"{billing.base}/products/{product['id']}", headers=billing.owner.headers)
    assert billing.notices("tier_back")
    billing.walk(DEC)
    assert billing.subscription()["plan"]["code"] == "starter"
    assert totals(billing.invoices()) == [("period", 100, "paid"), ("period", 100, "paid")]


def test_still_over_the_limit_when_the_grace_ends_upgrades_automatically(client, sessions, clock):
    billing = Billing(client, sessions, clock)
    billing.add_products(10)
    billing.run(NOV)
    billing.on(date(2026, 11, 3)).add_products(1)
    billing.walk(date(2026, 11, 9))
    assert billing.subscription()["plan"]["code"] == "starter"  # still in grace
    billing.walk(DEC)
    assert billing.subscription()["plan"]["code"] == "pro"
    # Pro from the 10th (end of grace): £2.00 for 21 of 30 days = 140p, invoiced on the 11th.
    assert totals(billing.invoices()) == [
        ("period", 100, "paid"),
        ("changes", 140, "paid"),
        ("period", 300, "paid"),
    ]


def test_a_plan_too_small_for_the_products_is_refused_and_changes_nothing(client, sessions, clock):
    billing = Billing(client, sessions, clock)
    billing.put("/subscription/plan", {"plan": "pro"})
    billing.add_products(11)
    response = client.put(
        billing.base + "/subscription/plan", json={"plan": "starter"}, headers=billing.owner.headers
    )
    assert response.status_code == 409
    assert "allows 10" in response.json()["detail"]
    assert billing.subscription()["plan"]["code"] == "pro"


# -- the calendar, as a table: what happens on which day, and what is invoiced -------------------

BRANCH = {"address": "1 High St", "latitude": 51.5, "longitude": -0.1}


def plan(code):
    return lambda billing: billing.put("/subscription/plan", {"plan": code})


def branches(change):
    def act(billing):
        if change > 0:
            for n in range(change):
                billing.post("/branches", {**BRANCH, "name": f"Branch {n}"})
            return
        listed = billing.client.get(billing.base).json()["branches"]
        for branch in listed[1 : 1 - change]:
            path = f"{billing.base}/branches/{branch['id']}"
            billing.client.delete(path, headers=billing.owner.headers)

    return act


def products(change):
    def act(billing):
        if change > 0:
            billing.add_products(change)
            return
        for product in billing.products()[:-change]:
            path = f"{billing.base}/products/{product['id']}"
            billing.client.delete(path, headers=billing.owner.headers)

    return act


def hibernate(billing):
    billing.post("/subscription/hibernate")


def wake(billing):
    billing.post("/subscription/wake")


# name, before the month's first run, (day of November, action) ..., invoices to December
CALENDAR = [
    ("upgrade on the 10th", [], [(10, plan("pro"))], [100, 140, 300]),
    ("downgrade on the 20th", [plan("pro")], [(20, plan("starter"))], [300, 100 - 73]),
    ("up and down on one day", [], [(10, plan("pro")), (10, plan("starter"))], [100, 100]),
    (
        "two branches added, one removed, one day",
        [branches(1)],
        [(15, branches(2)), (15, branches(-1))],
        [100, 53, 200],
    ),
    (
        "hibernate the 11th, wake the 21st",
        [branches(3)],
        [(11, hibernate), (21, wake)],
        [300, 83, 133],
    ),
    (
        "11th product, back on day 5",
        [products(10)],
        [(3, products(1)), (8, products(-1))],
        [100, 100],
    ),
    ("11th product, still over after grace", [products(10)], [(3, products(1))], [100, 140, 300]),
    # Enterprise from the end of the grace, the 12th: £2.00 for 19 of 30 days = 126.67 → 127.
    ("101st product on Pro", [plan("pro"), products(100)], [(5, products(1))], [300, 127, 500]),
]


@pytest.mark.parametrize(
    ("before", "days", "invoiced"),
    [row[1:] for row in CALENDAR],
    ids=[row[0] for row in CALENDAR],
)
def test_the_calendar(client, sessions, clock, before, days, invoiced):
    assert all(1 < day <= 30 for day, _ in days), "days of November, after its first run"
    billing = Billing(client, sessions, clock)
    for action in before:
        action(billing)
    billing.run(NOV)
    for day in range(2, 31):  # each day: its changes, then the next morning's run
        today = date(2026, 11, day)
        for when, action in days:
            if when == day:
                action(billing.on(today))
        billing.run(today + timedelta(days=1))  # the last is December's first
    assert [i["total"]["minor"] for i in billing.invoices()] == invoiced
    assert all(i["status"] == "paid" for i in billing.invoices())


# -- failed payments, suspension, restoration ------------------------------------------------


def test_a_card_declined_three_times_then_replaced_pays_and_stays_active(client, sessions, clock):
    billing = Billing(client, sessions, clock, card=DECLINE)
    billing.run(NOV)  # attempt 1 fails; retries after 1, 2, 4 days: the 2nd, 4th, 8th
    billing.walk(date(2026, 11, 4))
    assert [n["message"].split("We will try again on ")[-1] for n in billing.notices(
        "payment_failed"
    )] == ["2026-11-02.", "2026-11-04.", "2026-11-08."]  # fmt: skip
    assert billing.subscription()["status"] == "past_due"
    billing.put("/subscription/payment-card", {"card_number": APPROVE})
    billing.walk(date(2026, 11, 8))
    [invoice] = billing.invoices()
    assert (invoice["status"], invoice["attempts"], invoice["paid_on"]) == (
        "paid",
        4,
        "2026-11-08",
    )
    assert billing.subscription()["status"] == "active"
    assert billing.notices("restored")


def test_unpaid_after_the_last_retry_and_the_grace_the_business_is_suspended_until_it_pays(
    client, sessions, clock
):
    billing = Billing(client, sessions, clock, card=DECLINE)
    customer = sign_up(client)
    card = buy_card(customer, billing.shop, 2000).json()  # sold while in good standing
    billing.run(NOV)
    billing.walk(date(2026, 11, 16))  # attempts on the 1st, 2nd, 4th, 8th and 16th all fail
    assert billing.subscription()["status"] == "grace"
    assert billing.subscription()["grace_until"] == "2026-11-23"
    billing.walk(date(2026, 11, 22))
    assert billing.subscription()["status"] == "grace"
    billing.walk(date(2026, 11, 23))
    assert billing.subscription()["status"] == "suspended"
    assert billing.invoices()[0]["status"] == "uncollectible"

    # Hidden, no new sales, no edits — but the card already sold still redeems.
    listed = client.get("/api/v1/businesses", params={"q": "Corner"}).json()["items"]
    assert billing.shop.business_id not in [b["id"] for b in listed]
    detail = f"/api/v1/businesses/{billing.shop.business_id}"
    assert client.get(detail).json()["selling"] is False  # an app can say so before a sale
    refused = buy_card(customer, billing.shop, 1000)
    assert (refused.status_code, refused.json()["type"].rsplit("/", 1)[-1]) == (
        409,
        "business-not-selling",
    )
    assert "try again another day" in refused.json()["detail"]
    assert "invoice" not in refused.json()["detail"]  # the owner's business, not the buyer's
    deal = billing.post("/deals", {"title": "Two for one", "original_price_minor": 600,
                                   "deal_price_minor": 300, "starts_at": "2026-11-23T00:00:00Z",
                                   "ends_at": "2027-01-01T00:00:00Z"})  # fmt: skip
    assert deal.status_code == 409
    assert "pay it" in deal.json()["detail"]  # the owner is told what puts it right
    edit = billing.post("/products", {"name": "New", "price_minor": 100})
    assert edit.status_code == 409
    assert "pay it" in edit.json()["detail"]
    assert billing.shop.redeem(500, token=card["token"]).status_code == 200

    # Paying the invoice restores it at once.
    invoice = billing.invoices()[0]
    paid = billing.pay(invoice, {"card_number": APPROVE})
    assert paid.status_code == 200, paid.text
    assert paid.json()["receipt"]  # the gateway's reference for the payment
    assert billing.subscription()["status"] == "active"
    listed = client.get("/api/v1/businesses", params={"q": "Corner"}).json()["items"]
    assert billing.shop.business_id in [b["id"] for b in listed]
    assert client.get(detail).json()["selling"] is True
    assert buy_card(customer, billing.shop, 1000).status_code == 201


def test_an_admin_voids_an_unpaid_invoice_and_the_suspension_ends(client, sessions, clock):
    billing = Billing(client, sessions, clock, card=DECLINE)
    billing.run(NOV)
    billing.walk(date(2026, 11, 23))
    assert billing.subscription()["status"] == "suspended"
    invoice = billing.invoices()[0]
    path = f"{billing.base}/invoices/{invoice['id']}/void"
    assert billing.owner.post(path).status_code == 403  # owners pay; admins void
    voided = _admin(client, sessions).post(path)
    assert voided.status_code == 200, voided.text
    assert billing.invoices()[0]["status"] == "void"
    assert billing.subscription()["status"] == "active"
    assert _admin(client, sessions).post(path).status_code == 409  # once


def test_a_declined_payment_leaves_a_suspended_business_suspended(client, sessions, clock):
    billing = Billing(client, sessions, clock, card=DECLINE)
    customer = sign_up(client)
    billing.run(NOV)
    billing.walk(date(2026, 11, 23))
    suspended = billing.subscription()
    assert suspended["status"] == "suspended"
    invoice = billing.invoices()[0]
    billing.on(date(2026, 11, 24))
    declined = billing.pay(invoice, {"card_number": DECLINE})
    assert declined.status_code == 402
    assert billing.subscription() == suspended
    assert billing.invoices()[0]["status"] == "uncollectible"
    assert not billing.notices("final_notice")[1:]  # no new grace is promised
    listed = client.get("/api/v1/businesses", params={"q": "Corner"}).json()["items"]
    assert billing.shop.business_id not in [b["id"] for b in listed]
    detail = f"/api/v1/businesses/{billing.shop.business_id}"
    assert client.get(detail).json()["selling"] is False  # an app can say so before a sale
    assert buy_card(customer, billing.shop, 1000).status_code == 409
    billing.walk(date(2026, 12, 5))  # the runs that follow keep it suspended too
    assert billing.subscription()["status"] == "suspended"


def test_a_declined_payment_in_the_grace_does_not_extend_it(client, sessions, clock):
    billing = Billing(client, sessions, clock, card=DECLINE)
    billing.run(NOV)
    billing.walk(date(2026, 11, 16))
    assert billing.subscription()["grace_until"] == "2026-11-23"
    invoice = billing.invoices()[0]
    billing.on(date(2026, 11, 20))
    assert billing.pay(invoice).status_code == 402
    assert billing.subscription()["grace_until"] == "2026-11-23"
    billing.walk(date(2026, 11, 23))
    assert billing.subscription()["status"] == "suspended"


def test_a_declined_manual_payment_says_so_and_changes_nothing(client, sessions, clock):
    billing = Billing(client, sessions, clock, card=DECLINE)
    billing.run(NOV)
    invoice = billing.invoices()[0]
    response = billing.pay(invoice)
    assert response.status_code == 402
    assert billing.invoices()[0]["status"] == "open"


# -- hibernation -----------------------------------------------------------------------------


def test_hibernate_and_wake_mid_month_are_prorated_and_hide_the_business(client, sessions, clock):
    billing = Billing(client, sessions, clock)
    branch = {"name": "Main", "address": "1 High St", "latitude": 51.5, "longitude": -0.1}
    for name in ("A", "B", "C"):
        billing.post("/branches", {**branch, "name": name})  # two extra: £3.00 a month
    billing.run(NOV)
    billing.on(date(2026, 11, 11)).post("/subscription/hibernate")
    customer = sign_up(client)
    refused = buy_card(customer, billing.shop, 1000)
    assert refused.status_code == 409
    # The buyer is told what they can do, not the owner's API call.
    assert refused.json()["detail"] == (
        "Corner Café is not selling gift cards or vouchers at the moment: try again another "
        "day. Gift cards and vouchers you already have still work at its till."
    )
    listed = client.get("/api/v1/businesses", params={"q": "Corner"}).json()["items"]
    assert billing.shop.business_id not in [b["id"] for b in listed]
    detail = f"/api/v1/businesses/{billing.shop.business_id}"
    assert client.get(detail).json()["selling"] is False  # an app can say so before a sale
    billing.walk(date(2026, 11, 21))
    billing.post("/subscription/wake")
    billing.walk(DEC)
    # £3.00 → £0.50 for 20 of 30 days: -166.67 → -167 (credit); back for 10 days: +83.33 → 83.
    assert totals(billing.invoices()) == [
        ("period", 300, "paid"),
        ("changes", 83, "paid"),
        ("period", 300 - 167, "paid"),
    ]
    assert buy_card(customer, billing.shop, 1000).status_code == 201


# -- currencies ------------------------------------------------------------------------------


def test_paying_in_euros_with_a_rate_change_mid_period(client, sessions, clock):
    admin = _admin(client, sessions)
    rates = [
        {"currency": "EUR", "rate": "1.15", "valid_from": "2026-10-01"},
        {"currency": "EUR", "rate": "1.20", "valid_from": "2026-11-15"},
    ]
    stored = admin.post("/api/v1/admin/exchange-rates", rates)
    assert stored.status_code == 200, stored.text
    billing = Billing(client, sessions, clock, currency="EUR")
    billing.run(NOV)
    billing.on(date(2026, 11, 20)).put("/subscription/plan", {"plan": "pro"})
    billing.walk(DEC)
    period, changes, december = billing.invoices()
    line = period["lines"][0]
    assert (line["amount"]["minor"], line["amount"]["currency"]) == (115, "EUR")
    assert (line["rate"], line["rate_date"]) == ("1.15", "2026-10-01")
    # 11 of 30 days of £2.00 = 73.33p → 73p; at 1.20 that is 87.6 cents → 88 (half-even).
    line = changes["lines"][0]
    assert (line["base"]["minor"], line["amount"]["minor"], line["rate"]) == (73, 88, "1.20")
    assert december["total"]["minor"] == 360  # £3.00 at 1.20


def test_without_a_rate_the_run_says_what_to_do_and_invoices_nothing(client, sessions, clock):
    billing = Billing(client, sessions, clock, currency="JPY")
    summary = billing.run(NOV)
    assert any("no JPY rate" in problem for problem in summary.problems)
    assert billing.invoices() == []


def test_rates_that_make_no_sense_are_refused(client, sessions):
    admin = _admin(client, sessions)
    for bad in ("-1", "abc", "0", "NaN"):
        response = admin.post(
            "/api/v1/admin/exchange-rates",
            [{"currency": "EUR", "rate": bad, "valid_from": "2026-11-01"}],
        )
        assert response.status_code == 422, bad
    assert billing_rate_count(sessions) == 0


def billing_rate_count(sessions):
    from sqlalchemy import func, select

    from server.billing.models import ExchangeRate

    with sessions() as session:
        return session.scalar(select(func.count()).select_from(ExchangeRate))


def _admin(client, sessions):
    from tests.server.api import make_admin

    return make_admin(client)


# -- one source for each setting: the billing currency, the gateway ------------------------


def test_the_billing_currency_setting_prices_the_plans_and_is_what_rates_are_against(
    settings, engine, sessions, clock
):
    euros = settings.model_copy(update={"billing_currency": "EUR"})
    with TestClient(create_app(euros, engine=engine, today=clock)) as client:
        assert {p["price"]["currency"] for p in client.get("/api/v1/plans").json()} == {"EUR"}
        billing = Billing(client, sessions, clock, currency="GBP")
        stored = _admin(client, sessions).post(
            "/api/v1/admin/exchange-rates",
            [{"currency": "GBP", "rate": "0.85", "valid_from": "2026-11-01"}],
        )
        assert stored.status_code == 200, stored.text
        assert stored.json()[0]["base_currency"] == "EUR"
        billing.run(NOV)
        billing.on(date(2026, 11, 10)).put("/subscription/plan", {"plan": "pro"})
        billing.run(date(2026, 11, 11))
        invoices = billing.invoices()
        # €1.00 and then €2.00 for 21 of 30 days (€1.40), at 0.85 GBP a euro.
        assert totals(invoices) == [("period", 85, "paid"), ("changes", 119, "paid")]
        assert [[line["base"]["currency"] for line in i["lines"]] for i in invoices] == [
            ["EUR"],
            ["EUR"],
        ]


def test_a_price_list_in_another_currency_than_the_setting_is_refused(
    settings, engine, sessions, monkeypatch, capsys
):
    with sessions() as session:
        ensure_prices(session, "GBP")
    with pytest.raises(PriceListError, match="TILLPOINT_BILLING_CURRENCY"):
        create_app(settings.model_copy(update={"billing_currency": "EUR"}), engine=engine)
    monkeypatch.setenv("DATABASE_URL", url_of(engine))
    monkeypatch.setenv("TILLPOINT_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("TILLPOINT_BILLING_CURRENCY", "EUR")
    assert main(["server", "billing-run", "--at", NOV.isoformat()]) == 2
    assert "the price list is in GBP but the billing currency" in capsys.readouterr().err


def test_the_cli_billing_run_charges_through_the_gateway_the_server_was_built_with(
    settings, engine, sessions, clock, monkeypatch, capsys
):
    monkeypatch.setattr(gateways.Recording, "made", [])
    server_settings = settings.model_copy(update={"payment_gateway": gateways.NAME})
    with TestClient(create_app(server_settings, engine=engine, today=clock)) as client:
        assert isinstance(gateway_of(client), gateways.Recording)
        billing = Billing(client, sessions, clock)
        monkeypatch.setenv("DATABASE_URL", url_of(engine))
        monkeypatch.setenv("TILLPOINT_DATA_DIR", str(settings.data_dir))
        monkeypatch.setenv("TILLPOINT_PAYMENT_GATEWAY", gateways.NAME)
        assert main(["server", "billing-run", "--at", NOV.isoformat()]) == 0
        assert "1 payments collected" in capsys.readouterr().out
        [invoice] = billing.invoices()
    server, cli = gateways.Recording.made
    assert server.charged == []  # the run charged through a gateway of the same kind
    assert cli.charged == [f"invoice:{invoice['id']}:1"]
    assert invoice["status"] == "paid"


def test_the_gateway_setting_names_the_simulated_one_by_default_or_an_adapter(settings):
    assert isinstance(make_gateway(settings), SimulatedGateway)
    for bad in ("stripe", "tests.server.gateways:Nothing", "no_such_module:make"):
        with pytest.raises(UnknownGatewayError, match="payment gateway"):
            make_gateway(settings.model_copy(update={"payment_gateway": bad}))


# -- the run: idempotent, and safe from several processes ------------------------------------


def test_running_twice_for_the_same_day_invoices_once(client, sessions, clock):
    billing = Billing(client, sessions, clock)
    billing.run(NOV)
    billing.run(NOV)
    billing.on(date(2026, 11, 10)).put("/subscription/plan", {"plan": "pro"})
    billing.run(date(2026, 11, 11))
    billing.run(date(2026, 11, 11))
    assert totals(billing.invoices()) == [("period", 100, "paid"), ("changes", 140, "paid")]


@pytest.mark.postgres
def test_two_runs_at_once_invoice_once(postgres_url, settings, clock):
    """Four runs of the same day at once, on PostgreSQL (SQLite lets one writer in at a
    time, so there it cannot race): every business is invoiced once, charged once."""
    engine = make_engine(postgres_url)
    Base.metadata.create_all(engine)
    sessions = make_sessionmaker(engine)
    try:
        with TestClient(create_app(settings, engine=engine, today=clock)) as client:
            shops = [Billing(client, sessions, clock) for _ in range(3)]
            gateway = gateway_of(client)
            runs = [
                threading.Thread(target=run_billing, args=(sessions, NOV, gateway))
                for _ in range(4)
            ]
            for run in runs:
                run.start()
            for run in runs:
                run.join()
            for billing in shops:
                assert totals(billing.invoices()) == [("period", 100, "paid")]
                assert len(billing.notices("paid")) == 1
    finally:
        engine.dispose()


def test_a_closed_business_is_not_invoiced_for_the_months_after(client, sessions, clock):
    billing = Billing(client, sessions, clock)
    billing.run(NOV)
    assert billing.owner.delete(billing.base).status_code == 204
    billing.walk(DEC + timedelta(days=40))
    assert totals(billing.invoices()) == [("period", 100, "paid")]
