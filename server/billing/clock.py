"""The billing clock: the app's `billing_today` (injectable through create_app's `today`), so
tests walk the calendar day by day without waiting."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import cast

from fastapi import Request


def today(request: Request) -> date:
    clock = cast(Callable[[], date], request.app.state.billing_today)
    return clock()
