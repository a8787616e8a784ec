"""The billing clock: the app's `billing_today` (injectable through create_app's `today`), so
tests walk the calendar day by day without waiting; and on a sandbox server, a business's own
test clock (`testclock.py`), which integrators move through the API."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import cast

from fastapi import Request
from sqlalchemy.orm import Session

from .testclock import date_of


def today(request: Request) -> date:
    clock = cast(Callable[[], date], request.app.state.billing_today)
    return clock()


def business_today(request: Request, session: Session, business_id: str) -> date:
    """The date a business's billing happens on: its test clock's on a sandbox, else today."""
    sandbox = bool(request.app.state.settings.sandbox)
    return date_of(session, business_id, sandbox, today(request))
