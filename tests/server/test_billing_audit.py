"""Billing as the vendor audit found it (docs/billing.md, docs/api.md "Billing"): a closed
business changes nothing and is charged nothing new, notices say what the next run will
invoice, card numbers are taken as people write them, paying an invoice is idempotent, and
a test clock says what is wrong with the body it was sent."""

from __future__ import annotations

from datetime import date

import pytest
from fastapi.testclient import TestClient

from server.app import create_app
from tests.server.api import new_key
from tests.server.test_billing import APPROVE, DECLINE, NOV, Billing, Clock, totals


@pytest.fixture
def clock():
    return Clock(NOV)


@pytest.fixture
def client(settings, engine, clock):
    with TestClient(create_app(settings, engine=engine, today=clock)) as client:
        yield client


def kind(answer) -> tuple[int, str]:
    return answer.status_code, answer.json()["type"].rsplit("/", 1)[-1]


# -- a closed business -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("put", "/subscription/plan", {"plan": "enterprise"}),
        ("post", "/subscription/hibernate", None),
        ("post", "/subscription/wake", None),
    ],
)
def test_a_closed_business_cannot_change_its_subscription(
    client, sessions, clock, method, path, body
):
    billing = Billing(client, sessions, clock)
    billing.run(NOV)
    before = billing.subscription()
    notices = billing.notices()
    assert billing.owner.delete(billing.base).status_code == 204
    answer = getattr(billing.owner, method)(billing.base + path, body)
    assert kind(answer) == (409, "business-closed")
    assert "closed" in answer.json()["detail"]
    after = billing.subscription()
    assert (after["plan"], after["hibernating"]) == (before["plan"], before["hibernating"])
    assert billing.notices() == notices  # nothing said about a change that did not happen


@pytest.mark.parametrize(
    ("path", "body", "listed"),
    [
        ("/staff", {"email": "new-cashier@example.com", "password": "cashier-pass-123"}, "/staff"),
        ("/pairing-codes", {}, None),
        (
            "/webhook-endpoints",
            {"url": "https://hooks.example.com/tillpoint", "event_types": ["card.created"]},
            "/webhook-endpoints",
        ),
    ],
)
def test_a_closed_business_takes_no_new_staff_tills_or_webhooks(
    client, sessions, clock, path, body, listed
):
    billing = Billing(client, sessions, clock)
    before = billing.get(listed) if listed else None
    assert billing.owner.delete(billing.base).status_code == 204
    answer = billing.post(path, body)
    assert kind(answer) == (409, "business-closed")
    assert "closed" in answer.json()["detail"]
    if listed:
        assert billing.get(listed) == before


def test_a_hibernating_business_closed_is_not_woken(client, sessions, clock):
    billing = Billing(client, sessions, clock)
    billing.run(NOV)
    assert billing.post("/subscription/hibernate").status_code == 200
    assert billing.owner.delete(billing.base).status_code == 204
    assert kind(billing.post("/subscription/wake")) == (409, "business-closed")
    assert not billing.notices("woken")


def test_a_closed_business_says_so_and_the_run_charges_it_nothing_new(client, sessions, clock):
    billing = Billing(client, sessions, clock)
    billing.run(NOV)
    # An upgrade on the 10th, then closed the same day: the run of the 11th would invoice it.
    billing.on(date(2026, 11, 10)).put("/subscription/plan", {"plan": "enterprise"})
    assert billing.owner.delete(billing.base).status_code == 204
    assert billing.subscription()["status"] == "closed"
    billing.walk(date(2027, 1, 15))
    assert totals(billing.invoices()) == [("period", 100, "paid")]
    assert billing.subscription()["status"] == "closed"


def test_what_was_invoiced_before_closing_can_still_be_paid(client, sessions, clock):
    billing = Billing(client, sessions, clock, card=DECLINE)
    billing.run(NOV)
    assert billing.owner.delete(billing.base).status_code == 204
    [invoice] = billing.invoices()
    paid = billing.pay(invoice, {"card_number": APPROVE})
    assert paid.status_code == 200, paid.text
    assert billing.subscription()["status"] == "closed"


# -- plan-change notices -----------------------------------------------------------------------


def test_plan_change_notices_say_what_the_next_invoice_will_carry(client, sessions, clock):
    billing = Billing(client, sessions, clock)
    billing.run(NOV)
    billing.on(date(2026, 11, 10))
    billing.put("/subscription/plan", {"plan": "pro"})
    billing.put("/subscription/plan", {"plan": "starter"})
    assert [n["message"] for n in billing.notices("plan_changed")] == [
        "Your plan is now Pro (£3.00 a month) from 2026-11-10. £1.40 prorated for the rest "
        "of this period will be on your next invoice, with the day's other changes.",
        "Your plan is now Starter (£1.00 a month) from 2026-11-10. £1.40 prorated for the "
        "rest of this period will be credited on your next invoice, with the day's other "
        "changes.",
    ]
    billing.walk(date(2026, 12, 1))
    # The day nets to nothing: no invoice of its own; both lines are on the next, cancelling.
    invoices = billing.invoices()
    assert totals(invoices) == [("period", 100, "paid"), ("period", 100, "paid")]
    assert [line["amount"]["minor"] for line in invoices[1]["lines"]] == [100, 140, -140]


# -- card numbers as people write them ---------------------------------------------------------


@pytest.mark.parametrize("number", ["4242 4242 4242 4242", "4242-4242-4242-4242"])
def test_a_payment_card_is_taken_with_spaces_or_dashes(client, sessions, clock, number):
    billing = Billing(client, sessions, clock, card=None)
    assert (
        billing.put("/subscription/payment-card", {"card_number": number})["payment_card"]
        == "…4242"
    )


@pytest.mark.parametrize("number", ["4242 4242 4242 4242", "4242-4242-4242-4242"])
def test_an_invoice_is_paid_with_a_card_number_written_with_spaces(client, sessions, clock, number):
    billing = Billing(client, sessions, clock, card=DECLINE)
    billing.run(NOV)
    [invoice] = billing.invoices()
    paid = billing.pay(invoice, {"card_number": number})
    assert paid.status_code == 200, paid.text
    assert paid.json()["status"] == "paid"


# -- paying an invoice is idempotent -----------------------------------------------------------


def test_paying_an_invoice_needs_an_idempotency_key(client, sessions, clock):
    billing = Billing(client, sessions, clock, card=DECLINE)
    billing.run(NOV)
    [invoice] = billing.invoices()
    answer = billing.post(f"/invoices/{invoice['id']}/pay", {"card_number": APPROVE})
    assert kind(answer) == (400, "idempotency-key-missing")
    assert billing.invoices()[0]["status"] == "open"  # nothing charged


def test_a_retried_payment_gets_the_first_answer_and_charges_once(client, sessions, clock):
    billing = Billing(client, sessions, clock, card=DECLINE)
    billing.run(NOV)
    [invoice] = billing.invoices()
    path = f"{billing.base}/invoices/{invoice['id']}/pay"
    key = new_key()
    first = billing.owner.post(path, {"card_number": APPROVE}, key=key)
    again = billing.owner.post(path, {"card_number": APPROVE}, key=key)
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json()
    assert len(billing.notices("paid")) == 1
    other = billing.owner.post(path, {"card_number": DECLINE}, key=key)
    assert kind(other) == (409, "idempotency-key-reused")


def test_a_retried_declined_payment_is_declined_once(client, sessions, clock):
    billing = Billing(client, sessions, clock, card=DECLINE)
    billing.run(NOV)
    [invoice] = billing.invoices()
    path = f"{billing.base}/invoices/{invoice['id']}/pay"
    key = new_key()
    first = billing.owner.post(path, key=key)
    again = billing.owner.post(path, key=key)
    assert kind(first) == kind(again) == (402, "payment-declined")
    assert first.json() == again.json()
    # The declined attempt stays recorded (the run's first, then this one), once.
    assert billing.invoices()[0]["attempts"] == 2
    assert len(billing.notices("payment_failed")) == 2


# -- a test clock's body -----------------------------------------------------------------------


@pytest.fixture
def sandbox(settings, engine, clock):
    sandboxed = settings.model_copy(update={"sandbox": True})
    with TestClient(create_app(sandboxed, engine=engine, today=clock)) as client:
        yield client


@pytest.mark.parametrize(
    ("body", "said", "not_said"),
    [
        ({}, "give days (1–400) or to (a date)", "not both"),
        ({"days": 1, "to": "2026-12-01"}, "not both", None),
    ],
)
def test_advancing_a_test_clock_says_what_is_wrong_with_the_body(
    sandbox, sessions, clock, body, said, not_said
):
    billing = Billing(sandbox, sessions, clock)
    answer = billing.post("/test-clock/advance", body)
    assert answer.status_code == 422
    message = " ".join(error["message"] for error in answer.json()["errors"])
    assert said in message
    if not_said is not None:
        assert not_said not in message
