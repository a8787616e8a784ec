"""A report as CSV, as Stripe's reports are: UTF-8, one row per branch, till or cashier
and one for the totals, amounts in major units (12.50) beside a currency column."""

from __future__ import annotations

import csv
import io

from sync.money import Money

from .service import FIGURES, Figures, Report

__all__ = ["report_csv"]

_HEADER = [
    "row",
    "key",
    "name",
    "currency",
    *(column for name in FIGURES for column in (name, f"{name}_count")),
    "takings",
    "liability_opening",
    "liability_closing",
    "subscription_charges",
]


_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _text(value: str) -> str:
    """A name as a spreadsheet shows it, never runs it (OWASP's CSV injection advice)."""
    return "'" + value if value.startswith(_FORMULA_STARTS) else value


def _major(minor: int, currency: str) -> str:
    return str(Money.of(minor, currency).to_decimal())


def _figures(figures: Figures, currency: str) -> list[str]:
    cells = []
    for name in FIGURES:
        cells += [_major(figures.minor[name], currency), str(figures.count[name])]
    return [*cells, _major(figures.takings_minor, currency)]


def report_csv(report: Report) -> str:
    currency = report.business.currency
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(_HEADER)
    group = report.group_by.value if report.group_by else "all"
    for row in report.rows:
        writer.writerow(
            [group, row.key or "", _text(row.name), currency, *_figures(row.figures, currency)]
        )
    writer.writerow(
        [
            "total",
            "",
            "Total",
            currency,
            *_figures(report.totals, currency),
            _major(report.liability_opening_minor, currency),
            _major(report.liability_closing_minor, currency),
            "",
        ]
    )
    blank = [""] * (len(_HEADER) - 5)
    for charged_in, minor in report.subscription_charges.items():
        writer.writerow(
            [
                "subscription",
                "",
                "Subscription charges",
                charged_in,
                *blank,
                _major(minor, charged_in),
            ]
        )
    return out.getvalue()
