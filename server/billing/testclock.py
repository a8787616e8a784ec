"""Test clocks, as Stripe has them: on a sandbox server, a business's billing date is its own
and moves only when its owner advances it. Each day passed runs that business's billing for
the day (new periods and invoices, tier grace, payment retries, suspension), so an
integrator's app walks a subscription through a month in seconds: a plan change on day 20,
a branch added one day and removed another, hibernation.

A business with a test clock is left out of the scheduled billing run; everything it does
through the API (plan changes, branches, products, hibernation, paying invoices) happens on
its clock's date.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy.orm import Session

from ..errors import SandboxOnly, TestClockBackwards
from ..payments.gateway import PaymentGateway
from .models import TestClock
from .run import RunSummary, run_business_day

__all__ = ["MAX_DAYS", "advance", "clock_of", "date_of"]

MAX_DAYS = 400  # one advance; call again to go further


def clock_of(session: Session, business_id: str, sandbox: bool, real_today: date) -> TestClock:
    """The business's test clock, started at today's date if it has none (sandbox only)."""
    if not sandbox:
        raise SandboxOnly(
            "Test clocks exist only on a sandbox server (TILLPOINT_SANDBOX=true), never where "
            "real money is: use your sandbox's URL."
        )
    found = session.get(TestClock, business_id, with_for_update=True)
    if found is None:
        found = TestClock(business_id=business_id, today=real_today)
        session.add(found)
        session.flush()
    return found


def date_of(session: Session, business_id: str, sandbox: bool, real_today: date) -> date:
    """The date a business's billing happens on: its test clock's on a sandbox, else today."""
    if sandbox:
        found = session.get(TestClock, business_id)
        if found is not None:
            return found.today
    return real_today


def advance(session: Session, clock: TestClock, to: date, gateway: PaymentGateway) -> RunSummary:
    """Move the clock to `to`, running the business's billing for every day passed."""
    if to < clock.today:
        raise TestClockBackwards(
            f"This business's clock is at {clock.today:%Y-%m-%d}: it only moves forward. "
            "To start over, make a new business."
        )
    if (to - clock.today).days > MAX_DAYS:
        raise TestClockBackwards(
            f"Advance at most {MAX_DAYS} days at a time (to {clock.today + timedelta(MAX_DAYS)})."
        )
    summary = RunSummary()
    day = clock.today
    while day < to:
        day += timedelta(days=1)
        run_business_day(session, clock.business_id, day, gateway, summary)
    clock.today = to
    session.flush()
    summary.businesses = 1
    return summary
