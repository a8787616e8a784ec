"""The billing API: the price list, a business's subscription, its invoices and notices, and
the admin's exchange rates. Owners only (admins too), each for their own business."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from fastapi import APIRouter, Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from sync.money import Money

from ..accounts.models import Role
from ..db import SessionDep
from ..deps import CurrentUser, business_for, owned, require_role
from ..directory.schemas import MoneyPublic
from ..problems import Problem
from .clock import today
from .models import BillingNotice, Invoice, InvoiceStatus, PriceItem, PriceKind, Subscription
from .rates import RateError, parse_rate, save_rate
from .run import charge_invoice, keep_card, void
from .schemas import (
    InvoiceLinePublic,
    InvoicePayment,
    InvoicePublic,
    NoticePublic,
    PaymentCard,
    PlanChange,
    PricePublic,
    RateIn,
    RatePublic,
    SubscriptionPublic,
)
from .subscriptions import (
    TIER_GRACE,
    base_currency,
    change_plan,
    hibernate,
    monthly_price,
    prices,
    product_count,
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


def _subscription(session: SessionDep, business_id: str) -> Subscription:
    found = session.get(Subscription, business_id)
    if found is None:
        raise Problem(
            404,
            "no-subscription",
            "No subscription",
            "This business has no subscription (it was listed before billing began).",
        )
    return found


def _public(session: SessionDep, subscription: Subscription) -> SubscriptionPublic:
    plan = prices(session)[subscription.plan_code]
    card = subscription.payment_card_last4
    pending_on = subscription.pending_since + TIER_GRACE if subscription.pending_since else None
    return SubscriptionPublic(
        business_id=subscription.business_id,
        plan=_price(plan),
        products=product_count(session, subscription.business_id),
        status=subscription.status,
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
def get_subscription(
    business_id: str, user: CurrentUser, session: SessionDep
) -> SubscriptionPublic:
    business = business_for(session, user, business_id, staff=False)
    return _public(session, _subscription(session, business.id))


@router.put(
    "/businesses/{business_id}/subscription/plan",
    summary="Change plan now, prorated by day (upgrade charged, downgrade credited)",
)
def put_plan(
    business_id: str, body: PlanChange, request: Request, user: CurrentUser, session: SessionDep
) -> SubscriptionPublic:
    business = business_for(session, user, business_id, staff=False)
    subscription = _locked(session, business.id)
    change_plan(session, subscription, body.plan, today(request), "your choice")
    session.commit()
    return _public(session, subscription)


@router.post("/businesses/{business_id}/subscription/hibernate", summary="Pause for a small fee")
def post_hibernate(
    business_id: str, request: Request, user: CurrentUser, session: SessionDep
) -> SubscriptionPublic:
    return _act(hibernate, business_id, request, user, session)


@router.post("/businesses/{business_id}/subscription/wake", summary="Wake from hibernation")
def post_wake(
    business_id: str, request: Request, user: CurrentUser, session: SessionDep
) -> SubscriptionPublic:
    return _act(wake, business_id, request, user, session)


def _act(
    action: Callable[[Session, Subscription, date], object],
    business_id: str,
    request: Request,
    user: CurrentUser,
    session: SessionDep,
) -> SubscriptionPublic:
    business = business_for(session, user, business_id, staff=False)
    subscription = _locked(session, business.id)
    action(session, subscription, today(request))
    session.commit()
    return _public(session, subscription)


@router.put(
    "/businesses/{business_id}/subscription/payment-card",
    summary="The card invoices are charged to",
)
def put_card(
    business_id: str, body: PaymentCard, request: Request, user: CurrentUser, session: SessionDep
) -> SubscriptionPublic:
    business = business_for(session, user, business_id, staff=False)
    subscription = _locked(session, business.id)
    keep_card(subscription, request.app.state.gateway, body.card_number)
    session.commit()
    return _public(session, subscription)


@router.get("/businesses/{business_id}/invoices", summary="Your invoices, newest first")
def list_invoices(business_id: str, user: CurrentUser, session: SessionDep) -> list[InvoicePublic]:
    business = business_for(session, user, business_id, staff=False)
    found = session.scalars(
        select(Invoice)
        .where(Invoice.business_id == business.id)
        .order_by(Invoice.issued_on.desc(), Invoice.created_at.desc())
    )
    return [_invoice(invoice) for invoice in found]


@router.post(
    "/businesses/{business_id}/invoices/{invoice_id}/pay",
    summary="Pay an open (or uncollectible) invoice; a suspended business is restored at once",
)
def pay_invoice(
    business_id: str,
    invoice_id: str,
    request: Request,
    user: CurrentUser,
    session: SessionDep,
    body: InvoicePayment | None = None,
) -> InvoicePublic:
    return _pay(business_id, invoice_id, request, user, session, body or InvoicePayment())


def _pay(
    business_id: str,
    invoice_id: str,
    request: Request,
    user: CurrentUser,
    session: SessionDep,
    body: InvoicePayment,
) -> InvoicePublic:
    business = business_for(session, user, business_id, staff=False)
    subscription = _locked(session, business.id)
    invoice = _unpaid(session, business.id, invoice_id, "invoice-not-payable", "paid")
    if body.card_number:
        keep_card(subscription, request.app.state.gateway, body.card_number)
    paid = charge_invoice(
        session, subscription, invoice, today(request), request.app.state.gateway,
        subscription.payment_card_token,
    )  # fmt: skip
    session.commit()
    if not paid:
        raise Problem(
            402,
            "payment-declined",
            "Payment declined",
            "The card was declined: see the billing notices, and try another card.",
        )
    return _invoice(invoice)


@router.post(
    "/businesses/{business_id}/invoices/{invoice_id}/void",
    summary="Cancel an unpaid invoice (admins); a business it held suspended is restored",
)
def void_invoice(
    business_id: str, invoice_id: str, request: Request, user: CurrentUser, session: SessionDep
) -> InvoicePublic:
    require_role(user, Role.ADMIN)
    subscription = _locked(session, business_id)
    invoice = _unpaid(session, business_id, invoice_id, "invoice-not-voidable", "voided")
    void(session, subscription, invoice, today(request))
    session.commit()
    return _invoice(invoice)


@router.get("/businesses/{business_id}/billing-notices", summary="What billing told you")
def list_notices(business_id: str, user: CurrentUser, session: SessionDep) -> list[NoticePublic]:
    business = business_for(session, user, business_id, staff=False)
    found = session.scalars(
        select(BillingNotice)
        .where(BillingNotice.business_id == business.id)
        .order_by(BillingNotice.id.desc())
        .limit(200)
    )
    return [NoticePublic(day=n.day, kind=n.kind, message=n.message) for n in found]


@router.post("/admin/exchange-rates", summary="Store dated exchange rates (admins)")
def post_rates(body: list[RateIn], user: CurrentUser, session: SessionDep) -> list[RatePublic]:
    require_role(user, Role.ADMIN)
    base = base_currency(session)
    stored = []
    try:
        for rate in body:
            saved = save_rate(
                session, rate.currency.upper(), base, parse_rate(rate.rate), rate.valid_from
            )
            stored.append(
                RatePublic(
                    currency=saved.currency,
                    base_currency=saved.base_currency,
                    rate=saved.rate,
                    valid_from=saved.valid_from,
                )
            )
    except RateError as exc:
        session.rollback()
        raise Problem(422, "invalid-rate", "Rate not stored", str(exc)) from None
    session.commit()
    return stored


def _unpaid(
    session: SessionDep, business_id: str, invoice_id: str, kind: str, done: str
) -> Invoice:
    """The business's invoice, if it is still unpaid (open or uncollectible)."""
    invoice = owned(session, Invoice, invoice_id, business_id, kind="invoice", noun="invoice")
    if invoice.status not in {InvoiceStatus.OPEN, InvoiceStatus.UNCOLLECTIBLE}:
        raise Problem(
            409,
            kind,
            f"This invoice cannot be {done}",
            f"This invoice is {invoice.status}: only open or uncollectible ones are {done}.",
        )
    return invoice


def _locked(session: SessionDep, business_id: str) -> Subscription:
    """The subscription, locked: billing changes and the billing run take turns."""
    found = session.scalar(
        select(Subscription).where(Subscription.business_id == business_id).with_for_update()
    )
    if found is None:
        return _subscription(session, business_id)
    return found


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
