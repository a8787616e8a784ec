"""Values newer than the reader: an `OrNewer` field read as a till reads an answer
(`SyncClient`, under `READING_ANSWERS`) keeps a value it does not know as a `NewerValue`;
the same model built or checked as the server does it takes known values only, and its
schema (the server's OpenAPI) names those alone. Closed fields fail the answer, as before."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from pydantic import BaseModel, ValidationError

from sync.client import ServerAnswerError, SyncClient
from sync.tokens import TrustList
from sync.wire import (
    READING_ANSWERS,
    CardState,
    ChangesPage,
    IncidentKind,
    IncidentPublic,
    InvoicePublic,
    InvoiceStatus,
    NewerValue,
    PlanState,
    PricePublic,
    StaffRole,
    StaffState,
    SubscriptionPublic,
    SubscriptionStatus,
    TillStaffPublic,
    VoucherPublic,
    VoucherState,
    or_newer,
)

MONEY = {"minor": 100, "currency": "GBP", "text": "£1.00"}
PRICE = {"code": "starter", "kind": "plan", "name": "Starter", "price": MONEY, "max_products": 10}
# One answer of each model with an open field, as a server sends it.
ANSWERS: dict[type[BaseModel], dict[str, Any]] = {
    IncidentPublic: {
        "id": "i1",
        "kind": "offline_overspend",
        "subject_id": "card1",
        "amount_minor": 0,
        "currency": "GBP",
        "detail": "",
        "created_at": "2026-11-30T10:00:00+00:00",
        "resolved_at": None,
        "resolution": "",
    },
    PricePublic: PRICE,
    SubscriptionPublic: {
        "business_id": "b1",
        "plan": PRICE,
        "products": 1,
        "status": "active",
        "hibernating": False,
        "period_start": "2026-11-01",
        "period_end": "2026-12-01",
        "extra_branches": 0,
        "monthly": MONEY,
        "pending_plan": None,
        "pending_on": None,
        "grace_until": None,
        "payment_card": None,
    },
    InvoicePublic: {
        "id": "inv1",
        "kind": "period",
        "status": "open",
        "issued_on": "2026-11-01",
        "period_start": "2026-11-01",
        "period_end": "2026-12-01",
        "total": MONEY,
        "paid_on": None,
        "receipt": None,
        "attempts": 0,
        "next_attempt_on": None,
        "lines": [],
    },
    PlanState: {
        "name": "Starter",
        "max_products": 10,
        "products": 1,
        "status": "active",
        "hibernating": False,
        "pending_plan": None,
    },
    CardState: {
        "id": "card1",
        "currency": "GBP",
        "balance_minor": 100,
        "status": "active",
        "expires_at": "2027-11-30T10:00:00+00:00",
        "version": 1,
    },
    VoucherState: {
        "id": "v1",
        "deal_id": "d1",
        "status": "issued",
        "face_minor": 100,
        "currency": "GBP",
        "expires_at": "2027-11-30T10:00:00+00:00",
        "version": 1,
    },
    VoucherPublic: {
        "id": "v1",
        "deal_id": "d1",
        "business_id": "b1",
        "status": "issued",
        "face_value": MONEY,
        "expires_at": "2027-11-30T10:00:00+00:00",
        "redeemed_at": None,
    },
    TillStaffPublic: {
        "id": "u1",
        "email": "sam@example.com",
        "name": "Sam",
        "role": "cashier",
        "has_pin": True,
    },
    StaffState: {"id": "u1", "name": "Sam", "role": "cashier", "pin_hash": "x"},
}
# Every open field: the sets a server grows that a till only shows, or acts on only for
# one value it knows (docs/sync-protocol.md, "Values newer than the till").
OPEN_FIELDS = [
    (IncidentPublic, "kind"),
    (PricePublic, "kind"),
    (SubscriptionPublic, "status"),
    (InvoicePublic, "kind"),
    (InvoicePublic, "status"),
    (PlanState, "status"),
    (CardState, "status"),
    (VoucherState, "status"),
    (VoucherPublic, "status"),
    (TillStaffPublic, "role"),
    (StaffState, "role"),
]


@pytest.mark.parametrize(("model", "field"), OPEN_FIELDS)
def test_a_reader_keeps_a_value_it_does_not_know(model, field):
    answer = {**ANSWERS[model], field: "added_later"}
    known = model.model_validate(ANSWERS[model], context=READING_ANSWERS)
    assert not isinstance(getattr(known, field), NewerValue)  # a known value: the enum's
    newer = model.model_validate(answer, context=READING_ANSWERS)
    assert getattr(newer, field) == NewerValue("added_later")
    assert getattr(newer, field).words == "added later"
    # Written again as it came (the till keeps the plan as pulled, and reads it back).
    again = model.model_validate_json(newer.model_dump_json(), context=READING_ANSWERS)
    assert getattr(again, field) == NewerValue("added_later")


@pytest.mark.parametrize(("model", "field"), OPEN_FIELDS)
def test_the_server_side_takes_known_values_only(model, field):
    answer = {**ANSWERS[model], field: "added_later"}
    with pytest.raises(ValidationError):
        model.model_validate(answer)
    with pytest.raises(ValidationError):
        model.model_validate_json(json.dumps(answer))
    with pytest.raises(ValidationError):
        model(**answer)
    # What the server's OpenAPI shows: the enum, nothing else (a null at most).
    for mode in ("validation", "serialization"):
        schema = model.model_json_schema(mode=mode)
        shown = schema["properties"][field]
        options = shown.get("anyOf", [shown])
        refs = [option["$ref"] for option in options if option != {"type": "null"}]
        (ref,) = refs
        assert set(schema["$defs"][ref.rsplit("/", 1)[-1]]) >= {"enum"}


def test_a_known_value_is_the_enums_member():
    incident = IncidentPublic.model_validate(ANSWERS[IncidentPublic], context=READING_ANSWERS)
    assert incident.kind is IncidentKind.OFFLINE_OVERSPEND
    invoice = InvoicePublic.model_validate(ANSWERS[InvoicePublic], context=READING_ANSWERS)
    assert invoice.status is InvoiceStatus.OPEN


def test_or_newer_reads_what_a_till_stored():
    assert or_newer(SubscriptionStatus, "grace") is SubscriptionStatus.GRACE
    assert or_newer(SubscriptionStatus, "trialing") == NewerValue("trialing")


# -- through the client -----------------------------------------------------------------


def client_answering(document: Any) -> SyncClient:
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json=document))
    return SyncClient("http://till.test", http=httpx.Client(transport=transport))


def test_the_client_reads_an_owner_page_with_an_incident_kind_added_later():
    items = [{**ANSWERS[IncidentPublic], "kind": "card_cloned"}, ANSWERS[IncidentPublic]]
    page = {"items": items, "total": 2, "next_offset": None}
    with client_answering(page) as client:
        incidents = client.incidents("b1", "token")
    assert [i.kind for i in incidents] == [
        NewerValue("card_cloned"),
        IncidentKind.OFFLINE_OVERSPEND,
    ]


def pulled_page(**changes: Any) -> dict[str, Any]:
    trust = TrustList(()).to_json()
    limits = {
        "max_single_minor": 1,
        "max_per_card_minor": 1,
        "max_unsynced_minor": 1,
        "max_cache_age_seconds": 3600,
        "stale_cache_max_minor": 0,
    }
    empty: dict[str, list[Any]] = {
        "cards": [],
        "vouchers": [],
        "deals": [],
        "products": [],
        "branches": [],
    }
    return {
        "cursor": 5,
        "more": False,
        **empty,
        "revoked_token_ids": [],
        "trust_list": trust,
        "offline_limits": limits,
        **changes,
    }


def test_the_client_reads_a_pull_whose_plan_has_a_status_added_later():
    plan = {**ANSWERS[PlanState], "status": "trialing"}
    with client_answering(pulled_page(plan=plan)) as client:
        page = client.pull(0)
    assert isinstance(page, ChangesPage)
    assert page.plan is not None
    assert page.plan.status == NewerValue("trialing")


def test_the_client_reads_a_pull_whose_staff_has_a_role_added_later():
    """Open: one person's role a newer server added does not fail the page, nor anyone
    else's; the till keeps it and signs no one in with it (tests/terminal/test_staff.py)."""
    staff = [
        {"id": "u1", "name": "Sam", "role": "auditor", "pin_hash": "x"},
        {"id": "u2", "name": "Alex", "role": "manager", "pin_hash": "y"},
    ]
    with client_answering(pulled_page(staff=staff)) as client:
        page = client.pull(0)
    assert [(s.name, s.role) for s in page.staff] == [
        ("Sam", NewerValue("auditor")),
        ("Alex", StaffRole.MANAGER),
    ]


def test_an_event_status_added_later_still_fails_the_push():
    """Closed: the till keeps or drops each event by it, so it must know it."""
    answer = {"results": [{"id": "e1", "status": "parked", "detail": "", "incident": ""}]}
    with client_answering(answer) as client, pytest.raises(ServerAnswerError):
        client.push([])
