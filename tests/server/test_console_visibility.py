"""The console says how the public sees a business — in the businesses list and on its
page — by the directory's own rule: billing hides a business whose subscription lapsed
(an unpaid invoice) or that hibernates, as an operator's suspension does, and the console
never calls such a business "Listed"."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from html import unescape

import pytest
from fastapi.testclient import TestClient

from server.app import create_app
from tests.server.api import create_deal
from tests.server.console import ConsoleAdmin, signed_in_admin
from tests.server.test_billing import APPROVE, DECLINE, NOV, Billing, Clock

ROW = re.compile(r'<tr>\s*<td><a href="/console/businesses/([\w-]+)">.*?</tr>', re.DOTALL)
CELL = re.compile(r"<td>(.*?)</td>", re.DOTALL)
SEEN = re.compile(r"<dt>The public sees</dt>\s*<dd>(.*?)</dd>", re.DOTALL)
TAG = re.compile(r"<[^>]+>")
LAPSED = "Hidden — subscription lapsed: an invoice is unpaid"


@pytest.fixture
def clock() -> Clock:
    return Clock(NOV)


@pytest.fixture
def client(settings, engine, clock) -> Iterator[TestClient]:
    with TestClient(create_app(settings, engine=engine, today=clock)) as client:
        yield client


def words(html: str) -> str:
    return " ".join(unescape(TAG.sub("", html)).split())


def in_the_list(admin: ConsoleAdmin, business_id: str) -> str:
    """What the businesses list says of the business's standing, as a person reads it."""
    page = admin.client.get("/console/businesses")
    assert page.status_code == 200, page.text
    for row in ROW.finditer(page.text):
        if row.group(1) == business_id:
            return words(CELL.findall(row.group(0))[2])
    raise AssertionError(f"{business_id} is not in the list")


def on_its_page(admin: ConsoleAdmin, business_id: str) -> str:
    page = admin.client.get(f"/console/businesses/{business_id}")
    found = SEEN.search(page.text)
    assert found is not None, page.text
    return words(found.group(1))


def publicly_listed(client: TestClient, business_id: str) -> bool:
    found = client.get("/api/v1/businesses", params={"limit": 100}).json()["items"]
    return business_id in [b["id"] for b in found]


def lapsed(billing: Billing) -> None:
    """Unpaid after the last retry and the grace: billing suspends the subscription."""
    billing.run(NOV)
    billing.walk(date(2026, 11, 23))
    assert billing.subscription()["status"] == "suspended"


def test_a_lapsed_subscription_shows_hidden_in_the_list_and_on_the_page_until_paid(
    client, sessions, clock
):
    billing = Billing(client, sessions, clock, card=DECLINE)
    business = billing.shop.business_id
    admin = signed_in_admin(client)
    assert (in_the_list(admin, business), publicly_listed(client, business)) == ("Listed", True)
    assert on_its_page(admin, business).startswith("Listed: in search and the deals list")

    lapsed(billing)
    assert not publicly_listed(client, business)
    assert in_the_list(admin, business) == LAPSED
    assert on_its_page(admin, business).startswith(
        "Hidden — subscription lapsed: an invoice is unpaid (until its owner pays the "
        "invoice): not in search or the deals list"
    )

    invoice = billing.invoices()[0]
    assert billing.pay(invoice, {"card_number": APPROVE}).status_code == 200
    assert (in_the_list(admin, business), publicly_listed(client, business)) == ("Listed", True)


def test_restoring_an_operators_suspension_says_what_still_hides_it(client, sessions, clock):
    billing = Billing(client, sessions, clock, card=DECLINE)
    business = billing.shop.business_id
    admin = signed_in_admin(client)
    page = f"/console/businesses/{business}"
    assert admin.submit(page, f"{page}/suspend", reason="Checking a complaint").status_code == 303
    lapsed(billing)
    assert in_the_list(admin, business) == (
        "Hidden — suspended by an operator; subscription lapsed: an invoice is unpaid"
    )

    restored = admin.submit(page, f"{page}/restore", reason="Complaint unfounded")
    assert restored.status_code == 303
    shown = words(client.get(restored.headers["location"]).text)
    assert "Restored. It is still hidden from public search: subscription lapsed" in shown
    assert "It appears in public search again" not in shown
    assert not publicly_listed(client, business)
    assert in_the_list(admin, business) == LAPSED


def test_a_hibernating_business_shows_hidden(client, sessions, clock):
    billing = Billing(client, sessions, clock, card=APPROVE)
    business = billing.shop.business_id
    admin = signed_in_admin(client)
    assert billing.post("/subscription/hibernate").status_code == 200
    assert not publicly_listed(client, business)
    assert in_the_list(admin, business) == "Hidden — hibernating"
    assert on_its_page(admin, business).startswith("Hidden — hibernating (until its owner wakes")
    assert billing.post("/subscription/wake").status_code == 200
    assert (in_the_list(admin, business), publicly_listed(client, business)) == ("Listed", True)


def deal_state(admin: ConsoleAdmin, title: str) -> str:
    """The deals list's State of the deal named `title`, as a person reads it."""
    page = admin.client.get("/console/lists/deals", params={"q": title})
    assert page.status_code == 200, page.text
    (row,) = [r for r in re.findall(r"<tr>.*?</tr>", page.text, re.DOTALL) if title in r]
    return words(CELL.findall(row)[-1])


def test_the_deals_list_says_when_a_deal_is_hidden_with_its_business(client, sessions, clock):
    billing = Billing(client, sessions, clock, card=DECLINE)
    title = "Muffin and a tea"
    created = create_deal(billing.shop, title=title)
    assert created.status_code == 201, created.text
    admin = signed_in_admin(client)
    assert deal_state(admin, title) == "open"

    lapsed(billing)

    assert deal_state(admin, title) == "open, but hidden with its business"
