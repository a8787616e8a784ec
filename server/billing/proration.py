"""Calendar arithmetic for billing, with no database: periods, days, prorated amounts.

A period runs from its start day up to (not including) its end day, one calendar month
(31 January → 28 or 29 February → 31 March keeps the day where the month has it). A change
on day d is in force for the days [d, end): its prorated amount is the monthly difference
times (end - d) / (end - start), rounded half-even to the minor unit — once, per line.
"""

from __future__ import annotations

import calendar
from datetime import date

from sync.money import Money

__all__ = ["add_month", "days_left", "period_days", "prorate"]


def add_month(day: date, anchor: int | None = None) -> date:
    """The same day next month, or that month's last day if it is shorter. `anchor` is the
    period's original day of the month, so 31 Jan → 28 Feb → 31 Mar."""
    wanted = anchor or day.day
    year, month = (day.year + 1, 1) if day.month == 12 else (day.year, day.month + 1)
    return date(year, month, min(wanted, calendar.monthrange(year, month)[1]))


def period_days(start: date, end: date) -> int:
    return (end - start).days


def days_left(day: date, start: date, end: date) -> int:
    """Days of [start, end) from `day` on; a change before the period counts it all."""
    return (end - max(day, start)).days if day < end else 0


def prorate(monthly: Money, day: date, start: date, end: date) -> Money:
    """`monthly` for the part of the period [start, end) from `day` on, half-even."""
    return monthly.scaled(days_left(day, start, end), period_days(start, end))
