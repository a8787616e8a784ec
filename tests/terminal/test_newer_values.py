"""A till older than its server: a kind or status the server added since (a new incident
kind, a plan status, a card state) does not break the page that carries it. The owner's
screen shows it in words; the pull goes through, and the till approves nothing offline on a
state it does not know (docs/sync-protocol.md, "Values newer than the till")."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from textual.widgets import DataTable, Static

from sync.client import DeviceAuth, SyncClient
from sync.engine import PushSummary, pull_changes
from sync.money import Money
from sync.tokens import id_text, new_id
from sync.wire import (
    InvoiceKind,
    InvoiceLinePublic,
    InvoicePublic,
    InvoiceStatus,
    MoneyPublic,
    NewerValue,
    PriceKind,
    PricePublic,
    SubscriptionPublic,
    SubscriptionStatus,
)
from terminal.core import catalogue
from terminal.core.headless import EXIT_UNREACHABLE, HeadlessTill
from terminal.core.kinds import Mode
from terminal.core.session import TerminalSession
from terminal.core.suspension import suspension
from terminal.core.till import Till
from tests.terminal.test_owner_limits import OwnerServer, OwnerTill, owner_tab
from tests.terminal.test_till_offline import BUSINESS, card_token, page, unused_url, voucher_token
from tests.terminal.test_vendor_forms import drawn

NOW = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)


def incident(kind: str) -> dict[str, Any]:
    return {
        "id": f"inc-{kind}",
        "kind": kind,
        "subject_id": "card0001",
        "amount_minor": 1250,
        "currency": "GBP",
        "detail": "A till sold on a card that was cloned",
        "created_at": NOW.isoformat(),
        "resolved_at": None,
        "resolution": "",
    }


def subscription(status: str, plan_kind: str) -> dict[str, Any]:
    known = SubscriptionPublic(
        business_id=id_text(BUSINESS),
        plan=PricePublic(
            code="starter",
            kind=PriceKind.PLAN,
            name="Starter",
            price=MoneyPublic.of(Money.of(100, "GBP")),
            max_products=10,
        ),
        products=3,
        status=SubscriptionStatus.ACTIVE,
        hibernating=False,
        period_start=date(2026, 11, 1),
        period_end=date(2026, 12, 1),
        extra_branches=0,
        monthly=MoneyPublic.of(Money.of(100, "GBP")),
        pending_plan=None,
        pending_on=None,
        grace_until=None,
        payment_card=None,
    ).model_dump(mode="json")
    known["status"] = status
    known["plan"]["kind"] = plan_kind
    return known


def invoice(invoice_id: str, kind: str, status: str, issued: date) -> dict[str, Any]:
    known = InvoicePublic(
        id=invoice_id,
        kind=InvoiceKind.PERIOD,
        status=InvoiceStatus.OPEN,
        issued_on=issued,
        period_start=issued,
        period_end=issued + timedelta(days=30),
        total=MoneyPublic.of(Money.of(100, "GBP")),
        paid_on=None,
        receipt=None,
        attempts=0,
        next_attempt_on=None,
        lines=[
            InvoiceLinePublic(
                description="Starter",
                amount=MoneyPublic.of(Money.of(100, "GBP")),
                base=MoneyPublic.of(Money.of(100, "GBP")),
                rate="1",
                rate_date=None,
            )
        ],
    ).model_dump(mode="json")
    return {**known, "kind": kind, "status": status}


class NewerOwnerServer(OwnerServer):
    """The owner's calls of a server newer than the till: an incident kind, a plan status,
    a price kind, an invoice kind and status the till was built without."""

    def answer(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix(f"/api/v1/businesses/{id_text(BUSINESS)}")
        if path == "/incidents":
            return listed([incident("card_cloned"), incident("offline_overspend")])
        if path == "/subscription":
            return httpx.Response(200, json=subscription("trialing", "bundle"))
        if path == "/invoices":
            return listed(
                [
                    invoice("inv-new", "credit_note", "disputed", date(2026, 11, 20)),
                    invoice("inv-open", "period", "open", date(2026, 11, 1)),
                ]
            )
        return super().answer(request)


def listed(items: list[dict[str, Any]]) -> httpx.Response:
    return httpx.Response(200, json={"items": items, "total": len(items), "next_offset": None})


@pytest.fixture
def newer(tmp_path, key, monkeypatch):
    till = OwnerTill(tmp_path, key, monkeypatch)
    till.server = NewerOwnerServer()
    monkeypatch.setattr(till.app.session, "_client", till.server.client)
    yield till
    till.close()


@pytest.mark.anyio
async def test_the_owner_screen_shows_what_a_newer_server_added_in_words(newer):
    async with newer.app.run_test(size=(120, 40)) as pilot:
        owner = await owner_tab(pilot, newer)
        incidents = owner.query_one("#incident-table", DataTable)
        assert [drawn(incidents.get_row_at(row)[0]) for row in range(2)] == [
            "card cloned",
            "offline overspend",
        ]
        billing = str(owner.query_one("#billing", Static).render())
        assert "Billing: Starter, £1.00 a month, 3 of 10 products, trialing." in billing
        assert "credit note" in billing
        assert "disputed" in billing
        # Only the invoice in a status the till knows to be unpaid is offered for payment.
        assert owner.unpaid == ["inv-open"]


# -- what the till pulls -------------------------------------------------------------------


def newer_page(key, card_id: str, voucher_id: str) -> dict[str, Any]:
    """A pulled page with a card, a voucher and the plan, each in a state added after this
    till was built."""
    document: dict[str, Any] = page(key).model_dump(mode="json")
    expires = (datetime.now(UTC) + timedelta(days=365)).isoformat()
    document["cards"] = [
        {
            "id": card_id,
            "currency": "GBP",
            "balance_minor": 2000,
            "status": "frozen_for_audit",
            "expires_at": expires,
            "version": 1,
        }
    ]
    document["vouchers"] = [
        {
            "id": voucher_id,
            "deal_id": "deal0001",
            "status": "refunded",
            "face_minor": 800,
            "currency": "GBP",
            "expires_at": expires,
            "version": 1,
        }
    ]
    document["plan"] = {
        "name": "Starter",
        "max_products": 10,
        "products": 3,
        "status": "trialing",
        "hibernating": False,
        "pending_plan": None,
    }
    return document


@pytest.fixture
def pulled(store, key):
    """The till's store after pulling `newer_page` from a server through the real client."""
    card, voucher = new_id(), new_id()
    document = newer_page(key, id_text(card), id_text(voucher))
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json=document))
    auth = DeviceAuth("dev", "secret")
    with SyncClient(unused_url(), auth=auth, http=httpx.Client(transport=transport)) as client:
        pull_changes(client, store, PushSummary())
    return card, voucher


@pytest.fixture
def offline_till(store):
    with SyncClient(unused_url(), auth=DeviceAuth("dev", "secret"), timeout=0.5) as client:
        yield Till(store, client)


def test_a_card_in_a_newer_state_is_pulled_and_not_approved_offline(
    store, key, pulled, offline_till
):
    card, _ = pulled
    cached = store.card(id_text(card))
    assert cached is not None
    assert cached.status == NewerValue("frozen_for_audit")
    verdict = offline_till.redeem(card_token(key, card), 500)
    assert (verdict.approved, verdict.mode, verdict.undecided) == (False, Mode.OFFLINE, True)
    assert "the server last said this card is frozen for audit" in verdict.reason
    assert store.pending_count() == 0


def test_a_voucher_in_a_newer_state_is_not_accepted_offline(store, key, pulled, offline_till):
    _, voucher = pulled
    verdict = offline_till.redeem_voucher(voucher_token(key, voucher))
    assert (verdict.approved, verdict.mode, verdict.undecided) == (False, Mode.OFFLINE, True)
    assert "the server last said this voucher is refunded" in verdict.reason
    assert store.voucher_used(id_text(voucher))  # the scan screen does not offer it either
    assert store.pending_count() == 0


def test_a_newer_plan_status_is_kept_shown_and_is_no_suspension(store, pulled):
    plan = catalogue.plan(store)
    assert plan is not None
    assert plan.status == NewerValue("trialing")
    assert suspension(store) is None


@pytest.fixture
def headless(store):
    session = TerminalSession(store.path, timeout=0.5)  # its server does not answer
    yield HeadlessTill(session)
    session.close()


def test_balance_calls_a_voucher_in_a_newer_state_undecided_as_redeem_does(key, pulled, headless):
    _, voucher = pulled
    answer = headless.balance(voucher_token(key, voucher))
    assert answer.exit_code == EXIT_UNREACHABLE  # `redeem`'s code for undecided, not declined
    assert "the server last said it is refunded (as of the last sync" in answer.words
    assert "cannot tell whether the voucher can be used" in answer.words
    assert "already used" not in answer.words
    document = answer.document
    assert (document["status"], document["used"], document["usable"]) == ("refunded", None, False)


def test_balance_calls_a_card_in_a_newer_state_undecided_as_redeem_does(key, pulled, headless):
    card, _ = pulled
    answer = headless.balance(card_token(key, card))
    assert answer.exit_code == EXIT_UNREACHABLE
    assert "the server last said it is frozen for audit" in answer.words
    assert (answer.document["status"], answer.document["usable"]) == ("frozen_for_audit", False)
