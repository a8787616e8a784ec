"""A report's subscription charges run on the report's days, as its ledger figures do: an
invoice paid at an instant counts on the day that instant falls on in the report's zone.

Two zones far from UTC on either side: whatever the hour the test runs at, in at least one
of them the payment's day is not its UTC date."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, text

from server.billing.models import Invoice
from server.billing.run import run_billing
from server.db import make_engine, make_sessionmaker
from server.migrate import upgrade
from server.wallet.models import Transfer
from tests.server.api import buy_card, sign_up

ZONES = ["Pacific/Kiritimati", "Pacific/Pago_Pago"]  # UTC+14, UTC-11


def report(shop, day: date, zone: str, **params):
    answer = shop.owner.get(
        f"/api/v1/businesses/{shop.business_id}/reports",
        params={"from": str(day), "tz": zone, **params},
    )
    assert answer.status_code == 200, answer.text
    return answer


@pytest.fixture
def paid_day(client, shop, sessions):
    """A card sold and the subscription's first invoice paid, moments apart: the report's
    day (in each zone) that the sale's ledger transfer falls on."""
    owner = shop.owner
    card = owner.put(
        f"/api/v1/businesses/{shop.business_id}/subscription/payment-card",
        {"card_number": "4242424242424242"},
    )
    assert card.status_code == 200, card.text
    assert buy_card(sign_up(client), shop, 1000).status_code == 201
    summary = run_billing(sessions, datetime.now(UTC).date(), client.app.state.gateway)
    assert summary.paid == 1
    with sessions() as session:
        sold_at = session.scalar(
            select(func.max(Transfer.created_at)).where(Transfer.business_id == shop.business_id)
        )
    assert sold_at is not None
    return lambda zone: sold_at.astimezone(ZoneInfo(zone)).date()


@pytest.mark.parametrize("zone", ZONES)
def test_subscription_charges_fall_on_the_ledgers_day_in_the_reports_zone(shop, paid_day, zone):
    day = paid_day(zone)
    on_the_day = report(shop, day, zone).json()
    assert on_the_day["totals"]["cards_sold"]["count"] == 1
    assert [c["minor"] for c in on_the_day["subscription_charges"]] == [100]
    for other in (day - timedelta(days=1), day + timedelta(days=1)):
        body = report(shop, other, zone).json()
        assert body["totals"]["cards_sold"]["count"] == 0
        assert body["subscription_charges"] == [], other


@pytest.mark.parametrize("zone", ZONES)
def test_the_csv_carries_the_charge_on_the_same_day(shop, paid_day, zone):
    day = paid_day(zone)

    def subscription_lines(on: date) -> list[dict[str, str]]:
        text = report(shop, on, zone, format="csv").text
        return [row for row in csv.DictReader(io.StringIO(text)) if row["row"] == "subscription"]

    [line] = subscription_lines(day)
    assert (line["currency"], line["subscription_charges"]) == ("GBP", "1.00")
    assert subscription_lines(day - timedelta(days=1)) == []
    assert subscription_lines(day + timedelta(days=1)) == []


def test_invoices_paid_before_the_moment_was_kept_count_on_their_date(database_url):
    """Migration 0035: an invoice paid before it keeps its `paid_on` date as noon UTC,
    that date in every zone from UTC-12 to UTC+11."""
    engine = make_engine(database_url)
    try:
        with engine.begin() as connection:
            upgrade(database_url, connection, revision="0034")
            connection.execute(
                text(
                    "INSERT INTO businesses (id, name, category, description, currency, "
                    "created_at) VALUES ('biz', 'Café', 'cafe', '', 'GBP', :now)"
                ),
                {"now": datetime.now(UTC)},
            )
            for key, paid_on in (("period:2026-11-01", date(2026, 11, 1)), ("period:next", None)):
                connection.execute(
                    text(
                        "INSERT INTO invoices (id, business_id, key, kind, issued_on, "
                        "period_start, period_end, status, currency, total_minor, paid_on, "
                        "attempts, created_at) VALUES (:id, 'biz', :key, 'period', :day, :day, "
                        ":day, :status, 'GBP', 100, :paid_on, 1, :now)"
                    ),
                    {
                        "id": key[-11:],
                        "key": key,
                        "day": date(2026, 11, 1),
                        "status": "paid" if paid_on else "open",
                        "paid_on": paid_on,
                        "now": datetime.now(UTC),
                    },
                )
        with engine.begin() as connection:
            upgrade(database_url, connection)
        with make_sessionmaker(engine)() as session:
            paid = {i.key: i.paid_at for i in session.scalars(select(Invoice))}
        assert paid == {
            "period:2026-11-01": datetime(2026, 11, 1, 12, tzinfo=UTC),
            "period:next": None,
        }
    finally:
        engine.dispose()
