"""Exchange rates: stored, dated, exact. A business pays in its own currency; the price list
is in one currency (the `billing_currency` setting, GBP by default); each invoice line is
converted at the rate in force on the invoice's date, rounded half-even to the minor unit,
and the invoice shows which rate and date."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sync.money import Money, MoneyError, currency

from .models import ExchangeRate

__all__ = ["Conversion", "RateError", "convert", "import_rates", "parse_rate", "save_rate"]


class RateError(ValueError):
    """A rate is missing or malformed; the message says which and what to do."""


@dataclass(frozen=True)
class Conversion:
    amount: Money
    rate: Decimal
    rate_date: date | None  # None: no conversion (same currency)


def parse_rate(text: str) -> Decimal:
    try:
        rate = Decimal(text.strip())
    except InvalidOperation:
        raise RateError(f"{text!r} is not a rate: write it like 1.1642") from None
    if not rate.is_finite() or rate <= 0 or rate > 10**9:
        raise RateError(f"{text!r} is not a rate: it must be a positive number")
    return rate


def save_rate(
    session: Session, code: str, base: str, rate: Decimal, valid_from: date
) -> ExchangeRate:
    """Store (or correct) the rate of `code` per unit of `base` from `valid_from` on."""
    try:
        currency(code)
        currency(base)
    except MoneyError as exc:
        raise RateError(str(exc)) from None
    if code == base:
        raise RateError(f"{code} needs no rate against itself")
    query = select(ExchangeRate).where(
        ExchangeRate.currency == code,
        ExchangeRate.base_currency == base,
        ExchangeRate.valid_from == valid_from,
    )
    existing = session.scalar(query)
    if existing is None:
        try:
            with session.begin_nested():
                stored = ExchangeRate(
                    currency=code, base_currency=base, rate=str(rate), valid_from=valid_from
                )
                session.add(stored)
            return stored
        except IntegrityError:  # the same rate, stored by another request just now
            existing = session.scalar(query)
            assert existing is not None
    existing.rate = str(rate)
    return existing


def import_rates(session: Session, path: Path, base: str) -> int:
    """Rows `currency,rate,date` (a header row is allowed); all or nothing."""
    count = 0
    with path.open(newline="", encoding="utf-8") as rows:
        for number, row in enumerate(csv.reader(rows), start=1):
            if not row or row[0].strip().lower() in {"currency", ""}:
                continue
            if len(row) != 3:
                raise RateError(f"{path}:{number}: want currency,rate,date; got {row}")
            code, rate, day = (cell.strip() for cell in row)
            try:
                valid_from = date.fromisoformat(day)
            except ValueError:
                raise RateError(f"{path}:{number}: {day!r} is not a date like 2026-11-01") from None
            try:
                save_rate(session, code.upper(), base, parse_rate(rate), valid_from)
            except RateError as exc:
                raise RateError(f"{path}:{number}: {exc}") from None
            count += 1
    return count


def convert(session: Session, amount: Money, code: str, on: date) -> Conversion:
    """`amount` in `code` at the latest rate valid on `on`."""
    if amount.currency.code == code:
        return Conversion(amount, Decimal(1), None)
    found = session.scalar(
        select(ExchangeRate)
        .where(
            ExchangeRate.currency == code,
            ExchangeRate.base_currency == amount.currency.code,
            ExchangeRate.valid_from <= on,
        )
        .order_by(ExchangeRate.valid_from.desc())
        .limit(1)
    )
    if found is None:
        raise RateError(
            f"no {code} rate against {amount.currency.code} on or before {on}: import one "
            "(`tillpoint server rates import FILE.csv` or POST /api/v1/admin/exchange-rates)"
        )
    rate = Decimal(found.rate)
    return Conversion(
        Money.from_decimal_rounded(amount.to_decimal() * rate, code), rate, found.valid_from
    )
