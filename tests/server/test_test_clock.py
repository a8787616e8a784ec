"""Test clocks for integrators (sandbox servers only): a vendor's app walks its subscription
through a month by advancing its business's clock through the API — a plan change on day
10, a branch added one day and removed another, hibernation — and billing follows."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from server.app import create_app
from server.billing.run import run_billing
from tests.server.api import open_shop
from tests.server.test_billing import NOV, Billing, Clock, gateway_of, totals


@pytest.fixture
def clock() -> Clock:
    return Clock(NOV)  # the server's own date stays here throughout


@pytest.fixture
def sandbox(settings, engine, clock):
    sandboxed = settings.model_copy(update={"sandbox": True})
    with TestClient(create_app(sandboxed, engine=engine, today=clock)) as client:
        yield client


def advance(billing: Billing, **body):
    answer = billing.post("/test-clock/advance", body)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_a_month_walked_through_the_api_bills_as_the_calendar_would(sandbox, sessions, clock):
    billing = Billing(sandbox, sessions, clock)
    assert billing.get("/test-clock")["today"] == "2026-11-01"
    moved = advance(billing, days=9)  # to the 10th: November's period invoiced on the way
    assert (moved["today"], moved["real_today"], moved["invoices"]) == (
        "2026-11-10",
        "2026-11-01",
        1,
    )
    billing.put("/subscription/plan", {"plan": "pro"})  # on the clock's 10th
    advance(billing, to="2026-12-01")
    invoices = billing.invoices()
    assert totals(invoices) == [
        ("period", 100, "paid"),
        ("changes", 140, "paid"),  # £2.00 more for 21 of 30 days
        ("period", 300, "paid"),
    ]
    assert invoices[1]["issued_on"] == "2026-11-11"
    assert "21 of 30 days" in invoices[1]["lines"][0]["description"]


def test_branches_and_hibernation_happen_on_the_clocks_date(sandbox, sessions, clock):
    billing = Billing(sandbox, sessions, clock)
    branch = {"name": "Main", "address": "1 High St", "latitude": 51.5, "longitude": -0.1}
    assert billing.post("/branches", branch).status_code == 201  # the first is free
    advance(billing, to="2026-11-15")
    added = billing.post("/branches", {**branch, "name": "Second"}).json()
    advance(billing, to="2026-11-20")
    removed = sandbox.delete(
        f"{billing.base}/branches/{added['id']}", headers=billing.owner.headers
    )
    assert removed.status_code == 204
    advance(billing, to="2026-11-25")
    assert billing.post("/subscription/hibernate").status_code == 200
    advance(billing, to="2026-12-01")
    lines = [line["description"] for i in billing.invoices() for line in i["lines"]]
    assert any("branch" in line.lower() for line in lines), lines
    assert billing.subscription()["hibernating"] is True
    notices = billing.notices()
    assert all(n["day"] >= "2026-11-01" for n in notices)


def test_the_scheduled_run_leaves_a_business_on_a_test_clock_alone(sandbox, sessions, clock):
    billing = Billing(sandbox, sessions, clock)
    other = Billing(sandbox, sessions, clock)
    billing.get("/test-clock")  # starts its clock
    run_billing(sessions, NOV, gateway_of(sandbox))
    assert billing.invoices() == []  # its day has not come: its clock has not moved
    assert totals(other.invoices()) == [("period", 100, "paid")]


def test_a_clock_moves_only_forward_and_only_for_its_owner(sandbox, sessions, clock):
    billing = Billing(sandbox, sessions, clock)
    advance(billing, days=3)
    back = billing.post("/test-clock/advance", {"to": "2026-11-02"})
    assert back.status_code == 409
    assert back.json()["type"].endswith("/test-clock-backwards")
    assert billing.get("/test-clock")["today"] == "2026-11-04"  # unchanged
    both = billing.post("/test-clock/advance", {"days": 1, "to": "2026-12-01"})
    assert both.status_code == 422
    too_far = billing.post("/test-clock/advance", {"days": 401})
    assert too_far.status_code == 422
    stranger = open_shop(sandbox)
    answer = stranger.owner.post(f"{billing.base}/test-clock/advance", {"days": 1})
    assert answer.status_code in (403, 404)
    assert billing.get("/test-clock")["today"] == "2026-11-04"


def test_a_server_with_real_money_has_no_test_clocks(client, sessions):
    shop = open_shop(client)
    base = f"/api/v1/businesses/{shop.business_id}"
    for answer in (
        shop.owner.get(f"{base}/test-clock"),
        shop.owner.post(f"{base}/test-clock/advance", {"days": 1}),
    ):
        assert answer.status_code == 403
        assert answer.json()["type"].endswith("/sandbox-only")
        assert "TILLPOINT_SANDBOX" in answer.json()["detail"]
