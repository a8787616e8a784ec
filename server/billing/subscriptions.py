"""What happens to a subscription between billing runs: it starts, changes plan, gains or loses
branches, crosses a product threshold, hibernates and wakes. Each change that moves the
monthly price leaves a prorated `Adjustment` for the run to invoice; each thing the vendor
should know leaves a notice. And what a subscription's standing allows (sell, list, edit)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from sync.money import Money
from sync.wire import PriceKind, SubscriptionStatus

from ..directory.models import Branch, Business, Product
from ..errors import (
    AlreadyHibernating,
    BusinessClosed,
    BusinessNotSelling,
    BusinessSuspended,
    NotHibernating,
    PlanTooSmall,
    UnknownPlan,
)
from .models import Adjustment, AdjustmentKind, BillingNotice, PriceItem, Subscription
from .proration import add_month, days_left, period_days, prorate

__all__ = [
    "TIER_GRACE",
    "Standing",
    "base_currency",
    "branches_changed",
    "change_plan",
    "hibernate",
    "hidden_businesses",
    "listing_changed",
    "monthly_price",
    "notify",
    "plan_for",
    "products_changed",
    "require_editing",
    "require_open",
    "require_selling",
    "shown_status",
    "standing",
    "start",
    "wake",
]

TIER_GRACE = timedelta(days=7)  # product count over (or back under) a tier: this long to settle
BRANCH = "extra_branch"
HIBERNATE = "hibernate"


# -- the price list ----------------------------------------------------------------------


def prices(session: Session) -> dict[str, PriceItem]:
    cached: dict[str, PriceItem] | None = session.info.get("billing_prices")
    if cached is None or any(item not in session for item in cached.values()):
        cached = {item.code: item for item in session.scalars(select(PriceItem))}
        session.info["billing_prices"] = cached
    return cached


def base_currency(session: Session) -> str:
    """The currency prices are in and exchange rates are quoted against: the
    `billing_currency` setting, which `ensure_prices` holds the price list to."""
    return next(iter(prices(session).values())).currency


def plans(session: Session) -> list[PriceItem]:
    return sorted(
        (p for p in prices(session).values() if p.kind == PriceKind.PLAN), key=lambda p: p.rank
    )


def plan_for(session: Session, products: int) -> PriceItem:
    """The cheapest plan that allows `products` products."""
    for plan in plans(session):
        if plan.max_products is None or products <= plan.max_products:
            return plan
    raise LookupError("the price list has no plan without a product limit")


def _price(item: PriceItem) -> Money:
    return Money.of(item.price_minor, item.currency)


def monthly_price(session: Session, subscription: Subscription) -> Money:
    """What a month costs as things stand: the plan and extra branches, or, while
    hibernating, the hibernation fee alone."""
    table = prices(session)
    if subscription.hibernating:
        return _price(table[HIBERNATE])
    return _price(table[subscription.plan_code]) + _price(table[BRANCH]) * (
        subscription.extra_branches
    )


def product_count(session: Session, business_id: str) -> int:
    query = select(func.count()).select_from(Product).where(Product.business_id == business_id)
    return int(session.scalar(query) or 0)


def extra_branches(session: Session, business_id: str) -> int:
    query = select(func.count()).select_from(Branch).where(Branch.business_id == business_id)
    return max(int(session.scalar(query) or 0) - 1, 0)


def notify(session: Session, business_id: str, day: date, kind: str, message: str) -> None:
    session.add(BillingNotice(business_id=business_id, day=day, kind=kind, message=message[:500]))


# -- changes -------------------------------------------------------------------------------


def start(session: Session, business: Business, today: date) -> Subscription:
    """A new business starts on the plan its product count needs; its first period is
    invoiced by the next billing run."""
    plan = plan_for(session, product_count(session, business.id))
    subscription = Subscription(
        business_id=business.id,
        plan_code=plan.code,
        status=SubscriptionStatus.ACTIVE,
        hibernating=False,
        period_start=today,
        period_end=add_month(today),
        anchor_day=today.day,
        extra_branches=extra_branches(session, business.id),
    )
    session.add(subscription)
    notify(
        session,
        business.id,
        today,
        "started",
        f"Subscribed on the {plan.name} plan ({_price(plan).format()} a month); the first "
        "invoice follows. Add a payment card to pay it automatically.",
    )
    return subscription


def _proration_note(day: date, subscription: Subscription) -> str:
    left = days_left(day, subscription.period_start, subscription.period_end)
    total = period_days(subscription.period_start, subscription.period_end)
    return f"{left} of {total} days from {day.isoformat()}"


def _changed(
    session: Session,
    subscription: Subscription,
    day: date,
    kind: AdjustmentKind,
    describe: str,
    change: Callable[[], None],
) -> Money:
    """Apply `change` and leave the prorated difference of the monthly price to invoice."""
    before = monthly_price(session, subscription)
    change()
    delta = monthly_price(session, subscription) - before
    amount = prorate(delta, day, subscription.period_start, subscription.period_end)
    if amount.minor:
        session.add(
            Adjustment(
                business_id=subscription.business_id,
                day=day,
                kind=kind,
                description=f"{describe}, {_proration_note(day, subscription)}"[:200],
                base_minor=amount.minor,
                monthly_delta_minor=delta.minor,
            )
        )
    return amount


def change_plan(
    session: Session, subscription: Subscription, code: str, day: date, why: str = ""
) -> Money:
    """Move to plan `code` from `day`: the rest of the period at the difference is left for
    the next run, an upgrade to invoice, a downgrade to credit. The prorated amount."""
    require_open(session, subscription.business_id)
    table = prices(session)
    plan = table.get(code)
    if plan is None or plan.kind != PriceKind.PLAN:
        names = ", ".join(p.code for p in plans(session))
        raise UnknownPlan(f"Choose one of: {names}.")
    count = product_count(session, subscription.business_id)
    if plan.max_products is not None and count > plan.max_products:
        raise PlanTooSmall(
            f"You list {count} products and {plan.name} allows {plan.max_products}: remove "
            "products first, or choose a larger plan.",
        )
    old = table[subscription.plan_code]
    if code == old.code:
        return Money.zero(plan.currency)
    subscription.pending_plan = subscription.pending_since = None

    def switch() -> None:
        subscription.plan_code = code

    describe = f"{old.name} → {plan.name}" + (f" ({why})" if why else "")
    amount = _changed(session, subscription, day, AdjustmentKind.PLAN, describe, switch)
    now = f"Your plan is now {plan.name} ({_price(plan).format()} a month) from {day.isoformat()}."
    # Nothing has moved yet: the next run invoices the day's changes together, and a day that
    # nets to nothing puts nothing on any invoice.
    will_be = "will be on" if amount.minor > 0 else "will be credited on"
    notify(
        session,
        subscription.business_id,
        day,
        "plan_changed",
        f"{now} {abs(amount).format()} prorated for the rest of this period {will_be} your "
        "next invoice, with the day's other changes."
        if amount.minor
        else now,
    )
    return amount


def branches_changed(session: Session, subscription: Subscription, day: date) -> None:
    """Branches were added or removed: the day's changes are one prorated line."""
    count = extra_branches(session, subscription.business_id)
    if count == subscription.extra_branches:
        return
    before = monthly_price(session, subscription)
    subscription.extra_branches = count
    delta = monthly_price(session, subscription) - before
    row = session.scalar(
        select(Adjustment).where(
            Adjustment.business_id == subscription.business_id,
            Adjustment.day == day,
            Adjustment.kind == AdjustmentKind.BRANCHES,
            Adjustment.invoice_id.is_(None),
        )
    )
    if row is None:
        row = Adjustment(
            business_id=subscription.business_id,
            day=day,
            kind=AdjustmentKind.BRANCHES,
            description="",
            base_minor=0,
            monthly_delta_minor=0,
        )
        session.add(row)
    row.monthly_delta_minor += delta.minor
    monthly = Money.of(row.monthly_delta_minor, delta.currency.code)
    row.base_minor = prorate(monthly, day, subscription.period_start, subscription.period_end).minor
    row.description = (
        f"Extra branches: {count} from {day.isoformat()} (all of the day's changes), "
        f"{_proration_note(day, subscription)}"
    )


def products_changed(session: Session, subscription: Subscription, day: date) -> None:
    """The product count moved: if it now needs another plan, that plan comes after a
    grace period (and only if the count still needs it then); the vendor is told."""
    count = product_count(session, subscription.business_id)
    table = prices(session)
    current = table[subscription.plan_code]
    needed = plan_for(session, count)
    if needed.code == current.code:
        if subscription.pending_plan is not None:
            subscription.pending_plan = subscription.pending_since = None
            notify(
                session,
                subscription.business_id,
                day,
                "tier_back",
                f"You list {count} products, within {current.name} again: your plan stays.",
            )
        return
    if subscription.pending_plan == needed.code:
        return
    subscription.pending_plan = needed.code
    subscription.pending_since = day
    on = (day + TIER_GRACE).isoformat()
    if current.max_products is not None and count > current.max_products:
        message = (
            f"You list {count} products; {current.name} allows {current.max_products}. "
            f"Your plan becomes {needed.name} ({_price(needed).format()} a month) on {on} "
            f"unless you are back within {current.max_products} by then."
        )
        kind = "over_limit"
    else:
        message = (
            f"You list {count} products, which {needed.name} covers: your plan becomes "
            f"{needed.name} ({_price(needed).format()} a month) on {on} if that still holds."
        )
        kind = "under_tier"
    notify(session, subscription.business_id, day, kind, message)


def hibernate(session: Session, subscription: Subscription, day: date) -> Money:
    require_open(session, subscription.business_id)
    if subscription.hibernating:
        raise AlreadyHibernating("Wake it first.")

    def sleep() -> None:
        subscription.hibernating = True

    amount = _changed(session, subscription, day, AdjustmentKind.HIBERNATE, "Hibernation", sleep)
    notify(
        session,
        subscription.business_id,
        day,
        "hibernating",
        "Hibernating: your business is hidden from search and sells nothing new; cards "
        "and vouchers already sold stay redeemable. Wake it any time.",
    )
    return amount


def wake(session: Session, subscription: Subscription, day: date) -> Money:
    require_open(session, subscription.business_id)
    if not subscription.hibernating:
        raise NotHibernating("The subscription is awake.")

    def rise() -> None:
        subscription.hibernating = False

    amount = _changed(
        session, subscription, day, AdjustmentKind.HIBERNATE, "Woken from hibernation", rise
    )
    notify(session, subscription.business_id, day, "woken", "Awake: listed and selling again.")
    return amount


def listing_changed(session: Session, business_id: str, day: date) -> None:
    """After products or branches were added or removed: the subscription follows."""
    subscription = session.get(Subscription, business_id)
    if subscription is not None:
        products_changed(session, subscription, day)
        branches_changed(session, subscription, day)


def hidden_businesses() -> Select[str]:
    """The ids of businesses not shown in search or the deals list (suspended for an unpaid
    invoice or by an operator, hibernating, closed by their owner)."""
    return (
        select(Business.id)
        .outerjoin(Subscription, Subscription.business_id == Business.id)
        .where(
            or_(
                Business.suspended_at.is_not(None),
                Business.closed_at.is_not(None),
                Subscription.status == SubscriptionStatus.SUSPENDED,
                Subscription.hibernating,
            )
        )
    )


# -- what a standing allows ------------------------------------------------------------------


@dataclass(frozen=True)
class Standing:
    listed: bool  # shown in search and the deals list
    selling: bool  # new gift cards, deals and vouchers
    editing: bool  # listing edits
    reason: str  # why not, in words


FULL = Standing(True, True, True, "")


CLOSED = Standing(
    False,
    False,
    False,
    "The business was closed by its owner: it sells nothing new and its listings cannot "
    "change. Cards and vouchers already sold stay redeemable.",
)


def standing(session: Session, business_id: str) -> Standing:
    business = session.get(Business, business_id)
    if business is not None and business.suspended_at is not None:
        return Standing(
            False,
            False,
            False,
            "The business is suspended by Tillpoint's operators: its owner should write to "
            "support. Cards and vouchers already sold stay redeemable.",
        )
    if business is not None and business.closed_at is not None:
        return CLOSED
    subscription = session.get(Subscription, business_id)
    if subscription is None:
        return FULL
    if subscription.status == SubscriptionStatus.SUSPENDED:
        return Standing(
            False,
            False,
            False,
            "The business is suspended for an unpaid invoice: its owner can pay it "
            "(POST /businesses/{id}/invoices/{invoice}/pay) to restore it at once. Cards "
            "and vouchers already sold stay redeemable.",
        )
    if subscription.hibernating:
        return Standing(
            False,
            False,
            True,
            "The business is hibernating: its owner can wake it "
            "(POST /businesses/{id}/subscription/wake) to sell again.",
        )
    return FULL


def require_selling(session: Session, business_id: str, *, buyer: bool = True) -> None:
    """`BusinessNotSelling` unless the business may sell now. A buyer is told in their
    words (what they can do: come back, or use what they have); its owner (`buyer` False)
    why, and what puts it right."""
    found = standing(session, business_id)
    if found.selling:
        return
    if not buyer:
        raise BusinessNotSelling(found.reason)
    business = session.get(Business, business_id)
    name = business.name if business is not None else "This business"
    if found is CLOSED:
        raise BusinessNotSelling(
            f"{name} has closed and sells nothing new. Gift cards and vouchers you already "
            "have stay redeemable."
        )
    raise BusinessNotSelling(
        f"{name} is not selling gift cards or vouchers at the moment: try again another day. "
        "Gift cards and vouchers you already have still work at its till."
    )


def closed(session: Session, business_id: str) -> bool:
    """Whether its owner closed the business."""
    business = session.get(Business, business_id)
    return business is not None and business.closed_at is not None


_PLAN_STAYS = (
    "its plan stays as it was and nothing new is invoiced. Invoices from before it closed "
    "can still be paid."
)


def require_open(session: Session, business_id: str, what_stays: str = _PLAN_STAYS) -> None:
    """`BusinessClosed` once its owner closed the business: its subscription changes no
    more (plan, hibernation), so nothing new is invoiced for it; nor does it take new
    staff, tills or webhook endpoints (`what_stays` says which, in words)."""
    if closed(session, business_id):
        raise BusinessClosed(f"This business was closed by its owner: {what_stays}")


def shown_status(session: Session, subscription: Subscription) -> SubscriptionStatus:
    """How the subscription stands, as its owner is shown it: `closed` once the business is
    (the stored status goes on collecting what was invoiced before)."""
    if closed(session, subscription.business_id):
        return SubscriptionStatus.CLOSED
    return subscription.status


def require_editing(session: Session, business_id: str) -> None:
    found = standing(session, business_id)
    if not found.editing:
        raise BusinessSuspended(found.reason)
