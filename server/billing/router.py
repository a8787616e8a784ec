"""The billing API: the price list, a business's subscription, its invoices and notices, and
the admin's exchange rates. Owners only (admins too), each for their own business."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

from fastapi import APIRouter, Request, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from sync.money import Money
from sync.wire import PriceKind

from ..db import SessionDep, count_of
from ..deps import (
    PROBLEM_RESPONSES,
    CurrentAdmin,
    CurrentUser,
    IdempotencyKey,
    OwnedBusiness,
    owned,
    reply,
)
from ..directory.models import Business
from ..directory.schemas import MoneyPublic
from ..errors import PaymentDeclined
from ..pages import Paging
from ..wallet.idempotency import Outcome, idempotent
from . import service, testclock
from .clock import business_today, today
from .models import BillingNotice, Invoice, PriceItem, Subscription, TestClock
from .run import RunSummary, keep_card
from .schemas import (
    InvoiceLinePublic,
    InvoicePage,
    InvoicePayment,
    InvoicePublic,
    NoticePage,
    NoticePublic,
    PaymentCard,
    PlanChange,
    PricePublic,
    RateIn,
    RatePublic,
    SubscriptionPublic,
    TestClockAdvance,
    TestClockAdvanced,
    TestClockPublic,
)
from .service import subscription_of
from .subscriptions import (
    TIER_GRACE,
    change_plan,
    hibernate,
    monthly_price,
    prices,
    product_count,
    shown_status,
    wake,
)

router = APIRouter(tags=["billing"])


def _price(item: PriceItem) -> PricePublic:
    return PricePublic(
        code=item.code,
        kind=item.kind,
        name=item.name,
        price=MoneyPublic.of(Money.of(item.price_minor, item.currency)),
        max_products=item.max_products,
    )


def _public(session: SessionDep, subscription: Subscription) -> SubscriptionPublic:
    plan = prices(session)[subscription.plan_code]
    card = subscription.payment_card_last4
    pending_on = subscription.pending_since + TIER_GRACE if subscription.pending_since else None
    return SubscriptionPublic(
        business_id=subscription.business_id,
        plan=_price(plan),
        products=product_count(session, subscription.business_id),
        status=shown_status(session, subscription),
        hibernating=subscription.hibernating,
        period_start=subscription.period_start,
        period_end=subscription.period_end,
        extra_branches=subscription.extra_branches,
        monthly=MoneyPublic.of(monthly_price(session, subscription)),
        pending_plan=subscription.pending_plan,
        pending_on=pending_on,
        grace_until=subscription.grace_until,
        payment_card=f"…{card}" if card else None,
    )


@router.get("/plans", summary="The price list: plans and add-ons, a month each")
def price_list(session: SessionDep) -> list[PricePublic]:
    items = sorted(
        prices(session).values(), key=lambda p: (p.kind != PriceKind.PLAN, p.rank, p.code)
    )
    return [_price(item) for item in items]


@router.get("/businesses/{business_id}/subscription", summary="Your plan and how it stands")
def get_subscription(business: OwnedBusiness, session: SessionDep) -> SubscriptionPublic:
    return _public(session, subscription_of(session, business.id))


@router.put(
    "/businesses/{business_id}/subscription/plan",
    summary="Change plan now, prorated by day (the next run invoices an upgrade; a downgrade "
    "is credited on the next invoice)",
    responses=PROBLEM_RESPONSES,
)
def put_plan(
    business: OwnedBusiness, body: PlanChange, request: Request, session: SessionDep
) -> SubscriptionPublic:
    subscription = subscription_of(session, business.id, locked=True)
    on = business_today(request, session, business.id)
    change_plan(session, subscription, body.plan, on, "your choice")
    session.commit()
    return _public(session, subscription)


@router.post(
    "/businesses/{business_id}/subscription/hibernate",
    summary="Pause for a small fee",
    responses=PROBLEM_RESPONSES,
)
def post_hibernate(
    business: OwnedBusiness, request: Request, session: SessionDep
) -> SubscriptionPublic:
    return _act(hibernate, business, request, session)


@router.post(
    "/businesses/{business_id}/subscription/wake",
    summary="Wake from hibernation",
    responses=PROBLEM_RESPONSES,
)
def post_wake(business: OwnedBusiness, request: Request, session: SessionDep) -> SubscriptionPublic:
    return _act(wake, business, request, session)


def _act(
    action: Callable[[Session, Subscription, date], object],
    business: Business,
    request: Request,
    session: SessionDep,
) -> SubscriptionPublic:
    subscription = subscription_of(session, business.id, locked=True)
    action(session, subscription, business_today(request, session, business.id))
    session.commit()
    return _public(session, subscription)


@router.put(
    "/businesses/{business_id}/subscription/payment-card",
    summary="The card invoices are charged to",
)
def put_card(
    business: OwnedBusiness, body: PaymentCard, request: Request, session: SessionDep
) -> SubscriptionPublic:
    subscription = subscription_of(session, business.id, locked=True)
    keep_card(subscription, request.app.state.gateway, body.card_number)
    session.commit()
    return _public(session, subscription)


@router.get("/businesses/{business_id}/invoices", summary="Your invoices, newest first")
def list_invoices(business: OwnedBusiness, session: SessionDep, paging: Paging) -> InvoicePage:
    query = select(Invoice).where(Invoice.business_id == business.id)
    found = session.scalars(
        query.order_by(Invoice.issued_on.desc(), Invoice.created_at.desc(), Invoice.id)
        .offset(paging.offset)
        .limit(paging.limit)
    )
    return InvoicePage.of(
        [_invoice(invoice) for invoice in found],
        count_of(session, query),
        paging.offset,
        paging.limit,
    )


@router.post(
    "/businesses/{business_id}/invoices/{invoice_id}/pay",
    response_model=InvoicePublic,
    responses=PROBLEM_RESPONSES,
    summary="Pay an open (or uncollectible) invoice; a suspended business is restored at once",
    description="Takes an `Idempotency-Key`: a retry with the same key gets the first answer "
    "(paid, or declined) and charges once.",
)
def pay_invoice(
    business: OwnedBusiness,
    invoice_id: str,
    request: Request,
    user: CurrentUser,
    session: SessionDep,
    body: InvoicePayment | None = None,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    paying = body or InvoicePayment()

    def operation() -> Outcome:
        subscription = subscription_of(session, business.id, locked=True)
        invoice = owned(session, Invoice, invoice_id, business.id, kind="invoice", noun="invoice")
        try:
            service.pay_invoice(
                session, subscription, invoice, paying.card_number,
                business_today(request, session, business.id),
                request.app.state.gateway,
            )  # fmt: skip
        except PaymentDeclined as declined:
            # The answer, committed with the declined attempt it records (a refusal would
            # roll the attempt back).
            return declined.status, declined.body()
        return 200, _invoice(invoice).model_dump(mode="json")

    request_body = {"path": request.url.path, **paying.model_dump()}
    return reply(idempotent(session, user.id, idempotency_key, request_body, operation))


@router.post(
    "/businesses/{business_id}/invoices/{invoice_id}/void",
    summary="Cancel an unpaid invoice (admins); a business it held suspended is restored",
)
def void_invoice(
    business_id: str, invoice_id: str, request: Request, user: CurrentAdmin, session: SessionDep
) -> InvoicePublic:
    subscription = subscription_of(session, business_id, locked=True)
    invoice = owned(session, Invoice, invoice_id, business_id, kind="invoice", noun="invoice")
    service.void_invoice(
        session, subscription, invoice, business_today(request, session, business_id)
    )
    session.commit()
    return _invoice(invoice)


@router.get("/businesses/{business_id}/billing-notices", summary="What billing told you")
def list_notices(business: OwnedBusiness, session: SessionDep, paging: Paging) -> NoticePage:
    query = select(BillingNotice).where(BillingNotice.business_id == business.id)
    found = session.scalars(
        query.order_by(BillingNotice.id.desc()).offset(paging.offset).limit(paging.limit)
    )
    return NoticePage.of(
        [NoticePublic(day=n.day, kind=n.kind, message=n.message) for n in found],
        count_of(session, query),
        paging.offset,
        paging.limit,
    )


@router.post("/admin/exchange-rates", summary="Store dated exchange rates (admins)")
def post_rates(body: list[RateIn], user: CurrentAdmin, session: SessionDep) -> list[RatePublic]:
    saved = service.store_rates(session, [(r.currency, r.rate, r.valid_from) for r in body])
    session.commit()
    return [
        RatePublic(
            currency=rate.currency,
            base_currency=rate.base_currency,
            rate=rate.rate,
            valid_from=rate.valid_from,
        )
        for rate in saved
    ]


def _invoice(invoice: Invoice) -> InvoicePublic:
    return InvoicePublic(
        id=invoice.id,
        kind=invoice.kind,
        status=invoice.status,
        issued_on=invoice.issued_on,
        period_start=invoice.period_start,
        period_end=invoice.period_end,
        total=MoneyPublic.of(Money.of(invoice.total_minor, invoice.currency)),
        paid_on=invoice.paid_on,
        receipt=invoice.charge_reference,
        attempts=invoice.attempts,
        next_attempt_on=invoice.next_attempt_on,
        lines=[
            InvoiceLinePublic(
                description=line.description,
                amount=MoneyPublic.of(Money.of(line.amount_minor, invoice.currency)),
                base=MoneyPublic.of(Money.of(line.base_minor, line.base_currency)),
                rate=line.rate,
                rate_date=line.rate_date,
            )
            for line in invoice.lines
        ],
    )


def _clock(clock: TestClock, real_today: date) -> TestClockPublic:
    return TestClockPublic(business_id=clock.business_id, today=clock.today, real_today=real_today)


def _advanced(clock: TestClock, real_today: date, summary: RunSummary) -> TestClockAdvanced:
    return TestClockAdvanced(
        **_clock(clock, real_today).model_dump(),
        invoices=summary.invoices,
        paid=summary.paid,
        failed=summary.failed,
        suspended=summary.suspended,
        plan_changes=summary.plan_changes,
    )


@router.get(
    "/businesses/{business_id}/test-clock",
    summary="Your business's test clock (sandbox servers only); started at today's date",
)
def get_test_clock(
    business: OwnedBusiness, request: Request, session: SessionDep
) -> TestClockPublic:
    sandbox = bool(request.app.state.settings.sandbox)
    clock = testclock.clock_of(session, business.id, sandbox, today(request))
    session.commit()
    return _clock(clock, today(request))


@router.post(
    "/businesses/{business_id}/test-clock/advance",
    summary="Move your business's test clock forward, running its billing for each day",
    description="Sandbox servers only (403 `sandbox-only` elsewhere). Every day passed runs "
    "the business's billing for that day: new periods and their invoices, the tier grace, "
    "payment retries and suspension. Plan changes, branches, products, hibernation and "
    "payments made through the API then happen on the clock's date. Forward only (409 "
    "`test-clock-backwards`), at most 400 days a call.",
    responses=PROBLEM_RESPONSES,
)
def advance_test_clock(
    business: OwnedBusiness,
    body: TestClockAdvance,
    request: Request,
    session: SessionDep,
) -> TestClockAdvanced:
    sandbox = bool(request.app.state.settings.sandbox)
    clock = testclock.clock_of(session, business.id, sandbox, today(request))
    to = body.to if body.to is not None else clock.today + timedelta(days=body.days or 0)
    summary = testclock.advance(session, clock, to, request.app.state.gateway)
    session.commit()
    return _advanced(clock, today(request), summary)
