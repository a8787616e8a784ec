"""A business's report, as JSON or CSV (HTTP only: the rules are in `service`)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Header, Query, Response

from sync.money import Money
from sync.wire import BusinessReport, Figure, MoneyPublic, ReportFigures, ReportGrouping, ReportRow

from ..db import SessionDep
from ..deps import ReportedBusiness
from ..zones import MAX_ZONE_NAME
from . import service
from .csvfile import report_csv

router = APIRouter(tags=["reports"])

CSV = "text/csv"


def _figures(figures: service.Figures, currency: str) -> ReportFigures:
    def money(minor: int) -> MoneyPublic:
        return MoneyPublic.of(Money.of(minor, currency))

    values = {
        name: Figure(amount=money(figures.minor[name]), count=figures.count[name])
        for name in service.FIGURES
    }
    return ReportFigures(**values, takings=money(figures.takings_minor))


def _public(report: service.Report) -> BusinessReport:
    currency = report.business.currency
    return BusinessReport(
        business_id=report.business.id,
        currency=currency,
        time_zone=report.range.zone.key,
        from_date=report.range.first,
        to_date=report.range.last,
        group_by=report.group_by,
        rows=[
            ReportRow(key=row.key, name=row.name, figures=_figures(row.figures, currency))
            for row in report.rows
        ],
        totals=_figures(report.totals, currency),
        liability_opening=MoneyPublic.of(Money.of(report.liability_opening_minor, currency)),
        liability_closing=MoneyPublic.of(Money.of(report.liability_closing_minor, currency)),
        subscription_charges=[
            MoneyPublic.of(Money.of(minor, code))
            for code, minor in report.subscription_charges.items()
        ],
    )


@router.get(
    "/businesses/{business_id}/reports",
    response_model=BusinessReport,
    responses={200: {"content": {CSV: {}}}},
    summary="What your business sold, redeemed and gave back in a range of days",
    description="Owners and managers. Days run midnight to midnight in the business's time "
    "zone, or in `tz` when sent; `time_zone` in the answer says which. Every figure is a "
    "sum of the business's ledger transfers in the range; `group_by` splits them by "
    "branch, till or cashier. CSV with `Accept: text/csv` or `format=csv`.",
)
def business_report(
    business: ReportedBusiness,
    session: SessionDep,
    first: Annotated[date, Query(alias="from", description="first day, e.g. 2026-11-01")],
    last: Annotated[
        date | None, Query(alias="to", description="last day, inclusive; `from` if left out")
    ] = None,
    group_by: Annotated[ReportGrouping | None, Query()] = None,
    tz: Annotated[
        str | None,
        Query(
            max_length=MAX_ZONE_NAME,
            description="IANA time zone, e.g. Europe/London; the business's own when left out",
        ),
    ] = None,
    format: Annotated[Literal["json", "csv"] | None, Query()] = None,
    accept: Annotated[str | None, Header()] = None,
) -> Response:
    span = service.report_range(first, last, tz, business.time_zone)
    report = service.business_report(session, business, span, group_by)
    if format == "csv" or (format is None and CSV in (accept or "")):
        name = f"report-{business.id}-{span.first}-{span.last}.csv"
        return Response(
            report_csv(report).encode(),
            media_type=f"{CSV}; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
    body = _public(report).model_dump_json(by_alias=True)
    return Response(body, media_type="application/json")
