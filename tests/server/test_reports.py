"""Vendor reports: what a business sold, redeemed and gave back in a range of days, by
branch, till and cashier, adding up to its ledger's movements; CSV as Stripe's reports."""

import csv
import io
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import update

from server.wallet import cards, ledger
from server.wallet.models import Purpose, Transfer
from tests.server.api import (
    Shop,
    buy_card,
    buy_voucher,
    create_deal,
    new_key,
    open_shop,
    sign_up,
)
from tests.server.test_sync_push import Terminal
from tests.server.test_till_branches import add_branch

TODAY = datetime.now(UTC).date()


def report(actor, business_id, **params):
    query = {"from": str(TODAY - timedelta(days=1)), "to": str(TODAY + timedelta(days=1))}
    return actor.get(f"/api/v1/businesses/{business_id}/reports", params={**query, **params})


def figures(row):
    """Each figure's (minor units, operations), for one row of a report."""
    return {
        name: (value["amount"]["minor"], value["count"])
        for name, value in row.items()
        if isinstance(value, dict) and "count" in value
    }


@dataclass
class Trade:
    shop: Shop
    branch_id: str
    counter: Terminal  # at the branch; the cashier signed in
    corner: Terminal  # no branch named; offline all day
    redemption_id: str  # the cashier's phone's, refunded in part by the owner


@pytest.fixture
def trade(client, shop, sessions):
    """A day's trade: two cards and two vouchers sold in the app; at the branch's till the
    cashier redeems a card online, then voids it, and a voucher; at the corner till (no
    branch) a card is overspent offline and a voucher redeemed offline; the cashier's phone
    redeems, and the owner refunds part of it, then holds two amounts on a card (split
    tender), takes most of one and leaves the other pending; that card expires with money
    on it."""
    customer = sign_up(client)
    first = buy_card(customer, shop, 1000).json()
    second = buy_card(customer, shop, 500).json()
    deal = create_deal(shop).json()
    vouchers = [buy_voucher(customer, deal["id"]).json() for _ in range(2)]
    branch = add_branch(shop, "Station Road")
    counter = Terminal(client, shop, "Counter", branch_id=branch["id"])
    corner = Terminal(client, shop, "Corner")
    cashier = shop.cashier.id

    counter.api.redeem_online(first["token"], 300, "sale-1", cashier_id=cashier)
    void = counter.event(
        "redemption_void",
        attempt_key="sale-1",
        card_id=first["id"],
        amount_minor=300,
        currency="GBP",
        cashier_id=cashier,
    )
    assert counter.push(void) == [("applied", "")]
    counter.api.redeem_voucher_online(vouchers[0]["token"], new_key(), cashier_id=cashier)

    offline = [
        corner.event(card_id=second["id"], amount_minor=200, attempt_key="c-1"),
        corner.event(card_id=second["id"], amount_minor=400, attempt_key="c-2"),  # 100 short
        corner.event("voucher_redemption", voucher_id=vouchers[1]["id"], attempt_key="c-3"),
    ]
    assert [status for status, _ in corner.push(*offline)] == [
        "applied",
        "applied_with_incident",
        "applied",
    ]

    redeemed = shop.redeem(100, card_id=first["id"])
    assert redeemed.status_code == 200, redeemed.text
    refunded = shop.owner.post(
        f"/api/v1/businesses/{shop.business_id}/refunds",
        {"redemption_id": redeemed.json()["id"], "amount_minor": 40, "reason": "cold"},
        key=new_key(),
    )
    assert refunded.status_code == 200, refunded.text
    holds = f"/api/v1/businesses/{shop.business_id}/holds"
    taken, pending = (
        shop.cashier.post(
            holds,
            {"card_id": first["id"], "amount_minor": amount, "expires_in_seconds": 600},
            key=new_key(),
        ).json()["id"]
        for amount in (200, 30)
    )
    posted = shop.cashier.post(f"{holds}/{taken}/post", {"amount_minor": 150}, key=new_key())
    assert posted.status_code == 200, posted.text
    assert pending

    with sessions() as session:  # the first card (now 760, 30 held) expires: breakage
        assert cards.expire_cards(session, datetime.now(UTC) + timedelta(days=800)) == 1
        session.commit()
    return Trade(shop, branch["id"], counter, corner, redeemed.json()["id"])


def test_the_report_adds_up_to_the_ledger(trade, sessions):
    shown = report(trade.shop.owner, trade.shop.business_id)
    assert shown.status_code == 200, shown.text
    body = shown.json()
    totals = figures(body["totals"])
    assert totals == {
        "cards_sold": (1500, 2),
        "vouchers_sold": (680, 2),
        "redeemed_online": (300 + 340 + 100 + 150, 4),  # the posted hold's 150 too
        "redeemed_offline": (600 + 340, 3),  # the shortfall's leg is part of its redemption
        "shortfalls": (100, 1),
        "voids": (300, 1),
        "refunds": (40, 1),
        "breakage": (760, 1),
    }
    business, currency = trade.shop.business_id, "GBP"
    with sessions() as session:

        def balance(purpose):
            return ledger.account(session, purpose, currency, business).balance_minor

        assert body["totals"]["takings"]["minor"] == ledger.revenue_balance(
            session, business, currency
        )
        assert body["liability_opening"]["minor"] == 0
        assert body["liability_closing"]["minor"] == ledger.card_liability(
            session, business, currency
        ) + balance(Purpose.HOLDS)
        assert totals["breakage"][0] == balance(Purpose.BREAKAGE)
        assert totals["shortfalls"][0] == -balance(Purpose.SHORTFALL)
        sold = totals["cards_sold"][0] + totals["vouchers_sold"][0]
        assert sold == -ledger.clearing_account(session, currency, business).balance_minor
        # Vouchers sold less vouchers redeemed (online and offline) are still outstanding.
        assert totals["vouchers_sold"][0] - 2 * 340 == balance(Purpose.VOUCHERS)
    # The rows of every grouping add up to the same totals.
    for grouping in ("branch", "till", "cashier"):
        rows = report(trade.shop.owner, business, group_by=grouping).json()["rows"]
        summed = dict.fromkeys(totals, (0, 0))
        for row in rows:
            for name, (minor, count) in figures(row["figures"]).items():
                summed[name] = (summed[name][0] + minor, summed[name][1] + count)
        assert summed == totals, grouping


def rows_by_key(trade, grouping):
    body = report(trade.shop.owner, trade.shop.business_id, group_by=grouping).json()
    assert body["group_by"] == grouping
    return {row["key"]: (row["name"], figures(row["figures"])) for row in body["rows"]}


def test_by_till_each_terminal_has_its_own_row(trade):
    rows = rows_by_key(trade, "till")
    assert set(rows) == {trade.counter.device_id, trade.corner.device_id, None}
    name, counter = rows[trade.counter.device_id]
    assert name == "Counter"
    assert counter["redeemed_online"] == (640, 2)
    assert counter["voids"] == (300, 1)
    name, corner = rows[trade.corner.device_id]
    assert name == "Corner"
    assert (corner["redeemed_offline"], corner["shortfalls"]) == ((940, 3), (100, 1))
    _, elsewhere = rows[None]  # the app's sales, the cashier's phone, the owner, expiry
    assert elsewhere["cards_sold"] == (1500, 2)
    assert elsewhere["redeemed_online"] == (250, 2)
    assert (elsewhere["refunds"], elsewhere["breakage"]) == ((40, 1), (760, 1))


def test_by_branch_a_till_counts_at_its_branch(trade):
    rows = rows_by_key(trade, "branch")
    assert set(rows) == {trade.branch_id, None}
    name, branch = rows[trade.branch_id]
    assert name == "Station Road"
    assert (branch["redeemed_online"], branch["redeemed_offline"]) == ((640, 2), (0, 0))


def test_by_cashier_the_person_signed_in_at_the_till(trade):
    rows = rows_by_key(trade, "cashier")
    cashier, owner = trade.shop.cashier, trade.shop.owner
    assert set(rows) == {cashier.id, owner.id, None}
    name, theirs = rows[cashier.id]
    assert name == cashier.email  # no till name set for them: their email
    assert theirs["redeemed_online"] == (890, 4)  # the till's two, their phone's two
    assert theirs["voids"] == (300, 1)
    assert rows[owner.id][1]["refunds"] == (40, 1)


def test_a_range_with_nothing_in_it_is_all_zeros(trade):
    path = f"/api/v1/businesses/{trade.shop.business_id}/reports"
    body = trade.shop.owner.get(path, params={"from": "2020-01-01"}).json()
    assert (body["from"], body["to"], body["rows"]) == ("2020-01-01", "2020-01-01", [])
    assert set(figures(body["totals"]).values()) == {(0, 0)}
    assert body["liability_opening"]["minor"] == body["liability_closing"]["minor"] == 0


@pytest.mark.parametrize(
    ("params", "says"),
    [
        ({"from": "2026-11-02", "to": "2026-11-01"}, "ends (2026-11-01) before it starts"),
        ({"from": "2024-01-01", "to": "2025-12-31"}, "at most 366 days"),
        ({"tz": "Mars/Olympus_Mons"}, "no time zone 'Mars/Olympus_Mons'"),
        ({"tz": "Europe"}, "no time zone 'Europe'"),  # a folder of zones, not a zone
        ({"tz": "../../etc/passwd"}, "no time zone"),
        ({"tz": "localtime"}, "no time zone 'localtime'"),  # the host's zone, not a zone
        ({"from": "9999-12-31", "to": "9999-12-31"}, "9999-12-31 is outside the days"),
        ({"from": "0001-01-01", "to": "0001-01-01"}, "0001-01-01 is outside the days"),
    ],
)
def test_a_range_that_cannot_be_used_is_refused_saying_why(shop, params, says):
    refused = report(shop.owner, shop.business_id, **params)
    assert refused.status_code == 422
    assert refused.json()["type"].endswith("/report-range-invalid")
    assert says in refused.json()["detail"]


@pytest.mark.parametrize(
    "params", [{"from": "yesterday"}, {"group_by": "colour"}, {"format": "xlsx"}]
)
def test_malformed_parameters_are_refused(shop, params):
    refused = report(shop.owner, shop.business_id, **params)
    assert refused.status_code == 422
    assert refused.headers["content-type"].startswith("application/problem+json")


def test_a_day_runs_midnight_to_midnight_in_the_time_zone_asked_for(trade):
    """London is an hour ahead of UTC in July: its 1 July starts at 23:00 UTC on 30 June."""
    from server.reports.service import report_range

    span = report_range(date(2026, 7, 1), None, "Europe/London")
    assert (span.start, span.end) == (
        datetime(2026, 6, 30, 23, tzinfo=UTC),
        datetime(2026, 7, 1, 23, tzinfo=UTC),
    )
    local = report(trade.shop.owner, trade.shop.business_id, tz="Pacific/Kiritimati").json()
    assert local["time_zone"] == "Pacific/Kiritimati"
    assert figures(local["totals"])["cards_sold"] == (1500, 2)


SUMMER_NIGHT = datetime(2026, 7, 14, 23, 30, tzinfo=UTC)
"""Half past midnight on 15 July in Lisbon, an hour ahead of UTC in summer."""


@pytest.fixture
def lisbon(client, sessions):
    """A shop in Lisbon whose £4.50 sale (a card bought, then redeemed at the counter) was
    made at `SUMMER_NIGHT`: the ledger has no clock, so the test dates the sale's transfers."""
    shop = open_shop(client, "Pastelaria")
    moved = shop.owner.patch(
        f"/api/v1/businesses/{shop.business_id}", {"time_zone": "Europe/Lisbon"}
    )
    assert moved.status_code == 200, moved.text
    card = buy_card(sign_up(client), shop, 1000).json()
    assert shop.redeem(450, card_id=card["id"]).status_code == 200
    with sessions() as session:
        session.execute(
            update(Transfer)
            .where(Transfer.business_id == shop.business_id)
            .values(created_at=SUMMER_NIGHT)
        )
        session.commit()
    return shop


@pytest.mark.parametrize(
    ("tz", "zone", "day_of_sale", "day_before"),
    [
        (None, "Europe/Lisbon", "2026-07-15", "2026-07-14"),  # the business's own days
        ("UTC", "UTC", "2026-07-14", "2026-07-13"),  # tz overrides them
    ],
)
def test_a_report_runs_on_the_business_days_unless_tz_says_otherwise(
    lisbon, tz, zone, day_of_sale, day_before
):
    path = f"/api/v1/businesses/{lisbon.business_id}/reports"
    params = {} if tz is None else {"tz": tz}
    sale = lisbon.owner.get(path, params={"from": day_of_sale, **params}).json()
    assert (sale["time_zone"], sale["from"]) == (zone, day_of_sale)
    assert figures(sale["totals"])["redeemed_online"] == (450, 1)
    assert sale["totals"]["takings"]["minor"] == 450
    before = lisbon.owner.get(path, params={"from": day_before, **params}).json()
    assert before["time_zone"] == zone
    assert figures(before["totals"])["redeemed_online"] == (0, 0)
    text = lisbon.owner.get(path, params={"from": day_of_sale, "format": "csv", **params}).text
    (total,) = [row for row in csv.DictReader(io.StringIO(text)) if row["row"] == "total"]
    assert total["takings"] == "4.50"  # the CSV's days are the same


@pytest.mark.parametrize(
    ("headers", "params"), [({"Accept": "text/csv"}, {}), ({}, {"format": "csv"})]
)
def test_the_report_as_csv_has_major_units_beside_the_currency(trade, headers, params):
    response = trade.shop.owner.client.get(
        f"/api/v1/businesses/{trade.shop.business_id}/reports",
        params={"from": str(TODAY - timedelta(days=1)), "to": str(TODAY), **params},
        headers={**trade.shop.owner.headers, **headers},
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8"))))
    (total,) = [row for row in rows if row["row"] == "total"]
    assert (total["currency"], total["cards_sold"], total["cards_sold_count"]) == (
        "GBP",
        "15.00",
        "2",
    )
    assert (total["breakage"], total["shortfalls"]) == ("7.60", "1.00")
    assert total["liability_closing"] == "0.30"  # the pending hold; no card holds any


def test_a_name_in_csv_never_runs_as_a_spreadsheet_formula(client, shop):
    till = Terminal(client, shop, "=HYPERLINK(1)")
    card = buy_card(sign_up(client), shop, 500).json()
    assert till.push(till.event(card_id=card["id"], amount_minor=100)) == [("applied", "")]
    text = report(shop.owner, shop.business_id, group_by="till", format="csv").text
    (row,) = [r for r in csv.DictReader(io.StringIO(text)) if r["key"] == till.device_id]
    assert row["name"] == "'=HYPERLINK(1)"


def test_a_manager_sees_the_report_and_a_cashier_does_not(client, shop):
    refused = report(shop.cashier, shop.business_id)
    assert refused.status_code == 403
    assert refused.json()["type"].endswith("/not-a-manager")
    made = shop.owner.put(
        f"/api/v1/businesses/{shop.business_id}/till-staff/{shop.cashier.id}",
        {"pin": "2580", "role": "manager", "name": "Sam"},
    )
    assert made.status_code == 200, made.text
    assert report(shop.cashier, shop.business_id).status_code == 200


def test_another_business_owner_is_refused(client, shop):
    other = open_shop(client, "Elsewhere")
    refused = report(other.owner, shop.business_id)
    assert refused.status_code == 403
    assert refused.json()["type"].endswith("/not-your-business")
